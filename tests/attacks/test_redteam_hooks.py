"""Red-team: a push that un-covers a vault file in the same commit that puts plaintext in it.

The pre-receive hook judged each pushed file by the policy committed in that same
commit, so a commit that narrows the rules (``secrets/**`` -> ``nothing/**``) and
replaces a vault file with plaintext was accepted: the file was no longer a vault file.
The server must also hold it to the policy it already had (the first parent's).
"""

from __future__ import annotations

from pathlib import Path

from tests.attacks.test_hooks import APP, BASE, _remote
from tests.conftest import git
from tests.team.conftest import Team


def test_pre_receive_refuses_plaintext_in_a_path_the_same_commit_uncovers(
    team: Team, tmp_path: Path
) -> None:
    team.write(APP, BASE)
    team.commit("base")
    bare = _remote(team, tmp_path)
    policy = team.root / ".gitvault.yaml"
    text = policy.read_text()
    assert '"secrets/' in text or "secrets/" in text
    policy.write_text(text.replace("secrets/", "nothing/"))
    (team.root / APP).write_text("ld_preload: /tmp/attacker-lib.so\n")
    team.git("add", "-A")
    team.git("commit", "-qm", "reorganise", "--no-verify")
    push = team.git("push", "origin", "HEAD:main", check=False)
    assert push.returncode != 0, push.stderr
    assert APP in push.stderr and "attacker-lib" not in push.stderr
    pushed = git(bare, "rev-parse", "main").stdout.strip()
    assert pushed != team.git("rev-parse", "HEAD").stdout.strip()
