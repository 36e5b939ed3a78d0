"""recipients add records identity facts and keeps a hand-written policy's comments and layout."""

from __future__ import annotations

import json

from gitvault import policy
from tests.team.conftest import Team, make_person


def test_add_with_email_and_signing_key_keeps_comments_and_layout(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dave = make_person(tmp_path, "dave")
    signing = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRhdmUtc2lnbmluZy1rZXktZm9yLXRlc3RzLTAy"
    before = (team.root / ".gitvault.yaml").read_text().splitlines()
    r = team.cli(
        [
            "recipients",
            "add",
            "dave",
            dave.public,
            "--group",
            "ops",
            "--email",
            "dave@example.org",
            "--signing-key",
            f"{signing} dave@laptop",
            "--json",
        ]
    )
    assert r.code == 0, r.output
    assert json.loads(r.stdout)["layout"] == "kept"
    after = (team.root / ".gitvault.yaml").read_text().splitlines()
    # every old line is still there, in order, except the group line that gained dave
    changed = [b for b in before if b not in after]
    assert changed == ["  ops: [alice, bob]   # on call"]
    assert "  ops: [alice, bob, dave]   # on call" in after
    assert "# team policy (comments must survive recipients add/remove)" in after
    pol = policy.load(team.root)
    assert pol.recipients["dave"].email == "dave@example.org"
    assert pol.recipients["dave"].signing_keys == (signing,)  # the comment is not part of the key
    assert "dave" in pol.reader_names(pol.rules[0])


def test_add_without_facts_keeps_the_one_line_form(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dave = make_person(tmp_path, "dave")
    assert team.cli(["recipients", "add", "dave", dave.public]).code == 0
    assert f"  dave: {dave.public}" in (team.root / ".gitvault.yaml").read_text()


def test_a_bad_signing_key_changes_nothing(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dave = make_person(tmp_path, "dave")
    before = (team.root / ".gitvault.yaml").read_bytes()
    r = team.cli(["recipients", "add", "dave", dave.public, "--signing-key", "not-a-key"])
    assert r.code == 5 and r.stderr.startswith("gitvault: error:")
    assert (team.root / ".gitvault.yaml").read_bytes() == before
