"""A team's ordinary work raises nothing: re-keys after adding people, merges across a re-key.

Before the trust model judged by what can be known, each of these failed
``verify`` ("substitution … by a writer the policy does not name") or made
``log``/``due`` credit the person who merged with rotations they never made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trust.conftest import F, Team, assert_no_values, make_team


def history_problems(report: dict) -> list[str]:  # type: ignore[type-arg]
    out = [p for f in report["files"] for p in f["problems"]]
    return out + list(report["history"]["problems"])


def test_recipients_add_then_rekey_commit_verifies(team: Team) -> None:
    alice = team.clone("alice")
    dave = team.people["dave"]
    alice.ok("recipients", "add", "dave", dave.public)
    policy = alice.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("[alice, bob, carol]", "[alice, bob, carol, dave]")
    )
    alice.commit_all("dave joins")
    alice.ok("rekey", "--commit")
    code, report, r = alice.verify()
    assert code == 0, r.output
    assert report["history"]["findings"] == []
    assert_no_values(r.output)


def test_rekey_without_an_identity_is_a_note_not_a_failure(team: Team) -> None:
    alice = team.clone("alice")
    alice.ok("rekey", "--commit")
    _code, report, r = alice.verify(identity=False)
    assert not [p for p in history_problems(report) if "substitution" in p], r.output
    assert report["history"]["findings"] == []
    assert any("unverified writer" in n for n in report["history"]["notes"]), r.output


@pytest.mark.parametrize("emails", [False, True])
def test_merge_across_a_rekey_passes_verify_log_and_due(tmp_path: Path, emails: bool) -> None:
    team = make_team(tmp_path, emails=emails)
    alice, bob = team.clone("alice"), team.clone("bob")
    alice.ok("rekey", "--commit")
    alice.git("push", "-q", "origin", "main")
    bob.ok("set", F, "db.port", "6543", "--commit")
    pulled = bob.git("pull", "-q", "--no-edit", "origin", "main", check=False, later=True)
    assert pulled.returncode == 0, pulled.stderr
    merge = bob.head()
    assert len(bob.git("rev-list", "--parents", "-n1", "HEAD").stdout.split()) == 3
    assert bob.values()["db"]["port"] == "6543"
    code, report, r = bob.verify()
    assert code == 0, r.output
    assert report["history"]["findings"] == []
    log = bob.log()
    at_merge = [e for e in log["events"] if e["commit"] == merge]
    assert not [e for e in at_merge if e["kind"] == "rotated"], at_merge
    # The re-key is alice's (her commit), not bob's merge.
    rekeys = {e["key"]: e for e in log["events"] if e["kind"] == "rekeyed"}
    assert rekeys["api_token"]["author"] == "Alice"
    assert rekeys["api_token"]["commit"] != merge
    # due: nobody's clock is reset by the merge (dated 2031) or by the re-key.
    due = json.loads(bob.ok("due", "--json").stdout)
    assert not [i for i in due["items"] if (i["last_change"] or "").startswith("2031")], due


def test_clean_merge_is_credited_to_the_branch_not_the_merger(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    alice.ok("set", F, "api_token", "tok-Second-654321", "--commit")
    alice.git("push", "-q", "origin", "main")
    alice_commit = alice.head()
    bob.ok("set", F, "db.port", "6543", "--commit")
    pulled = bob.git("pull", "-q", "--no-edit", "origin", "main", check=False, later=True)
    assert pulled.returncode == 0, pulled.stderr
    merge = bob.head()
    log = bob.log()
    token = [e for e in log["events"] if e["key"] == "api_token"]
    assert [e["commit"] for e in token if e["kind"] == "rotated"] == [alice_commit]
    assert not [e for e in log["events"] if e["commit"] == merge]
    code, _report, r = bob.verify()
    assert code == 0, r.output
    # due: the token's last change is alice's commit, not the merge in 2031.
    due = json.loads(bob.ok("due", "--json").stdout)
    items = {i["key"]: i for i in due["items"]}
    assert not items["api_token"]["last_change"].startswith("2031"), items["api_token"]


def test_merge_across_a_rekey_without_an_identity(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    alice.ok("rekey", "--commit")
    rekey = alice.head()
    alice.git("push", "-q", "origin", "main")
    bob.ok("set", F, "db.port", "6543", "--commit")
    assert bob.git("pull", "-q", "--no-edit", "origin", "main", check=False).returncode == 0
    merge = bob.head()
    _code, report, r = bob.verify(identity=False)
    assert report["history"]["findings"] == [], r.output
    assert not history_problems(report) or all("mac" in p for p in history_problems(report))
    notes = report["history"]["notes"]
    assert any(rekey[:12] in n and "unverified writer" in n for n in notes), notes
    # The merge driver never adopts a side's new data key (it could be a key-less
    # writer's), so the merge wraps a fresh one: with no identity and no e-mail
    # that is at most a note about the merger, never a finding.
    assert all("unverified writer" in n for n in notes if merge[:12] in n), notes
    events = bob.log(identity=False)["events"]
    assert not [e for e in events if e["commit"] == merge and e["kind"] == "rotated"]


def test_offboarding_and_a_teammates_pull_raise_nothing(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    r = alice.cli("offboard", "carol", "--commit")
    # 1: keys carol could read still hold values she may know (rotating them is a later step).
    assert r.code == 1 and "committed" in r.stderr, r.output
    alice.git("push", "-q", "origin", "main")
    bob.ok("set", F, "api_token", "tok-Third-777777", "--commit")
    assert bob.git("pull", "-q", "--no-edit", "origin", "main", check=False).returncode == 0
    for clone in (alice, bob):
        clone.git("pull", "-q", "--no-edit", "origin", "main", check=False)
        code, report, r = clone.verify()
        assert code == 0, r.output
        assert report["history"]["findings"] == []
    assert bob.values()["api_token"] == "tok-Third-777777"
    carol = team.clone("carol")
    assert carol.cli("decrypt", F).code == 3


def test_merge_that_needs_a_fresh_data_key_is_proven_by_its_values(team: Team) -> None:
    """One side drops carol's stanza (same data key); the merge driver must pick a new key."""
    alice, bob = team.clone("alice"), team.clone("bob")
    alice.ok("recipients", "remove", "carol")
    alice.ok("rekey", "--recipients-only", "--commit")
    if alice.git("status", "--porcelain").stdout.strip():
        alice.commit_all("carol leaves the policy")  # where rekey --commit leaves the policy out
    alice.git("push", "-q", "origin", "main")
    bob.ok("set", F, "db.port", "6543", "--commit")
    pulled = bob.git("pull", "-q", "--no-edit", "origin", "main", check=False)
    assert pulled.returncode == 0, pulled.stderr
    assert "new data key" in pulled.stderr, pulled.stderr
    merge = bob.head()
    code, report, r = bob.verify()
    assert code == 0, r.output
    assert report["history"]["findings"] == []
    # Without an identity nothing can be proven: the driver's re-key is a note, not a failure.
    _code, report, r = bob.verify(identity=False)
    assert report["history"]["findings"] == [], r.output
    assert any(merge[:12] in n and "unverified writer" in n for n in report["history"]["notes"])
