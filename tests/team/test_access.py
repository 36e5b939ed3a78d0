"""``access``: who can read what now (actual recipients vs the policy) and in history."""

from __future__ import annotations

import json

from tests.team.conftest import Team

DB = "secrets/prod/db.yaml"
APP = "secrets/dev/app.yaml"


def test_access_now_flags_files_that_differ_from_the_policy(team: Team) -> None:
    team.write(DB, "db:\n    password: prod-pass-1\n")
    team.write(APP, "api:\n    token: dev-token-1\n")
    team.commit("seed")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("ops: [alice, bob]", "ops: [alice]"))
    r = team.cli(["access", "--json"])
    assert r.code == 0, r.output
    files = {f["file"]: f for f in json.loads(r.stdout)["files"]}
    assert files[DB]["readers"] == ["alice", "bob"]
    assert files[DB]["policy"] == ["alice"]
    assert files[DB]["extra"] == ["bob"] and not files[DB]["ok"]
    assert files[APP]["extra"] == ["bob"] and files[APP]["missing"] == []
    text = team.cli(["access"])
    assert "MISMATCH" in text.stdout and "extra:   bob" in text.stdout
    assert "2 file(s) differ from the policy" in text.stderr
    assert team.cli(["rekey"]).code == 0
    files = {f["file"]: f for f in json.loads(team.cli(["access", "--json"]).stdout)["files"]}
    assert all(f["ok"] for f in files.values())

    # one person: only the files they can read
    carol = json.loads(team.cli(["access", "carol", "--json"]).stdout)
    assert [f["file"] for f in carol["files"]] == [APP]
    bob = team.cli(["access", "bob"])
    assert bob.code == 0 and "bob can read no vault file now" in bob.stdout


def test_access_history_shows_past_readers(team: Team) -> None:
    team.write(DB, "db:\n    password: prod-pass-1\n")
    seed = team.commit("seed")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("ops: [alice, bob]", "ops: [alice]"))
    assert team.cli(["rekey"]).code == 0
    team.commit("bob leaves")
    r = team.cli(["access", "bob", "--history", "--json"])
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["files"] == []
    assert [
        (h["file"], h["reader"], h["first"], h["last"], h["current"]) for h in report["history"]
    ] == [(DB, "bob", seed, seed, False)]
    everyone = json.loads(team.cli(["access", "--history", "--json"]).stdout)["history"]
    assert {(h["reader"], h["current"]) for h in everyone} == {("alice", True), ("bob", False)}
    text = team.cli(["access", "--history"]).stdout
    assert f"{DB}  bob  {seed[:12]}..{seed[:12]}" in text
    assert f"{DB}  alice  {seed[:12]}..now" in text


def test_access_for_someone_only_history_knows(team: Team) -> None:
    team.write(DB, "db:\n    password: prod-pass-1\n")
    team.commit("seed")
    assert team.cli(["recipients", "remove", "bob"]).code == 0
    assert team.cli(["rekey"]).code == 0
    team.commit("bob removed")
    r = team.cli(["access", "bob", "--json"])
    assert r.code == 0, r.output
    assert json.loads(r.stdout)["files"] == []
    assert team.cli(["access", "nobody-ever"]).code == 5
