"""Does ``gitvault review`` grow with the range or with the repository?

    python bench/review/scale.py [--files 2000] [--commits 200] [--range 100] [--runs 3]

Builds a repository of FILES real vault files (five values each, encrypted to
a generated identity with gitvault's own code, so ``review`` with that
identity decrypts them for real) and COMMITS commits after the first: most
rotate one or two files' values, every tenth also adds an ordinary config file
(added lines for the leak scan; ``--config-every 0`` for a range of vault
changes only). Then times fresh ``python -m gitvault review
HEAD~RANGE..HEAD --format json --fail-on none`` processes with the identity
(``GITVAULT_AGE_KEY``), and without the scan: median wall time and CPU time
(user+sys, git children included; the CPU figure is the one to trust on a
loaded machine) of RUNS. ``--tree DIR`` (repeatable) times other checkouts of
gitvault on the same generated repository, to compare before and after. A benchmark, not
a test: nothing asserts timings. Run it twice with different --files to see
whether the time follows the repository.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _doc(rng: random.Random, i: int) -> bytes:
    words = [f"k{j}: v{i}-{rng.getrandbits(64):016x}-{j}" for j in range(5)]
    return ("\n".join(words) + "\n").encode()


def generate(repo: Path, files: int, commits: int, config_every: int = 10) -> str:
    """Write the repository; returns the identity text."""
    import pyrage

    from gitvault.sops import file as sopsfile
    from gitvault.yamlio import load_documents

    rng = random.Random(7)
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    _git(repo, "config", "commit.gpgsign", "false")
    (repo / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  bench: {public}\nrules:\n"
        '  - path: "secrets/**"\n    recipients: [bench]\n    rotate_after: 90d\n'
    )
    paths = [f"secrets/env{i % 20}/service{i:05d}.yaml" for i in range(files)]

    def write(i: int) -> None:
        target = repo / paths[i]
        target.parent.mkdir(parents=True, exist_ok=True)
        docs = load_documents(_doc(rng, i).decode(), paths[i])
        target.write_bytes(sopsfile.encrypt_new(docs, [public]))

    for i in range(files):
        write(i)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial vault")
    for n in range(commits):
        for i in rng.sample(range(files), rng.choice((1, 1, 2))):
            write(i)
        if config_every and n % config_every == 0:
            conf = repo / "config" / f"app{n}.env"
            conf.parent.mkdir(exist_ok=True)
            conf.write_text(f"LOG_LEVEL=info\nWORKERS={n}\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"change {n}")
    return str(identity)


def timed(repo: Path, args: list[str], key: str, runs: int, tree: Path) -> tuple[float, float]:
    """Median wall and CPU seconds (user+sys, git children included) of RUNS fresh processes."""
    import resource

    env = dict(os.environ, GITVAULT_AGE_KEY=key, PYTHONPATH=str(tree))
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "gitvault", *args], cwd=repo, env=env, capture_output=True
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode not in (0, 1):
            raise SystemExit(proc.stderr.decode())
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--range", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--config-every",
        type=int,
        default=10,
        help="add a config file every N commits (0: the range changes only vault files)",
    )
    ap.add_argument("--keep", type=Path, help="generate into this new directory and keep it")
    ap.add_argument(
        "--tree",
        dest="trees",
        type=Path,
        action="append",
        help="a gitvault source tree to time (repeatable; default: this one)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.keep or Path(tmp) / "repo"
        repo.mkdir()
        start = time.perf_counter()
        key = generate(repo, args.files, args.commits, args.config_every)
        (repo.parent / (repo.name + ".key")).write_text(key + "\n")
        print(
            f"generated {args.files} files, {args.commits} commits in "
            f"{time.perf_counter() - start:.1f} s"
        )
        spec = f"HEAD~{args.range}..HEAD"
        base = ["review", spec, "--format", "json", "--fail-on", "none"]
        for tree in args.trees or [ROOT]:
            for label, extra in (("review", []), ("review --no-scan", ["--no-scan"])):
                wall, cpu = timed(repo, base + extra, key, args.runs, tree)
                print(f"{tree}  {label:18} wall {wall:6.2f} s   cpu {cpu:6.2f} s")


if __name__ == "__main__":
    main()
