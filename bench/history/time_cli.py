"""Time the real `gitvault log` and `gitvault due` commands on generated repositories.

    python bench/history/time_cli.py [--commits 2500 5000] [--files 200] [--runs 7]
                                     [--workdir /tmp/gitvault-bench-history]

For each commit count, generates (once, reused later) a repository with
make_repo.py in WORKDIR/cN, then runs each command as a subprocess
(`python -m gitvault …`, so interpreter start and imports are included) with a
private HOME (no identity, no user git config) and prints the median and the
minimum wall time of RUNS runs and the median CPU time (user + system of
gitvault and the git processes it starts; on a busy machine this is the steadier
figure), plus the ratio of median wall times between the two sizes (linear
means ~2.0 for the part that grows; start-up and imports are a constant).
Budget (DESIGN §10): <= 2 s each at 5,000 commits.

The commands timed:
  log          text table of every event of every vault file (8,825 at 5,000 commits)
  log --json   the gitvault.log/v1 model of the same
  log FILE:KEY one key's history (the walk is limited to one file)
  due          text report over every key with a period (200 files x 10+ keys)
  due --json   the gitvault.due/v1 model of the same
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_repo import generate

COMMANDS = (
    ("log", ["log"]),
    ("log --json", ["log", "--json"]),
    ("log FILE:KEY", ["log", "secrets/env0/service000.yaml:db.key0"]),
    ("due", ["due"]),
    ("due --json", ["due", "--json"]),
)


def ensure_repo(workdir: Path, commits: int, files: int) -> Path:
    path = workdir / f"c{commits}-f{files}"
    if not (path / ".git").is_dir():
        started = time.perf_counter()
        generate(path, commits, files)
        print(f"# generated {path} in {time.perf_counter() - started:.1f}s", flush=True)
    return path


def time_command(
    repo: Path, args: list[str], runs: int, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system, gitvault and its git children) of RUNS runs."""
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "gitvault", *args],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"gitvault {' '.join(args)} failed: {proc.stderr.decode()[-300:]}")
        times.append(elapsed)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return times, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, nargs="+", default=[2500, 5000])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "gitvault-bench-history"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="gitvault-bench-home-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITVAULT_", "SOPS_", "GIT_")) and k != "XDG_CONFIG_HOME"
    }
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    repos = {n: ensure_repo(args.workdir, n, args.files) for n in args.commits}
    results: dict[tuple[str, int], float] = {}
    print(f"{'command':<14} {'commits':>8} {'median s':>9} {'min s':>7} {'cpu s':>7}")
    for name, command in COMMANDS:
        for n, repo in repos.items():
            times, cpus = time_command(repo, command, args.runs, env)
            results[(name, n)] = statistics.median(times)
            print(
                f"{name:<14} {n:>8} {statistics.median(times):>9.3f} {min(times):>7.3f}"
                f" {statistics.median(cpus):>7.3f}"
            )
    if len(args.commits) == 2:
        small, large = sorted(args.commits)
        print(f"\nratio {large} / {small} commits (linear = {large / small:.1f}):")
        for name, _ in COMMANDS:
            print(f"  {name:<14} {results[(name, large)] / results[(name, small)]:.2f}")
    load = os.getloadavg()[0]
    print(f"\n# python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {load:.2f}")


if __name__ == "__main__":
    main()
