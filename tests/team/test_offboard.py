"""``offboard``: on a repository with history, the report lists exactly what the person could read."""

from __future__ import annotations

import json

from gitvault.git.trailers import parse_vault_trailers
from tests.team.conftest import Team, covered, verified

DB = "secrets/prod/db.yaml"
APP = "secrets/dev/app.yaml"
NEW = "secrets/prod/new.yaml"


def _history(team: Team) -> dict[str, str]:
    """Five commits; bob leaves the prod rule in the third. Returns the commit ids."""
    commits = {}
    team.write(DB, "db:\n    password: prod-pass-1\n    user: app\n")
    team.write(APP, "api:\n    token: dev-token-1\nold:\n    token: old-dev-token\n")
    commits["seed"] = team.commit("seed")
    assert team.cli(["set", DB, "db.replica", "replica-pass-1"]).code == 0
    commits["replica"] = team.commit("add the replica password")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            '  - path: "secrets/prod/**"\n    recipients: [ops]',
            '  - path: "secrets/prod/**"\n    recipients: [alice]',
        )
    )
    assert team.cli(["rekey", DB]).code == 0
    commits["bob-leaves-prod"] = team.commit("bob leaves prod")
    assert team.cli(["set", DB, "db.after_bob", "after-bob-secret"]).code == 0
    team.write(NEW, "k: new-file-secret\n")
    commits["after"] = team.commit("keys added after bob left prod")
    assert team.cli(["unset", APP, "old.token"]).code == 0
    commits["unset"] = team.commit("drop the old token")
    return commits


def test_offboard_lists_exactly_what_bob_could_read_and_locks_him_out(team: Team) -> None:
    commits = _history(team)
    before = {rel: team.values(rel) for rel in covered(team.root)}
    r = team.cli(["offboard", "bob", "--rotate", "--commit", "--json"])
    assert r.code == 1, r.output  # keys without a generator still need a human
    report = json.loads(r.stdout)

    # hand-made expectation: what bob could read while he was a recipient
    expected = {
        (APP, "api.token"): "rotated",
        (APP, "old.token"): "gone",
        (DB, "db.password"): "rotated",
        (DB, "db.user"): "needs-human",
        (DB, "db.replica"): "needs-human",
    }
    got = {(k["file"], k["key"]): k["status"] for k in report["keys"]}
    assert got == expected
    assert (DB, "db.after_bob") not in got and (NEW, "k") not in got
    spans = {
        (k["file"], k["key"]): (k["first_readable"], k["last_readable"]) for k in report["keys"]
    }
    assert spans[(DB, "db.password")] == (commits["seed"], commits["replica"])
    assert spans[(DB, "db.replica")] == (commits["replica"], commits["replica"])
    assert spans[(APP, "old.token")] == (commits["seed"], commits["seed"])  # versions written
    assert spans[(APP, "api.token")][1] == "work tree"
    assert sorted(report["rekeyed"]) == [APP, DB]
    assert report["policy"]["changed"] and report["policy"]["groups"] == ["ops"]

    # bob can decrypt nothing at HEAD; alice and carol keep their access
    assert "bob" not in (team.root / ".gitvault.yaml").read_text()
    for rel in covered(team.root):
        denied = team.cli(["decrypt", rel, "--rev", "HEAD"], team.bob)
        assert denied.code == 3, (rel, denied.output)
    after = {rel: team.values(rel) for rel in covered(team.root)}
    assert after[DB]["db"]["password"] != before[DB]["db"]["password"]
    assert after[APP]["api"]["token"] != before[APP]["api"]["token"]
    assert after[APP]["api"]["token"].startswith("dev_")
    for key in ("user", "replica", "after_bob"):
        assert after[DB]["db"][key] == before[DB]["db"][key]
    assert after[NEW] == before[NEW]
    assert team.values(APP, team.carol) == after[APP]
    assert verified(team)

    # one commit, whose trailers say what happened
    assert team.git("status", "--porcelain").stdout == ""
    assert team.git("rev-list", "--count", f"{commits['unset']}..HEAD").stdout.strip() == "1"
    msg = team.git("log", "-1", "--format=%B").stdout
    claims = parse_vault_trailers(msg)
    assert claims.action == "offboard" and claims.offboarded == ("bob",)
    assert set(claims.files) == {".gitvault.yaml", DB, APP}
    assert set(claims.rekeyed) == {DB, APP}
    assert claims.keys == {DB: ("db.password",), APP: ("api.token",)}
    assert claims.generators[(DB, "db.password")] == "password:24"
    assert not claims.problems
    assert "needs a human: secrets/prod/db.yaml db.user" in msg
    # no value anywhere in the report, the message or the output
    for text in (r.stdout, r.stderr, msg):
        for secret in ("prod-pass-1", "replica-pass-1", "dev-token-1", "old-dev-token", "app\n"):
            assert secret not in text


def test_offboard_text_report_without_rotate(team: Team) -> None:
    _history(team)
    r = team.cli(["offboard", "bob"])
    assert r.code == 1, r.output
    assert "keys bob could read (5):" in r.stdout
    assert "db.password  [not rotated (use --rotate)]" in r.stdout
    assert "old.token  [gone from the vault]" in r.stdout
    assert "db.after_bob" not in r.stdout
    assert "removed bob from .gitvault.yaml" in r.stderr
    # written, not committed
    status = team.git("status", "--porcelain").stdout
    assert ".gitvault.yaml" in status and DB in status and APP in status and NEW not in status
    for rel in (DB, APP):
        assert team.cli(["decrypt", rel], team.bob).code == 3


def test_offboard_counts_versions_under_a_data_key_they_held(team: Team) -> None:
    """Removed without a new data key (updatekeys-style), later values stay readable to them."""
    team.write(APP, "api:\n    token: dev-token-1\n")
    team.commit("seed")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("recipients: [ops, carol]", "recipients: [ops]"))
    assert team.cli(["rekey", "--recipients-only", APP]).code == 0
    team.commit("carol leaves dev, same data key")
    assert team.cli(["set", APP, "late.key", "late-secret-1"]).code == 0
    team.commit("a key added after carol left")
    r = team.cli(["offboard", "carol", "--json"])
    assert r.code == 1, r.output
    keys = {(k["file"], k["key"]): k["via"] for k in json.loads(r.stdout)["keys"]}
    assert keys == {(APP, "api.token"): "recipient", (APP, "late.key"): "data key"}


def test_offboard_unknown_name_and_rule_left_empty(team: Team) -> None:
    team.write(APP, "api:\n    token: dev-token-1\n")
    team.commit("seed")
    r = team.cli(["offboard", "mallory"])
    assert r.code == 5 and "no recipient named mallory" in r.stderr
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("recipients: [ops]", "recipients: [bob]"))
    before = policy.read_bytes()
    r = team.cli(["offboard", "bob"])
    assert r.code == 5 and "no recipients" in r.stderr
    assert policy.read_bytes() == before


def test_offboard_needs_an_identity_for_every_file_they_could_read(team: Team) -> None:
    team.write(APP, "api:\n    token: dev-token-1\n")
    team.commit("seed")
    before = (team.root / APP).read_bytes()
    policy_before = (team.root / ".gitvault.yaml").read_bytes()
    r = team.cli(["offboard", "bob"], team.outsider)
    assert r.code == 3, r.output
    assert (team.root / APP).read_bytes() == before
    assert (team.root / ".gitvault.yaml").read_bytes() == policy_before


def test_failed_commit_after_failed_rollback_keeps_the_new_value(team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The external system holds a rotated value whose rollback failed: never drop it."""
    import subprocess

    _history(team)
    seen = tmp_path / "applied.txt"
    apply = tmp_path / "apply.sh"
    apply.write_text(
        f'#!/bin/sh\n[ "$GITVAULT_PHASE" = rollback ] && exit 1\n'
        f'printf %s "$GITVAULT_NEW_VALUE" > {seen}\nexit 0\n'
    )
    apply.chmod(0o755)
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            'db.password: {generate: "password:24"}',
            f'db.password: {{generate: "hex:8", apply: "{apply}", verify: "exit 1"}}',
        )
    )
    subprocess.run(
        ["git", "commit", "-qam", "apply/verify for the db password"], cwd=team.root, check=True
    )
    hook = team.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    r = team.cli(["offboard", "bob", "--rotate", "--commit"])
    assert r.code != 0
    held = seen.read_text()
    assert held and held not in r.output
    assert team.values(DB)["db"]["password"] == held  # type: ignore[index]


def test_offboard_rotations_read_as_rotations_without_an_identity(team: Team) -> None:
    """Without a key, the audit tells an offboarding's rotated keys from re-keys by its trailers."""
    from tests.helpers import run_cli

    _history(team)
    assert team.cli(["offboard", "bob", "--rotate", "--commit"]).code in (0, 1)
    # No identity at all: HOME without keys, no identity variables.
    r = run_cli(
        ["log", f"{DB}:db.password", "--json", "--no-signatures"],
        cwd=team.root,
        env={"HOME": str(team.root.parent / "nobody"), "GITVAULT_AGE_KEY_FILE": None},
    )
    assert r.code == 0, r.output
    newest = json.loads(r.stdout)["events"][0]
    assert newest["kind"] == "rotated" and newest["basis"] == "trailers", newest


def _head(team: Team, rel: str) -> str:
    return team.git("show", f"HEAD:{rel}").stdout


def test_offboard_commit_includes_a_policy_edited_by_hand(team: Team) -> None:
    """Editing the policy is how one offboards: those edits go into the one commit."""
    _history(team)
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("ops: [alice, bob]   # on call", "ops: [alice]   # on call")
        + "# bob left on Friday\n"
    )
    r = team.cli(["offboard", "bob", "--commit"])
    assert r.code == 1, r.output  # keys still need a human; the offboarding is committed
    assert team.git("status", "--porcelain").stdout == ""
    head_policy = _head(team, ".gitvault.yaml")
    assert "bob:" not in head_policy and "# bob left on Friday" in head_policy
    for rel in (DB, APP):
        assert team.cli(["decrypt", rel, "--rev", "HEAD"], team.bob).code == 3


def test_offboard_commit_after_a_plain_offboard_commits_it(team: Team) -> None:
    _history(team)
    assert team.cli(["offboard", "bob"]).code == 1
    r = team.cli(["offboard", "bob", "--commit"])
    assert r.code == 1, r.output
    assert team.git("status", "--porcelain").stdout == ""
    assert "bob:" not in _head(team, ".gitvault.yaml")
    for rel in (DB, APP):
        assert team.cli(["decrypt", rel, "--rev", "HEAD"], team.bob).code == 3


def test_offboard_hint_names_a_rotate_command_that_works(team: Team) -> None:
    import os
    import subprocess

    _history(team)
    r = team.cli(["offboard", "bob", "--commit"])
    assert r.code == 1, r.output
    hints = [ln for ln in r.stderr.splitlines() if ln.startswith("gitvault: hint: ")]
    commands = [part for ln in hints for part in ln.split("`")[1::2] if "rotate" in part]
    assert commands, r.stderr
    env = dict(os.environ, **team.alice.env, NEW_VALUE="a-fresh-value-nobody-knew")
    for command in commands:
        proc = subprocess.run(
            ["sh", "-c", command], cwd=team.root, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, (command, proc.stderr)
    assert team.git("status", "--porcelain").stdout == ""
