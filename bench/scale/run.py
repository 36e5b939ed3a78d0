"""Scale benchmark: ``scan``, ``export`` and ``verify`` at 1,000 / 5,000 / 10,000 vault files.

Generates a real vault repository per size in a temp directory (a policy with
three age recipients, ``N`` files of 10 keys each under ``secrets/``, one
commit), then runs each command as a real process and records wall time and
peak memory (``ru_maxrss`` of the child). Values are random strings invented
here. A benchmark, not a test: nothing is asserted, the table is printed
(and written as JSON with ``--json``).

    python bench/scale/run.py [--sizes 1000 5000 10000] [--runs 1] [--json FILE] [--tree DIR]...
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyrage

from gitvault.model import from_python
from gitvault.sops.file import encrypt_new

HERE = Path(__file__).resolve()
TREE = HERE.parents[2]
KEYS_PER_FILE = 10


def git(root: Path, *args: str) -> None:
    """Run git quietly in ``root`` with a fixed identity (no user config needed)."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


def make_vault(root: Path, files: int) -> str:
    """Write a policy and ``files`` vault files under ``root``; return the CI identity."""
    ids = {name: pyrage.x25519.Identity.generate() for name in ("alice", "bob", "ci")}
    public = {name: str(ident.to_public()) for name, ident in ids.items()}
    policy = "version: 1\nrecipients:\n" + "".join(f"  {n}: {k}\n" for n, k in public.items())
    policy += 'rules:\n  - path: "secrets/**"\n    recipients: [alice, bob, ci]\n'
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / ".gitvault.yaml").write_text(policy)
    recipients = list(public.values())
    for index in range(files):
        tree = {f"svc{index}": {f"key{k}": secrets.token_urlsafe(18) for k in range(KEYS_PER_FILE)}}
        path = root / "secrets" / f"team{index % 50}" / f"app{index}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encrypt_new([from_python(tree)], recipients))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "vault")
    return str(ids["ci"])


def measure(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one process.

    CPU time is reported beside wall time because on a shared machine wall time
    moves with the load of other processes; CPU time much less.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"bench: {' '.join(argv[3:5])} exited {code}: {err[:300]}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


COMMANDS = {
    "scan": ["scan", "secrets"],
    "export": ["export", "secrets", "--format", "env"],
    "verify": ["verify"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS))
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
    rows = []
    with tempfile.TemporaryDirectory(prefix="gitvault-scale-") as tmp:
        for size in args.sizes:
            root = Path(tmp) / f"vault-{size}"
            t0 = time.perf_counter()
            identity = make_vault(root, size)
            print(f"# {size} files generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            for name in args.commands:
                for tree in args.tree or [TREE]:
                    env = {**os.environ, "PYTHONPATH": str(tree), "GITVAULT_AGE_KEY": identity}
                    env["GITVAULT_CACHE_DIR"] = str(Path(tmp) / "cache")
                    argv = [sys.executable, "-m", "gitvault", *COMMANDS[name]]
                    runs = [measure(argv, root, env) for _ in range(args.runs)]
                    wall, peak, cpu = min(runs, key=lambda m: m[2])
                    rows.append(
                        {
                            "command": name,
                            "files": size,
                            "tree": str(tree),
                            "seconds": round(wall, 2),
                            "cpu_seconds": round(cpu, 2),
                            "peak_mib": round(peak, 1),
                        }
                    )
                    print(
                        f"{name:8} {size:6} files  wall {wall:7.2f} s  cpu {cpu:7.2f} s  "
                        f"{peak:7.1f} MiB  {tree}",
                        flush=True,
                    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
