"""Scale benchmark (issue 10): every whole-repository command at 1,000 / 5,000 / 10,000 files.

Generates a realistic vault repository per size (:mod:`repo`: 100 recipients
in the policy, 19 readers and 10 keys per file, ``--commits`` commits of
history), then runs each command as a real process and records wall time, CPU
time (user + system) and peak memory (``ru_maxrss`` of the child, which
includes the git processes it waited for). Commands that write (rekey,
offboard) run on a fresh copy of the repository. Between sizes the growth
factor of CPU time and memory is printed: linear growth in files is a factor
close to the size ratio. A benchmark, not a test: nothing is asserted.

    python bench/scale/run.py [--sizes 1000 5000 10000] [--commits 5000]
                              [--commands due log ...] [--json FILE] [--tree DIR]...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

HERE = Path(__file__).resolve()
TREE = HERE.parents[2]

# name -> (argv after `gitvault`, writes to the repository)
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "verify": (["verify"], False),
    "export": (["export", "secrets", "--format", "env"], False),
    "due": (["due"], False),
    "log": (["log"], False),
    "access": (["access"], False),
    "scan": (["scan", "secrets"], False),
    "review": (["review", "HEAD~100..HEAD"], False),
    "offboard": (["offboard", "admin8"], True),
    "offboard-commit": (["offboard", "admin8", "--commit"], True),
    "rekey": (["rekey"], True),
    "rekey-commit": (["rekey", "--commit"], True),
}


# Runs gitvault as ``python -m gitvault`` does, and writes its own peak RSS (KiB)
# to $BENCH_SELF_RSS at exit: wait4's figure is the largest of the process and
# the git processes it waited for (``git log``/``cat-file`` map the pack, and
# git's delta-base cache alone may reach 96 MiB), so both are reported.
WRAPPER = (
    "import atexit, os, resource, runpy, sys\n"
    "def _rss():\n"
    "    with open(os.environ['BENCH_SELF_RSS'], 'w') as out:\n"
    "        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "atexit.register(_rss)\n"
    "sys.argv[0] = 'gitvault'\n"
    "runpy.run_module('gitvault', run_name='__main__', alter_sys=True)\n"
)


def measure(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[float, float, float, int, float]:
    """Wall s, peak RSS of the tree (MiB), CPU s (user + system), exit code, own peak (MiB).

    CPU time is reported beside wall time because on a shared machine wall time
    moves with the load of other processes; CPU time much less. It includes the
    git processes gitvault waited for.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as own:
        env = {**env, "BENCH_SELF_RSS": own.name}
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            print(
                f"bench: {' '.join(argv[3:])} exited {code}: {err.read()[:300]!r}", file=sys.stderr
            )
        text = Path(own.name).read_text().strip()
    self_peak = int(text) / 1024 if text.isdigit() else float("nan")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, code, self_peak


def generate(root: Path, files: int, commits: int) -> str:
    """Build the repository in a child process; return the CI identity.

    Not in this process: a child's ``ru_maxrss`` counts the pages of the parent
    it was forked from, so a large benchmark process would inflate every figure.
    """
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "repo.py"), str(root), str(files), str(commits)],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def growth(rows: list[dict[str, object]], sizes: list[int]) -> list[str]:
    """Lines of ``command: ×cpu ×mem`` between consecutive sizes (same tree)."""
    lines = []
    seen = dict.fromkeys((str(r["command"]), str(r["tree"])) for r in rows)
    for name, tree in seen:
        by_size = {r["files"]: r for r in rows if r["command"] == name and r["tree"] == tree}
        parts = []
        for small, big in itertools.pairwise(sizes):
            a, b = by_size.get(small), by_size.get(big)
            if a is None or b is None:
                continue
            cpu = float(b["cpu_seconds"]) / max(float(a["cpu_seconds"]), 0.01)  # type: ignore[arg-type]
            mem = float(b["peak_mib"]) / max(float(a["peak_mib"]), 0.01)  # type: ignore[arg-type]
            own = float(b["gitvault_peak_mib"]) / max(float(a["gitvault_peak_mib"]), 0.01)  # type: ignore[arg-type]
            parts.append(
                f"{small}->{big} (x{big / small:g}): cpu x{cpu:.2f}, "
                f"memory x{mem:.2f} (gitvault x{own:.2f})"
            )
        if parts:
            lines.append(f"{name:16} " + "; ".join(parts))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--commits", type=int, default=5000, help="commits of history")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=list(COMMANDS))
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        help="source tree to time (default: this checkout); repeat to compare trees "
        "on the same generated vault, interleaved",
    )
    args = parser.parse_args()
    # SIGTERM (timeout, a CI cancel) unwinds like Ctrl-C, so the temp vaults are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows: list[dict[str, object]] = []
    base_env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    with tempfile.TemporaryDirectory(prefix="gitvault-scale-") as tmp:
        for size in args.sizes:
            root = Path(tmp) / f"vault-{size}"
            t0 = time.perf_counter()
            identity = generate(root, size, args.commits)
            print(
                f"# {size} files, {args.commits} commits generated in "
                f"{time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            for name in args.commands:
                words, writes = COMMANDS[name]
                for tree in args.tree or [TREE]:
                    env = {**base_env, "PYTHONPATH": str(tree), "GITVAULT_AGE_KEY": identity}
                    env["GITVAULT_CACHE_DIR"] = str(Path(tmp) / "cache")
                    argv = [sys.executable, "-c", WRAPPER, *words]
                    runs = []
                    for _ in range(args.runs):
                        cwd = root
                        if writes:
                            cwd = Path(tmp) / "scratch"
                            shutil.rmtree(cwd, ignore_errors=True)
                            shutil.copytree(root, cwd, symlinks=True)
                            # A copy has new inodes: refresh the index's stat data once,
                            # as a clone would have it, so the command is not timed
                            # re-hashing every file (git status writes the index back).
                            subprocess.run(
                                ["git", "update-index", "-q", "--refresh"],
                                cwd=cwd,
                                env=base_env,
                                check=False,
                                capture_output=True,
                            )
                        runs.append(measure(argv, cwd, env, args.timeout))
                    wall, peak, cpu, code, own_peak = min(runs, key=lambda m: m[2])
                    rows.append(
                        {
                            "command": name,
                            "files": size,
                            "commits": args.commits,
                            "tree": str(tree),
                            "seconds": round(wall, 2),
                            "cpu_seconds": round(cpu, 2),
                            "peak_mib": round(peak, 1),
                            "gitvault_peak_mib": round(own_peak, 1),
                            "exit": code,
                        }
                    )
                    print(
                        f"{name:16} {size:6} files  wall {wall:7.2f} s  cpu {cpu:7.2f} s  "
                        f"{peak:7.1f} MiB (gitvault {own_peak:6.1f})  exit {code}  {tree}",
                        flush=True,
                    )
            shutil.rmtree(root, ignore_errors=True)
    print("\n# growth (CPU time, peak memory) between sizes")
    for line in growth(rows, args.sizes):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
