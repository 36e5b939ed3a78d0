"""Benchmark: ``migrate find`` + ``migrate rewrite`` over 12 repositories x 2,000 commits.

Generates the repositories with ``git fast-import`` (a main branch of N
commits touching ~60 source files, a side branch and an annotated tag on a
commit no branch holds), plants random secrets in ``.env``, YAML, JSON and
code every ~100 commits (some removed again later, so they live in history
only), then times, each in one process, as a user runs them:

    gitvault migrate find REPO…            (work trees + every ref, 12 repos)
    gitvault migrate rewrite --workdir W   (12 mirrors, git filter-repo, re-scan)

and checks with ``git log -p --all`` that no planted value survived in any
mirror. Budget (DESIGN §10): find + rewrite <= 2 min. Prints figures; asserts
nothing about time.

Usage: python bench/migrate/run.py [--repos 12] [--commits 2000] [--out bench/out/migrate]
All planted values are random strings invented here; none is a real credential.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
ROOT = Path(__file__).resolve().parents[2]


def _s(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _password(rng: random.Random) -> str:
    body = _s(rng, 18)
    return body[:9] + _s(rng, 2, string.digits) + "-" + body[9:]


def _blob(data: str) -> bytes:
    raw = data.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def make_repo(path: Path, commits: int, rng: random.Random) -> list[str]:
    """One repository through git fast-import; returns the values planted in it."""
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    planted: list[str] = []
    files: dict[str, list[str]] = {f"src/mod{i:02d}.py": [f"# module {i}\n"] for i in range(60)}
    out = bytearray()
    stamp = 1_600_000_000

    def commit(ref: str, mark: int, parent: int | None, changes: dict[str, str | None]) -> None:
        nonlocal stamp
        stamp += 3600
        out.extend(f"commit {ref}\nmark :{mark}\n".encode())
        out.extend(f"author Bench <b@example.invalid> {stamp} +0000\n".encode())
        out.extend(f"committer Bench <b@example.invalid> {stamp} +0000\n".encode())
        out.extend(_blob(f"change {mark}"))
        if parent is not None:
            out.extend(f"from :{parent}\n".encode())
        for name, content in changes.items():
            if content is None:
                out.extend(f"D {name}\n".encode())
            else:
                out.extend(f"M 100644 inline {name}\n".encode())
                out.extend(_blob(content))

    env_lines: list[str] = []
    for n in range(1, commits + 1):
        name = f"src/mod{rng.randrange(60):02d}.py"
        files[name].append(f"VALUE_{n} = {n * 7919 % 104729}\n")
        changes: dict[str, str | None] = {name: "".join(files[name][-40:])}
        if n % 100 == 0:
            kind = (n // 100) % 4
            if kind == 0:
                value = _password(rng)
                env_lines.append(f"DB_PASSWORD_{n}={value}\n")
                changes[".env"] = "".join(env_lines)
            elif kind == 1:
                value = "sk_live_" + _s(rng, 24)
                changes[f"config/service{n}.yaml"] = f"stripe:\n  api_key: {value}\n"
            elif kind == 2:
                value = "ghp_" + _s(rng, 36)
                changes[f"config/app{n}.json"] = json.dumps({"github_token": value}) + "\n"
            else:
                value = _password(rng)
                changes[f"src/client{n}.py"] = f'API_SECRET = "{value}"\n'
            planted.append(value)
        if n % 500 == 250 and env_lines:
            changes[".env"] = None  # committed .env removed: its values live in history only
            env_lines = []
        commit("refs/heads/main", n, n - 1 if n > 1 else None, changes)
    side = "sk_live_" + _s(rng, 28)
    commit("refs/heads/feature", commits + 1, commits // 2, {"deploy.yaml": f"token: {side}\n"})
    tagged = _password(rng)
    commit("refs/tags/tmp", commits + 2, commits // 3, {"release.env": f"TOKEN={tagged}\n"})
    planted += [side, tagged]
    out.extend(f"tag v1.0\nfrom :{commits + 2}\n".encode())
    out.extend(f"tagger Bench <b@example.invalid> {stamp} +0000\n".encode())
    out.extend(_blob("release"))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=bytes(out), check=True)
    subprocess.run(["git", "update-ref", "-d", "refs/tags/tmp"], cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)
    return planted


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "gitvault", *args], capture_output=True, text=True, env=env
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: gitvault {args[:2]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return took, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=12)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "migrate")
    ap.add_argument("--seed", type=int, default=13)
    opts = ap.parse_args()
    if opts.out.exists():
        shutil.rmtree(opts.out)
    rng = random.Random(opts.seed)
    t0 = time.perf_counter()
    planted: list[str] = []
    repos = []
    for i in range(opts.repos):
        path = opts.out / "repos" / f"repo{i:02d}"
        planted += make_repo(path, opts.commits, rng)
        repos.append(str(path))
    print(
        f"generated {opts.repos} repositories x {opts.commits} commits "
        f"({len(planted)} planted values) in {time.perf_counter() - t0:.1f} s"
    )
    home = opts.out / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    plan = opts.out / "private" / "plan.json"
    find_s, out = run(["migrate", "find", *repos, "--plan", str(plan), "--json"], env)
    found = json.loads(out)
    rewrite_s, out = run(
        [
            "migrate",
            "rewrite",
            "--plan",
            str(plan),
            "--workdir",
            str(opts.out / "mirrors"),
            "--json",
        ],
        env,
    )
    report = json.loads(out)
    survived = 0
    needles = [v.encode() for v in planted]
    for i in range(opts.repos):
        mirror = opts.out / "mirrors" / f"repo{i:02d}.git"
        log = subprocess.run(
            ["git", "log", "-p", "--all"], cwd=mirror, capture_output=True, check=True
        ).stdout
        survived += sum(1 for v in needles if v in log)
    missed = len(set(planted)) - found["secrets"]
    print(
        f"find:    {find_s:6.1f} s  ({found['findings']} findings, {found['secrets']} distinct; "
        f"planted {len(set(planted))}, not found {max(missed, 0)})"
    )
    print(f"rewrite: {rewrite_s:6.1f} s  (clean={report['clean']})")
    total = find_s + rewrite_s
    print(f"total:   {total:6.1f} s  budget 120 s  ({total / 120:.2f} x budget)")
    print(f"planted values left in any mirror (git log -p --all): {survived}")


if __name__ == "__main__":
    main()
