"""SIGKILL ``offboard NAME --commit`` (no ``--rotate``) at random moments.

No external system is involved: the promise is that every file is the old
version or the new one (whole, MAC verified, same values), that the next
``offboard --commit`` (or ``rekey --commit``) completes, and that afterwards
the removed person can decrypt nothing at HEAD and HEAD's policy no longer
names them.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.crash.conftest import SEED, TRIALS, Lab, slow_hook
from tests.team.conftest import Team, gitvault_on_path, team  # noqa: F401 - fixtures reused

FILES = 8


def _lab(t: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The crash lab over the team's repository, run as alice (who reads everything)."""
    monkeypatch.setenv("GITVAULT_AGE_KEY_FILE", str(t.alice.key_file))
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), XDG_RUNTIME_DIR=str(tmp), **t.alice.env)
    env["PYTHONPATH"] = os.environ.get(
        "GITVAULT_CRASH_PYTHONPATH", str(Path(__file__).resolve().parents[2])
    )
    return Lab(t.root, env, tmp_path, tmp, random.Random(SEED))


def _seed(t: Team) -> dict[str, str]:
    values = {}
    for i in range(FILES):
        where = "prod" if i % 2 else "dev"
        rel = f"secrets/{where}/f{i:02d}.yaml"
        values[rel] = f"value-{i:02d}-{os.urandom(6).hex()}"
        t.write(rel, f"api:\n    token: {values[rel]}\ndb:\n    password: p{i}\n")
    t.commit("seed")
    return values


def _done(r: subprocess.CompletedProcess[str]) -> None:
    """Offboarded: exit 0, or 1 because the keys bob could read still need new values."""
    if "offboard" in r.args and r.returncode == 1:
        assert "still hold values they may know" in r.stderr, r.stderr
    else:
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("then", ["offboard", "rekey"])
def test_offboard_commit_killed_anywhere_and_finished_by_the_next_run(
    team: Team,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    then: str,
) -> None:
    values = _seed(team)
    lab = _lab(team, tmp_path, monkeypatch)
    slow_hook(team.root, 0.3)
    base = git(team.root, "rev-parse", "HEAD").stdout.strip()
    args = ["offboard", "bob", "--commit"]
    started = time.monotonic()
    _done(lab.gv(*args))
    length = time.monotonic() - started
    kills = 0
    for _ in range(TRIALS):
        git(team.root, "reset", "-q", "--hard", base)  # bob is a reader again
        kills += lab.kill_during(args, length) is None
        for rel, value in values.items():
            assert lab.value("api.token", rel) == value  # whole, MAC verified
        fsck = git(team.root, "fsck", "--no-progress", check=False)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        head_names_bob = "bob" in git(team.root, "show", "HEAD:.gitvault.yaml").stdout
        if (
            then == "rekey"
            and head_names_bob
            and "bob" not in lab.root.joinpath(".gitvault.yaml").read_text(encoding="utf-8")
        ):
            nxt = lab.gv("rekey", "--commit")  # the policy edit is on disk: re-key commits it
        else:
            nxt = lab.gv(*args)
        _done(nxt)
        status = git(team.root, "status", "--porcelain", "--untracked-files=all").stdout
        assert status == "", status
        assert "bob:" not in git(team.root, "show", "HEAD:.gitvault.yaml").stdout
        for rel, value in values.items():
            assert lab.head_value("api.token", rel) == value
            r = team.cli(["decrypt", str(team.root / rel), "--rev", "HEAD"], who=team.bob)
            assert r.code == 3, f"bob still reads {rel} at HEAD"
        r = lab.gv("verify")
        assert r.returncode == 0, r.stdout + r.stderr
        lab.assert_no_plaintext(set(values.values()))
    assert kills >= TRIALS // 3, f"only {kills} of {TRIALS} runs were killed before they ended"
