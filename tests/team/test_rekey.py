"""``rekey``: a new data key, every value re-encrypted, values unchanged, readers from the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pyrage

from gitvault.git.trailers import parse_vault_trailers
from gitvault.sops.file import data_key_for, parse_vault
from tests.compat.sopsenv import AgeKey, run_sops
from tests.team.conftest import Person, Team

DB = "secrets/prod/db.yaml"
APP = "secrets/dev/app.yaml"


def _identity(person: Person) -> object:
    secret = person.key_file.read_text().splitlines()[-1]
    return pyrage.x25519.Identity.from_str(secret)


def _state(root: Path, rel: str, person: Person) -> tuple[bytes, dict[str, str], tuple[str, ...]]:
    vault = parse_vault((root / rel).read_bytes(), rel)
    return data_key_for(vault, [_identity(person)]), vault.leaves(), vault.recipients


def _drop_bob(team: Team) -> None:
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("ops: [alice, bob]", "ops: [alice]"))


def _seed(team: Team) -> None:
    team.write(DB, "db:\n    password: prod-pass-1\n    user: app\n    port: 5432\n")
    team.write(APP, "api:\n    token: dev-token-1\nhosts:\n    - a\n    - b\n")
    team.commit("seed")


def test_rekey_new_data_key_all_ciphertexts_change_values_do_not(team: Team) -> None:
    _seed(team)
    before = {rel: _state(team.root, rel, team.alice) for rel in (DB, APP)}
    values = {rel: team.values(rel) for rel in (DB, APP)}
    _drop_bob(team)
    r = team.cli(["rekey", "--json"])
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert {f["file"]: f["removed"] for f in report["files"]} == {DB: ["bob"], APP: ["bob"]}
    assert all(f["new_data_key"] for f in report["files"])
    for rel in (DB, APP):
        old_key, old_leaves, _ = before[rel]
        new_key, new_leaves, recipients = _state(team.root, rel, team.alice)
        assert new_key != old_key
        assert new_leaves.keys() == old_leaves.keys()
        for k, text in new_leaves.items():
            assert text.startswith("ENC[") and text != old_leaves[k], k
        assert team.bob.public not in recipients
        assert team.values(rel) == values[rel]
        # bob is denied now, even with his old key: exit 3
        denied = team.cli(["decrypt", rel], team.bob)
        assert denied.code == 3, denied.output
        assert "none of your identities" in denied.stderr
    assert team.values(APP, team.carol) == values[APP]
    # the real sops accepts the result (MAC recomputed)
    key = AgeKey("", team.alice.public, team.alice.key_file)
    out = run_sops(["decrypt", "--output-type", "json", str(team.root / DB)], key)
    assert json.loads(out.stdout) == values[DB]


def test_rekey_keeps_the_files_selection_rules(team: Team) -> None:
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            '  - path: "secrets/dev/**"\n',
            '  - path: "secrets/dev/**"\n    encrypted_regex: "^(api|token)$"\n',
        )
    )
    team.write(APP, "api:\n    token: dev-token-1\nregion: eu-west-1\n")
    before = parse_vault((team.root / APP).read_bytes(), APP)
    assert before.leaves()["region"] == "eu-west-1"
    r = team.cli(["rekey", APP])
    assert r.code == 0, r.output
    after = parse_vault((team.root / APP).read_bytes(), APP)
    assert after.meta.encrypted_regex == "^(api|token)$"
    assert after.leaves()["region"] == "eu-west-1"
    assert after.leaves()["api.token"] != before.leaves()["api.token"]
    assert team.values(APP) == {"api": {"token": "dev-token-1"}, "region": "eu-west-1"}


def test_recipients_only_keeps_data_key_and_values_ciphertext(team: Team) -> None:
    _seed(team)
    old_key, old_leaves, _ = _state(team.root, DB, team.alice)
    old_bytes = (team.root / DB).read_bytes()
    _drop_bob(team)
    r = team.cli(["rekey", "--recipients-only", DB])
    assert r.code == 0, r.output
    new_key, new_leaves, recipients = _state(team.root, DB, team.alice)
    assert new_key == old_key and new_leaves == old_leaves
    assert team.bob.public not in recipients
    new_bytes = (team.root / DB).read_bytes()
    old_vault = parse_vault(old_bytes, DB)
    new_vault = parse_vault(new_bytes, DB)
    assert new_vault.meta.mac == old_vault.meta.mac
    assert new_vault.meta.lastmodified == old_vault.meta.lastmodified
    # alice's stanza is kept as it was: only bob's is gone
    assert new_vault.meta.age == tuple(
        s for s in old_vault.meta.age if s.recipient != team.bob.public
    )
    # nothing to do the second time
    r = team.cli(["rekey", "--recipients-only", DB])
    assert r.code == 0 and "recipients unchanged" in r.stderr
    assert (team.root / DB).read_bytes() == new_bytes


def test_rekey_commit_has_trailers_and_history_calls_it_a_rekey(team: Team) -> None:
    _seed(team)
    _drop_bob(team)
    team.commit("drop bob from ops")
    r = team.cli(["rekey", "--commit", "-m", "re-key after bob left"])
    assert r.code == 0, r.output
    msg = team.git("log", "-1", "--format=%B").stdout
    assert msg.startswith("re-key after bob left\n")
    claims = parse_vault_trailers(msg)
    assert claims.action == "rekey"
    assert set(claims.files) == {DB, APP} and set(claims.rekeyed) == {DB, APP}
    assert claims.recipients[DB] == ("alice",)
    assert claims.recipients[APP] == ("alice", "carol")
    assert not claims.problems
    log = team.cli(["log", "--json", DB])
    assert log.code == 0, log.output
    assert "rekeyed" in log.stdout and "rotated" not in log.stdout


def test_rekey_is_all_or_nothing_when_a_file_cannot_be_read(team: Team) -> None:
    _seed(team)
    # a file only carol can read (written with carol's key, outside alice's reach)
    other = team.root / "secrets" / "dev" / "carol.yaml"
    policy = team.root / ".gitvault.yaml"
    text = policy.read_text()
    policy.write_text(text.replace("recipients: [ops, carol]", "recipients: [carol]"))
    team.write("secrets/dev/carol.yaml", "x: carol-only-1\n", team.carol)
    policy.write_text(text)
    before = {p: (team.root / p).read_bytes() for p in (DB, APP, "secrets/dev/carol.yaml")}
    r = team.cli(["rekey"])
    assert r.code == 3, r.output
    assert "secrets/dev/carol.yaml" in r.stderr and "nothing was changed" in r.stderr
    assert {p: (team.root / p).read_bytes() for p in before} == before
    assert other.exists()


def test_rekey_refuses_uncovered_path_and_commit_flags_without_commit(team: Team) -> None:
    _seed(team)
    (team.root / "notes.yaml").write_text("a: 1\n")
    r = team.cli(["rekey", "notes.yaml"])
    assert r.code == 5 and "no rule" in r.stderr
    r = team.cli(["rekey", "-m", "x"])
    assert r.code == 2


# ----------------------------------------------------------------- --commit and the policy


def _head_policy(team: Team) -> str:
    return team.git("show", "HEAD:.gitvault.yaml").stdout


def test_rekey_commit_includes_the_policy_change_that_asked_for_it(team: Team) -> None:
    _seed(team)
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    r = team.cli(["rekey", "--commit"])
    assert r.code == 0, r.output
    assert team.git("status", "--porcelain").stdout == ""
    assert "bob" not in _head_policy(team)
    claims = parse_vault_trailers(team.git("log", "-1", "--format=%B").stdout)
    assert claims.action == "rekey"
    assert set(claims.files) == {".gitvault.yaml", DB, APP}
    assert set(claims.rekeyed) == {DB, APP}
    for rel in (DB, APP):
        assert team.cli(["decrypt", rel, "--rev", "HEAD"], team.bob).code == 3


def test_rekey_commit_after_a_plain_rekey_commits_what_that_rekey_wrote(team: Team) -> None:
    _seed(team)
    values = {rel: team.values(rel) for rel in (DB, APP)}
    assert team.cli(["recipients", "remove", "bob"]).code == 0
    r = team.cli(["rekey"])
    assert r.code == 0, r.output
    r = team.cli(["rekey", "--commit"])
    assert r.code == 0, r.output
    assert team.git("status", "--porcelain").stdout == ""
    assert "bob" not in _head_policy(team)
    for rel in (DB, APP):
        assert team.cli(["decrypt", rel, "--rev", "HEAD"], team.bob).code == 3
        assert team.values(rel) == values[rel]


def test_rekey_commit_after_recipients_only_rekey_commits_unchanged_files_too(
    team: Team,
) -> None:
    _seed(team)
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("recipients: [ops]", "recipients: [ops, carol]"))
    assert team.cli(["rekey", "--recipients-only"]).code == 0
    r = team.cli(["rekey", "--recipients-only", "--commit"])
    assert r.code == 0, r.output
    assert team.git("status", "--porcelain").stdout == ""
    assert team.cli(["decrypt", DB, "--rev", "HEAD"], team.carol).code == 0


def test_rekey_commit_still_refuses_an_uncommitted_value_change(team: Team) -> None:
    _seed(team)
    assert team.cli(["set", DB, "db.password", "changed-by-hand"]).code == 0
    before = (team.root / DB).read_bytes()
    r = team.cli(["rekey", "--commit"])
    assert r.code == 6, r.output
    assert DB in r.stderr and "changed-by-hand" not in r.output
    assert (team.root / DB).read_bytes() == before
