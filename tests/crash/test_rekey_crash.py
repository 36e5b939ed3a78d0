"""SIGKILL ``rekey`` and ``rekey --commit`` over many files at random moments.

After each kill: every file is a whole version, old or new (it decrypts with
its MAC, and holds the same values); no temp file is taken for a vault file;
git's index is consistent (``git fsck`` clean, ``git status`` names only vault
files); and the next ``rekey --commit`` completes, after which ``verify``
passes and the removed person reads nothing at HEAD.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tests.conftest import git
from tests.crash.conftest import SEED, TRIALS, Lab, slow_hook
from tests.team.conftest import Team, gitvault_on_path, team  # noqa: F401 - fixtures reused

DEV = "secrets/dev"
FILES = 30


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
        rel = f"{DEV}/f{i:02d}.yaml"
        values[rel] = f"value-{i:02d}-{os.urandom(6).hex()}"
        t.write(rel, f"api:\n    token: {values[rel]}\nregion: eu\n")
    t.commit("seed")
    return values


def _check_files(lab: Lab, values: dict[str, str]) -> None:
    """Each file is whole: it decrypts (MAC verified) to its value."""
    for rel, value in values.items():
        assert lab.value("api.token", rel) == value


def _check_git(lab: Lab, values: dict[str, str]) -> None:
    fsck = git(lab.root, "fsck", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    status = git(lab.root, "status", "--porcelain", "--untracked-files=all").stdout.splitlines()
    names = {line[3:] for line in status}
    assert names <= set(values) | {".gitvault.yaml"}, status


def _verify(lab: Lab, values: dict[str, str]) -> None:
    r = lab.gv("verify", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert {f["file"] for f in json.loads(r.stdout)["files"]} == set(values)


@pytest.mark.parametrize("commit", [False, True], ids=["plain", "commit"])
def test_rekey_killed_anywhere_leaves_whole_files_and_the_next_run_works(
    team: Team,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    commit: bool,
) -> None:
    values = _seed(team)
    lab = _lab(team, tmp_path, monkeypatch)
    slow_hook(team.root, 0.3)
    r = lab.gv("recipients", "remove", "carol")
    assert r.returncode == 0, r.stderr
    git(team.root, "commit", "-qam", "carol leaves")
    args = ["rekey", "--commit"] if commit else ["rekey"]
    base = git(team.root, "rev-parse", "HEAD").stdout.strip()
    length = lab.timed_run(args)  # one whole run, to spread the kills
    kills = 0
    for _ in range(TRIALS):
        # from the same start: carol removed from the policy, still a reader of the files
        git(team.root, "reset", "-q", "--hard", base)
        code = lab.kill_during(args, length)
        kills += code is None
        _check_files(lab, values)
        _check_git(lab, values)
        seen = lab.gv("verify", "--json")  # a killed run's temp files are no vault files
        assert seen.returncode in (0, 1), seen.stderr
        assert {f["file"] for f in json.loads(seen.stdout)["files"]} == set(values)
        again = lab.gv("rekey", "--commit")  # the next run completes
        assert again.returncode == 0, again.stderr
        _check_git(lab, values)
        status = git(team.root, "status", "--porcelain", "--untracked-files=all").stdout
        assert status == "", status
        _verify(lab, values)
        carol = team.cli(["decrypt", str(team.root / f"{DEV}/f00.yaml")], who=team.carol)
        assert carol.code == 3, carol.output
        for rel, value in values.items():
            assert lab.head_value("api.token", rel) == value
        lab.assert_no_plaintext(set(values.values()))
    assert kills >= TRIALS // 3, f"only {kills} of {TRIALS} runs were killed before they ended"
