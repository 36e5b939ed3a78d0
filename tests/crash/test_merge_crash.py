"""SIGKILL ``git merge`` while gitvault's merge driver runs, at random moments.

``gitvault init`` installs the driver (here: a ``gitvault`` on PATH running
this checkout). Both branches changed every one of several vault files, on
different keys, so git runs the driver once per file. After each kill, of git
alone or of its whole process group (the driver included):

- the work tree never holds plaintext (untracked files git left included);
- every vault file in the work tree is whole (decrypts, MAC verified);
- the merge can be aborted, or completed when git got as far as recording it;
- redone, the merge completes, holds both sides' values and ``verify`` passes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.crash.conftest import SEED, TRIALS
from tests.team.conftest import Team, gitvault_on_path, team  # noqa: F401 - fixtures reused

DEV = "secrets/dev"
FILES = 3


def _branches(t: Team) -> dict[str, dict[str, str]]:
    """Files changed on both sides (different keys); returns every value, per file."""
    values: dict[str, dict[str, str]] = {}
    for i in range(FILES):
        rel = f"{DEV}/m{i}.yaml"
        values[rel] = {"api.token": f"base-{i}-{os.urandom(4).hex()}"}
        t.write(rel, f"api:\n    token: {values[rel]['api.token']}\nregion: eu\n")
    t.commit("base")
    t.git("checkout", "-q", "-b", "feature")
    for rel in values:
        values[rel]["region"] = f"theirs-{os.urandom(4).hex()}"
        assert t.cli(["set", rel, "region", values[rel]["region"]]).code == 0
    t.commit("theirs")
    t.git("checkout", "-q", "main")
    for rel in values:
        values[rel]["api.token"] = f"ours-{os.urandom(4).hex()}"
        assert t.cli(["set", rel, "api.token", values[rel]["api.token"]]).code == 0
    t.commit("ours")
    return values


def _plaintexts(values: dict[str, dict[str, str]]) -> set[bytes]:
    return {v.encode() for file in values.values() for v in file.values()}


def _no_plaintext_in_work_tree(root: Path, secrets: set[bytes]) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            data = Path(dirpath, name).read_bytes()
            for value in secrets:
                assert value not in data, f"plaintext in the work tree: {name}"


def _whole(t: Team, values: dict[str, dict[str, str]]) -> None:
    for rel in values:
        if (t.root / rel).exists():
            t.values(rel)  # decrypts with its MAC, or fails the test


def _merge_env(t: Team) -> dict[str, str]:
    env = dict(os.environ, **t.alice.env)
    env.pop("PYTHONPATH", None)  # the wrapper on PATH puts this checkout first
    return env


@pytest.mark.parametrize("how", ["merge", "pull"])
def test_merge_killed_anywhere_never_leaves_plaintext_and_can_be_finished(
    team: Team,  # noqa: F811 - the fixture
    how: str,
) -> None:
    values = _branches(team)
    secrets = _plaintexts(values)
    env = _merge_env(team)
    base = team.git("rev-parse", "HEAD").stdout.strip()
    args = ["git", "merge", "--no-edit", "feature"]
    if how == "pull":
        args = ["git", "pull", "--no-rebase", "--no-edit", str(team.root), "feature"]
    started = time.monotonic()
    first = subprocess.run(args, cwd=team.root, env=env, capture_output=True, check=False)
    assert first.returncode == 0, first.stderr.decode()
    length = time.monotonic() - started
    rng = random.Random(SEED)
    stale_locks = finished = 0
    for _ in range(TRIALS):
        git(team.root, "reset", "-q", "--hard", base)
        git(team.root, "clean", "-qfdx")
        proc = subprocess.Popen(
            args,
            cwd=team.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.0, length * 1.1))
        whole_group = rng.random() < 0.5
        try:
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        _wait_group(proc.pid)  # a driver git started finishes (or was killed with it)
        _no_plaintext_in_work_tree(team.root, secrets)
        _whole(team, values)
        lock = team.root / ".git" / "index.lock"
        if lock.exists():
            # git's own lock of a git process that is gone: removing it is git's
            # documented remedy; gitvault has nothing to do with it.
            stale_locks += 1
            lock.unlink()
        merging = (team.root / ".git" / "MERGE_HEAD").exists()
        if merging:
            unmerged = team.git("diff", "--name-only", "--diff-filter=U").stdout.strip()
            if not unmerged and rng.random() < 0.5:
                c = team.git("commit", "--no-edit", check=False)
                assert c.returncode == 0, c.stderr
                finished += 1
            else:
                a = team.git("merge", "--abort", check=False)
                assert a.returncode == 0, a.stderr
        head = team.git("rev-parse", "HEAD").stdout.strip()
        if head == base:
            leftover = team.git("status", "--porcelain", "--untracked-files=no").stdout
            if leftover:
                # a git killed half-way through updating the work tree
                team.git("reset", "-q", "--merge")
            again = subprocess.run(args, cwd=team.root, env=env, capture_output=True, check=False)
            assert again.returncode == 0, again.stderr.decode()
        _no_plaintext_in_work_tree(team.root, secrets)
        for rel, expected in values.items():
            got = team.values(rel)
            assert got["api"] == {"token": expected["api.token"]}  # type: ignore[comparison-overlap]
            assert got["region"] == expected["region"]
        r = team.cli(["verify"])
        assert r.code == 0, r.output
        assert team.git("status", "--porcelain", "--untracked-files=no").stdout == ""
    print(f"git {how}: {finished} merges completed after the kill, {stale_locks} stale index.lock")


def _wait_group(pgid: int) -> None:
    for _ in range(200):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
