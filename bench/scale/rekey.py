"""Scale benchmark: ``rekey``, ``rekey --commit`` and ``offboard --commit`` at 1,000 / 5,000 files.

DESIGN §10 asks that re-keying 10,000 vault files, committed, be linear in
files. This generates a real vault repository per size in a temp directory (a
policy with alice, bob, carol and ``--extra`` more recipients, ``N`` files of
10 keys under ``secrets/``, one commit), then runs each command as a real
process on a fresh copy and records wall time and peak memory (``ru_maxrss``
of the child):

- ``rekey``: bob removed from the policy (uncommitted), every file re-keyed;
- ``rekey --commit``: the same, committed with the policy change;
- ``offboard --commit``: ``offboard bob --commit`` (history walk, re-key,
  policy, one commit).

Values are random strings invented here. A benchmark, not a test: nothing is
asserted, the table is printed (``--json FILE`` writes it as JSON). ``--tree``
times another source tree (e.g. an export of an older commit) for a
before/after comparison.

    python bench/scale/rekey.py [--sizes 1000 5000] [--extra 7] [--tree DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
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
IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=root, env={**os.environ, **IDENTITY}, check=True, capture_output=True
    )


def make_vault(root: Path, files: int, extra: int) -> str:
    """Write a policy and ``files`` vault files under ``root``; return alice's identity."""
    names = ["alice", "bob", "carol"] + [f"member{i:02d}" for i in range(extra)]
    ids = {name: pyrage.x25519.Identity.generate() for name in names}
    public = {name: str(ident.to_public()) for name, ident in ids.items()}
    policy = "version: 1\nrecipients:\n" + "".join(f"  {n}: {k}\n" for n, k in public.items())
    policy += f"groups:\n  team: [{', '.join(names)}]\n"
    policy += 'rules:\n  - path: "secrets/**"\n    recipients: [team]\n'
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "gc.auto", "0")  # no background gc racing the timed runs
    git(root, "config", "maintenance.auto", "false")
    (root / ".gitvault.yaml").write_text(policy)
    recipients = list(public.values())
    for index in range(files):
        tree = {f"svc{index}": {f"key{k}": secrets.token_urlsafe(18) for k in range(KEYS_PER_FILE)}}
        path = root / "secrets" / f"team{index % 50}" / f"app{index}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encrypt_new([from_python(tree)], recipients))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "vault")
    return str(ids["alice"])


def drop_bob(root: Path) -> None:
    policy = root / ".gitvault.yaml"
    text = policy.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("  bob: ")]
    policy.write_text("\n".join(lines).replace("team: [alice, bob, ", "team: [alice, ") + "\n")


def measure(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds, peak RSS (MiB) and exit status of one process.

    CPU time (user + system, the process and the git processes it waited for)
    is the steadier number on a shared machine; wall time is what a user waits.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")  # read before waiting: never block
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"bench: {' '.join(argv[3:])} exited {code}: {err[:300]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


CASES = {
    "rekey": (True, ["rekey"]),
    "rekey --commit": (True, ["rekey", "--commit"]),
    "offboard --commit": (False, ["offboard", "bob", "--commit"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--extra", type=int, default=7, help="recipients besides alice/bob/carol")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--tree", type=Path, default=TREE, help="source tree to time (default: this checkout)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(
        prefix="gitvault-scale-rekey-", ignore_cleanup_errors=True
    ) as tmp:
        for size in args.sizes:
            pristine = Path(tmp) / f"vault-{size}"
            t0 = time.perf_counter()
            identity = make_vault(pristine, size, args.extra)
            print(f"# {size} files generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            env = {
                **os.environ,
                **IDENTITY,
                "PYTHONPATH": str(args.tree),
                "GITVAULT_AGE_KEY": identity,
                "HOME": tmp,
            }
            for name in args.cases:
                remove_first, command = CASES[name]
                work = Path(tmp) / "work"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(pristine, work, symlinks=True)
                if remove_first:
                    drop_bob(work)
                argv = [sys.executable, "-m", "gitvault", *command]
                seconds, cpu, peak, _code = measure(argv, work, env)
                rows.append(
                    {"case": name, "files": size, "seconds": seconds, "cpu": cpu, "peak_mib": peak}
                )
                print(
                    f"{name:18} {size:6} files  {seconds:8.2f} s wall  {cpu:8.2f} s cpu"
                    f"  {peak:7.1f} MiB",
                    flush=True,
                )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
