"""``recipients list|add|remove``: policy edits that keep the file's layout, checked by verify."""

from __future__ import annotations

import json

from tests.team.conftest import Team, make_person, recipient_checks, verified


def test_list_shows_groups_and_rules(team: Team) -> None:
    r = team.cli(["recipients", "list", "--json"])
    assert r.code == 0, r.output
    data = json.loads(r.stdout)
    by_name = {x["name"]: x for x in data["recipients"]}
    assert by_name["bob"]["groups"] == ["ops"]
    assert by_name["bob"]["rules"] == ["secrets/prod/**", "secrets/dev/**"]
    assert by_name["carol"]["rules"] == ["secrets/dev/**"]
    text = team.cli(["recipients", "list"]).stdout
    assert "carol" in text and team.carol.public in text


def test_add_and_remove_round_trip_through_verify(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    team.write("secrets/dev/app.yaml", "api:\n    token: dev-token-1\n")
    team.write("secrets/prod/db.yaml", "db:\n    password: prod-pass-1\n")
    assert verified(team)
    original = (team.root / ".gitvault.yaml").read_text()

    dave = make_person(tmp_path, "dave")
    r = team.cli(["recipients", "add", "dave", dave.public, "--group", "ops"])
    assert r.code == 0, r.output
    assert "2 file(s) are not encrypted to them yet" in r.stderr
    text = (team.root / ".gitvault.yaml").read_text()
    # Layout kept: only the recipient line is new and the group's flow list grew.
    assert "# team policy (comments must survive recipients add/remove)" in text
    assert "  alice: " + team.alice.public + "   # the lead\n" in text
    assert "  ops: [alice, bob, dave]   # on call\n" in text
    assert len(text.splitlines()) == len(original.splitlines()) + 1

    bad = team.cli(["verify"])
    assert bad.code == 1 and "not encrypted to dave" in bad.output
    assert set(recipient_checks(team).values()) == {("mismatch", "ok")}
    assert team.cli(["decrypt", "secrets/dev/app.yaml"], dave).code == 3
    r = team.cli(["rekey", "--recipients-only"])
    assert r.code == 0, r.output
    assert verified(team)
    assert team.values("secrets/dev/app.yaml", dave) == {"api": {"token": "dev-token-1"}}

    r = team.cli(["recipients", "remove", "dave"])
    assert r.code == 0, r.output
    assert "still encrypted to them" in r.stderr
    assert (team.root / ".gitvault.yaml").read_text() == original
    assert set(recipient_checks(team).values()) == {("mismatch", "ok")}
    assert team.cli(["rekey"]).code == 0
    assert verified(team)
    assert team.cli(["decrypt", "secrets/dev/app.yaml"], dave).code == 3


def test_remove_takes_the_name_out_of_groups_and_rules(team: Team) -> None:
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "    recipients: [ops, carol]\n", "    recipients:\n      - ops\n      - carol\n"
        )
    )
    r = team.cli(["recipients", "remove", "carol", "--json"])
    assert r.code == 0, r.output
    change = json.loads(r.stdout)
    assert change["rules"] == ["secrets/dev/**"] and change["layout"] == "kept"
    text = policy.read_text()
    assert "carol" not in text
    assert "    recipients:\n      - ops\n" in text
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    assert "  ops: [alice]   # on call\n" in policy.read_text()


def test_remove_refuses_to_leave_a_rule_without_readers(team: Team) -> None:
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("recipients: [ops]", "recipients: [carol]"))
    before = policy.read_bytes()
    r = team.cli(["recipients", "remove", "carol"])
    assert r.code == 5
    assert "would leave rules[0] (secrets/prod/**) with no recipients" in r.stderr
    assert policy.read_bytes() == before


def test_add_rejects_bad_input_and_changes_nothing(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    policy = team.root / ".gitvault.yaml"
    before = policy.read_bytes()
    for args, needle in [
        (["bob", make_person(tmp_path, "x").public], "already a recipient"),
        (["zed", team.bob.public], "already belongs to recipient bob"),
        (["zed", "age1notakey"], "recipients"),
        (["ops", make_person(tmp_path, "y").public], "name of a group"),
        (["-bad", make_person(tmp_path, "z").public], ""),
    ]:
        r = team.cli(["recipients", "add", *args])
        assert r.code in (2, 5), (args, r.output)
        assert needle in r.stderr
        assert policy.read_bytes() == before


def test_layout_the_line_edits_do_not_handle_is_re_emitted_correctly(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    policy = team.root / ".gitvault.yaml"
    text = policy.read_text()
    # A flow mapping for recipients: the targeted edit gives up, the model is re-emitted.
    flow = (
        "recipients: {"
        + ", ".join(f"{p.name}: {p.public}" for p in (team.alice, team.bob, team.carol))
        + "}\n"
    )
    start = text.index("recipients:\n")
    end = text.index("groups:")
    policy.write_text(text[:start] + flow + text[end:])
    dave = make_person(tmp_path, "dave")
    r = team.cli(["recipients", "add", "dave", dave.public, "--json"])
    assert r.code == 0, r.output
    assert json.loads(r.stdout)["layout"] == "re-emitted"
    assert "# team policy" in policy.read_text()
    listed = json.loads(team.cli(["recipients", "list", "--json"]).stdout)
    assert [x["name"] for x in listed["recipients"]] == ["alice", "bob", "carol", "dave"]
