"""Red-team: a vault path made a symlink to an old version kept at an uncovered path.

git stores a symlink as a blob holding its target's name, so the history checks
never see the version the link leads to; ``verify`` read the work tree through the
link and passed a rolled-back file (the old password) with exit 0. A vault file must
be what git stores at its path: a regular file, reached through no link.
"""

from __future__ import annotations

import os

from tests.trust.conftest import F, Team
from tests.trust.conftest import team as team


def _rotated(team: Team):  # type: ignore[no-untyped-def]
    alice = team.clone("alice")
    old = (alice.root / F).read_bytes()
    alice.ok("set", F, "db.password", "second-Password-2222", "--commit")
    alice.git("push", "-q", "origin", "main")
    mallory = team.clone("mallory")
    (mallory.root / "archive").mkdir()
    (mallory.root / "archive/app.yaml").write_bytes(old)
    return alice, mallory


def test_verify_refuses_a_vault_file_that_is_a_symlink(team: Team) -> None:
    alice, mallory = _rotated(team)
    (mallory.root / F).unlink()
    os.symlink("../archive/app.yaml", mallory.root / F)
    mallory.commit_all("archive")
    alice.git("pull", "-q", str(mallory.root), "main")
    # The link is resolved to the file it leads to, which no rule covers.
    r = alice.cli("verify", F)
    assert r.code == 1, r.output
    assert "Password" not in r.output


def test_verify_refuses_a_vault_file_under_a_symlinked_directory(team: Team) -> None:
    alice, mallory = _rotated(team)
    (mallory.root / F).unlink()
    (mallory.root / "secrets").rmdir()
    os.symlink("archive", mallory.root / "secrets")
    mallory.commit_all("archive")
    alice.git("pull", "-q", str(mallory.root), "main")
    # The link is resolved to the file it leads to, which no rule covers.
    r = alice.cli("verify", F)
    assert r.code == 1, r.output
