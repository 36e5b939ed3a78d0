"""Red-team attacks on the history checks (verify, review) by writers without the current key.

Each is a real repository history made with the real CLI and git; each test
asserts the secure outcome and failed on the code before its fix.
"""

from __future__ import annotations

import json

from tests.trust.conftest import F, Team, assert_no_values
from tests.trust.conftest import team_with_emails as team_with_emails

ALL_KEYS = {"db.password": "team-Password-3333", "db.port": "7000", "api_token": "team-Tok-4444"}


def _review(clone, rng: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def,type-arg]
    r = clone.cli("review", rng, "--format", "json")
    assert r.code in (0, 1), r.output
    assert_no_values(r.output)
    return r.code, json.loads(r.stdout)


def test_old_version_re_added_under_another_name_is_a_rollback(team_with_emails: Team) -> None:
    """A rotated-away version of a file, committed again as a new file, brings old values back."""
    team = team_with_emails
    alice = team.clone("alice")
    old = (alice.root / F).read_bytes()
    alice.ok("set", F, "db.password", "second-Password-2222", "--commit")
    alice.git("push", "-q", "origin", "main")
    mallory = team.clone("mallory")
    (mallory.root / "secrets/app-legacy.yaml").write_bytes(old)
    bad = mallory.commit_all("add legacy config")
    alice.git("pull", "-q", str(mallory.root), "main")
    code, report, r = alice.verify()
    assert code == 1, r.output
    found = [f for f in report["history"]["findings"] if f["kind"] == "rollback"]
    assert [(f["file"], f["commit"]) for f in found] == [("secrets/app-legacy.yaml", bad)]
    assert found[0]["current"]
    assert_no_values(r.output)
    # review walks only the files the range changes: it sees a new file by a writer the
    # policy does not name (the copy's origin is outside what it reads).
    code, review = _review(alice, "origin/main..HEAD")
    assert code == 1 and review["freshness"], review["freshness"]


def test_a_plain_rename_is_not_a_rollback(team_with_emails: Team) -> None:
    """The guard for the test above: git mv of the current version raises nothing."""
    alice = team_with_emails.clone("alice")
    alice.ok("set", F, "db.password", "second-Password-2222", "--commit")
    alice.git("mv", F, "secrets/renamed.yaml")
    alice.commit_all("rename")
    code, report, r = alice.verify()
    assert code == 0 and not report["history"]["findings"], r.output


def test_new_file_by_a_writer_the_policy_does_not_name_is_a_substitution(
    team_with_emails: Team,
) -> None:
    """A key-less writer creates a vault file under a data key they know; the team fills it."""
    team = team_with_emails
    alice = team.clone("alice")
    mallory = team.clone("mallory")
    (mallory.root / "secrets/payments.yaml").write_text('{"stripe": {"key": "changeme"}}')
    assert mallory.cli("encrypt", "secrets/payments.yaml", "--in-place", identity=False).code == 0
    bad = mallory.commit_all("scaffold payments config")
    alice.git("pull", "-q", str(mallory.root), "main")
    # The team then writes the real value into it, under the data key mallory made.
    alice.ok("set", "secrets/payments.yaml", "stripe.key", "sk-Real-5555", "--commit")
    for identity in (True, False):
        code, report, r = alice.verify(identity=identity)
        assert code == 1, r.output
        subs = [f for f in report["history"]["findings"] if f["kind"] == "substitution"]
        assert [(f["file"], f["commit"], f["current"]) for f in subs] == [
            ("secrets/payments.yaml", bad, True)
        ], r.output
        assert "sk-Real-5555" not in r.output
    code, review = _review(alice, "origin/main..HEAD")
    assert code == 1 and "substitution" in [f["kind"] for f in review["freshness"]]


def test_new_file_by_a_recipient_is_quiet(team_with_emails: Team) -> None:
    alice = team_with_emails.clone("alice")
    alice.write("secrets/new/db.yaml", {"password": "new-Password-6666"})
    alice.commit_all("new file")
    code, report, r = alice.verify()
    assert code == 0 and not report["history"]["findings"], r.output
    assert not report["history"]["notes"], r.output


def test_substitution_stays_current_after_the_team_overwrites_every_value(
    team_with_emails: Team,
) -> None:
    """Values set later under a substituted data key are readable by whoever made the key."""
    team = team_with_emails
    alice = team.clone("alice")
    mallory = team.clone("mallory")
    (mallory.root / F).write_text('{"db": {"password": "m-Chosen-1", "port": 1}, "api_token": "m"}')
    assert mallory.cli("encrypt", F, "--in-place", identity=False).code == 0
    bad = mallory.commit_all("tweak")
    alice.git("pull", "-q", str(mallory.root), "main")
    for key, value in ALL_KEYS.items():
        alice.ok("set", F, key, value, "--commit")
    code, report, r = alice.verify()
    assert code == 1, r.output
    subs = [f for f in report["history"]["findings"] if f["kind"] == "substitution"]
    assert [(f["commit"], f["current"]) for f in subs] == [(bad, True)], r.output
    # A recipient's re-key (a new data key) ends it.
    alice.ok("rekey", F, "--commit")
    code, report, r = alice.verify()
    assert code == 0, r.output
    for value in ALL_KEYS.values():
        assert value not in r.output


def test_a_retagged_value_is_reported(team_with_emails: Team) -> None:
    """``type:int`` -> ``type:str`` keeps the MAC valid and turns 5432 into "5432" in JSON."""
    import re

    team = team_with_emails
    alice = team.clone("alice")
    mallory = team.clone("mallory")
    path = mallory.root / F
    text = path.read_text()
    retagged = re.sub(r"(port: ENC\[[^\]]*)type:int\]", r"\1type:str]", text)
    assert retagged != text
    path.write_text(retagged)
    bad = mallory.commit_all("normalise")
    alice.git("pull", "-q", str(mallory.root), "main")
    assert alice.cli("decrypt", F).code == 0  # the MAC still verifies
    for identity in (True, False):
        code, report, r = alice.verify(identity=identity)
        assert code == 1, r.output
        found = [f for f in report["history"]["findings"] if f["basis"] == "retyped"]
        assert [(f["commit"], f["keys"], f["current"]) for f in found] == [
            (bad, ["db.port"], True)
        ], r.output
        assert_no_values(r.output)
    # A recipient writing a new value (a new IV, its own tag) ends it.
    alice.ok("set", F, "db.port", "6543", "--commit")
    code, report, r = alice.verify()
    assert code == 0, r.output
