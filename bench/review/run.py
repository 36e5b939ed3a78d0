"""Time ``gitvault review`` over a 100-commit range of a generated repository.

    python bench/review/run.py [--commits 1000] [--files 200] [--range 100] [--runs 5] [--signed]

The repository is made like bench/history's (SOPS-shaped files with random
stand-in ciphertext, rotations, additions, a re-key every 250 commits, gitvault
trailers; ``enc``/``render`` are reused from bench/history/make_repo.py) plus a
real policy (``.gitvault.yaml``) in the first commit. With ``--signed`` the
last RANGE commits are made with the real ``git commit`` and signed with an SSH
key the policy lists, so every commit of the range costs one signature check.

Each run is a fresh ``python -m gitvault review HEAD~RANGE..HEAD --format json
--fail-on none`` process (interpreter start and imports included); the median
wall time of RUNS runs is printed, with and without the leak scan. A benchmark,
not a test: nothing asserts timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _make_repo_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_repo", ROOT / "bench/history/make_repo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def policy_text(recipient: str, signing_key: str | None) -> str:
    who = f"  bench:\n    key: {recipient}\n    email: bench@example.invalid\n"
    if signing_key:
        who += f'    signing_keys: ["{signing_key}"]\n'
    return (
        "version: 1\nrecipients:\n" + who + "rules:\n"
        '  - path: "secrets/**"\n    recipients: [bench]\n    rotate_after: 90d\n'
    )


def generate(
    out: Path, commits: int, files: int, signed_tail: int, signing_key: str | None
) -> None:
    import pyrage

    mk = _make_repo_module()
    rng = random.Random(11)
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    paths = [f"secrets/env{i % 10}/service{i:03d}.yaml" for i in range(files)]
    state = {p: {f"key{k}": mk.enc(rng) for k in range(mk.KEYS)} for p in paths}
    wrapped = {p: mk.base64.b64encode(rng.randbytes(39)).decode() for p in paths}
    policy = policy_text(recipient, signing_key).encode()
    stream: list[bytes] = []
    fast = commits - signed_tail

    def step(n: int) -> tuple[str, list[str]]:
        if n % 250 == 0:
            p = rng.choice(paths)
            state[p] = {k: mk.enc(rng) for k in state[p]}
            wrapped[p] = mk.base64.b64encode(rng.randbytes(39)).decode()
            return (
                f"rekey {p}\n\nGitvault-Action: rekey\nGitvault-File: {p}\nGitvault-Rekey: {p}\n",
                [p],
            )
        changed = rng.sample(paths, rng.choice((1, 1, 2)))
        keys = []
        for p in changed:
            key = f"key{len(state[p])}" if n % 97 == 0 else rng.choice(sorted(state[p]))
            state[p][key] = mk.enc(rng)
            keys.append(f"Gitvault-Keys: {p}: db.{key}")
        files_t = "".join(f"Gitvault-File: {p}\n" for p in changed)
        action = "set" if n % 97 == 0 else "rotate"
        msg = f"{action} {n}\n\nGitvault-Action: {action}\n{files_t}" + "\n".join(keys) + "\n"
        return msg, changed

    def when(n: int) -> int:
        return int(time.time()) - (commits - n) * 3600

    for n in range(fast):
        msg, changed = ("add vault files\n\nGitvault-Action: init\n", paths) if n == 0 else step(n)
        t = when(n)
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\n".encode())
        stream.append(f"author Bench <bench@example.invalid> {t} +0000\n".encode())
        stream.append(f"committer Bench <bench@example.invalid> {t} +0000\n".encode())
        stream.append(f"data {len(msg.encode())}\n".encode() + msg.encode() + b"\n")
        if n:
            stream.append(f"from :{n}\n".encode())
        else:
            stream.append(f"M 100644 inline .gitvault.yaml\ndata {len(policy)}\n".encode() + policy)
            stream.append(b"\n")
        for p in changed:
            data = mk.render(state[p], mk.enc(rng, 32), t, wrapped[p])
            stream.append(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(
        ["git", "-C", str(out), "fast-import", "--quiet"], input=b"".join(stream), check=True
    )
    subprocess.run(["git", "-C", str(out), "checkout", "-q", "-f", "main"], check=True)
    for n in range(fast, commits):
        msg, changed = step(n)
        t = when(n)
        for p in changed:
            (out / p).write_bytes(mk.render(state[p], mk.enc(rng, 32), t, wrapped[p]))
        env = {**os.environ, "GIT_AUTHOR_DATE": f"@{t} +0000", "GIT_COMMITTER_DATE": f"@{t} +0000"}
        subprocess.run(["git", "-C", str(out), "add", "-A"], check=True, env=env)
        subprocess.run(
            ["git", "-C", str(out), "commit", "-q", "-S", "-m", msg], check=True, env=env
        )
    subprocess.run(["git", "-C", str(out), "gc", "-q"], check=True)


def time_review(repo: Path, span: int, runs: int, *extra: str) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "gitvault", "review", f"HEAD~{span}..HEAD"),
                *("--format", "json", "--fail-on", "none", *extra),
            ],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"review failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--range", type=int, default=100, dest="span")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--signed", action="store_true", help="sign the range's commits (SSH)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        config = home / ".gitconfig"
        config.write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n")
        os.environ.update(
            {"HOME": str(home), "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"}
        )
        signing = None
        if args.signed:
            key = Path(tmp) / "signing"
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
            signing = key.with_suffix(".pub").read_text().strip()
            with config.open("a") as fh:
                fh.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = {key}\n")
        repo = Path(tmp) / "repo"
        start = time.perf_counter()
        generate(repo, args.commits, args.files, args.span if args.signed else 0, signing)
        made = time.perf_counter() - start
        print(
            f"repository: {args.commits} commits, {args.files} files, "
            f"range {args.span} commits{' (signed)' if args.signed else ''}; made in {made:.1f} s"
        )
        for label, extra in (("review", ()), ("review --no-scan", ("--no-scan",))):
            times = time_review(repo, args.span, args.runs, *extra)
            print(
                f"{label:18} median {statistics.median(times):.3f} s  "
                f"(min {min(times):.3f}, max {max(times):.3f}, {args.runs} runs)"
            )


if __name__ == "__main__":
    main()
