"""The hooks, attacked by a committer or pusher who holds no key.

A key-less writer cannot make a valid MAC, but without a key nobody can check
one: the hooks must judge what can be known without it (structure against the
rule), and use the key when the committer has one (MAC, schema).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from gitvault.sops.file import encrypt_new
from gitvault.yamlio import load_documents
from tests.conftest import git
from tests.helpers import run_cli
from tests.team.conftest import Team

APP = "secrets/prod/app.yaml"
BASE = "db:\n    user: app-user-1\n    password: base-pass-1\nport: 5432\n"


def _hook(team: Team, who: object | None = None) -> tuple[int, str]:
    r = team.cli(["hook", "pre-commit", "--no-vault-values"], who)  # type: ignore[arg-type]
    return r.code, r.stderr


def _stage(team: Team, text: str) -> None:
    (team.root / APP).write_text(text)
    team.git("add", APP)


def test_plaintext_behind_a_pasted_sops_block_is_blocked_without_a_key(team: Team) -> None:
    """Before: the hook only parsed the file and compared recipients, so a plaintext
    value under a copied ``sops:`` block was committed (exit 0)."""
    team.write(APP, BASE)
    team.commit("base")
    text = (team.root / APP).read_text()
    text = re.sub(r"user: ENC\[[^\]]*\]", "user: plain-app-user", text)
    _stage(team, text)
    code, err = _hook(team, team.outsider)
    assert code == 1, err
    assert "db.user" in err and "not encrypted although the rule says" in err
    assert "plain-app-user" not in err


def test_selection_metadata_that_declares_values_plaintext_is_blocked(team: Team) -> None:
    """Before: ``unencrypted_regex: .*`` in the file's own metadata made every value
    legitimately plaintext as far as the hook could tell (exit 0)."""
    team.write(APP, BASE)
    team.commit("base")
    text = (team.root / APP).read_text()
    text = re.sub(r"password: ENC\[[^\]]*\]", "password: smuggled-plaintext", text)
    text = text.replace("unencrypted_suffix: _unencrypted", "unencrypted_regex: .*")
    _stage(team, text)
    code, err = _hook(team, team.outsider)
    assert code == 1, err
    assert "selection metadata differs from the policy rule" in err
    assert "smuggled-plaintext" not in err


def test_the_rule_schema_runs_when_the_committer_holds_a_key(team: Team) -> None:
    """Before: the hook never ran the rule's JSON Schema (check_schema=False)."""
    (team.root / "schemas").mkdir()
    (team.root / "schemas" / "prod.json").write_text(
        json.dumps({"type": "object", "properties": {"port": {"type": "integer"}}})
    )
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            '  - path: "secrets/prod/**"\n',
            '  - path: "secrets/prod/**"\n    schema: schemas/prod.json\n',
        )
    )
    team.commit("policy with a schema")
    docs = load_documents("port: not-a-port-value\n", APP)
    data = encrypt_new(docs, [team.alice.public, team.bob.public])
    (team.root / "secrets" / "prod").mkdir(parents=True, exist_ok=True)
    (team.root / APP).write_bytes(data)
    team.git("add", APP)
    code, err = _hook(team)
    assert code == 1, err
    assert "schema" in err and "port" in err
    assert "not-a-port-value" not in err


def test_the_final_error_line_names_the_reason(team: Team) -> None:
    """Before: the last line said "fix the lines above", which is all a caller that
    shows one line (a commit made by another tool) ever showed — with nothing above."""
    (team.root / "secrets" / "prod").mkdir(parents=True)
    _stage(team, "db:\n    user: in-the-clear\n")
    code, err = _hook(team)
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("gitvault: error:")]
    assert len(errors) == 1 and APP in errors[0] and "not a valid vault file" in errors[0]
    # the very last line is the reason (what `set --commit` and GUIs show)
    assert err.strip().splitlines()[-1] == errors[0]
    assert "lines above" not in err


def _remote(team: Team, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    team.git("remote", "add", "origin", str(bare))
    team.git("push", "-q", "origin", "HEAD:main")
    r = run_cli(["hooks", "install", "pre-receive"], cwd=bare)
    assert r.code == 0, r.output
    return bare


def test_pre_receive_refuses_a_vault_file_encrypted_to_someone_else(
    team: Team, tmp_path: Path
) -> None:
    """Before: pre-receive only scanned added lines for leaks; a pushed vault file
    re-encrypted to the outsider (the pusher's own key) was accepted."""
    team.write(APP, BASE)
    team.commit("base")
    bare = _remote(team, tmp_path)
    (team.root / APP).unlink()
    team.write(APP, BASE)  # fresh file, then swap recipients the key-less way:
    data = encrypt_new(load_documents(BASE, APP), [team.alice.public, team.outsider.public])
    (team.root / APP).write_bytes(data)
    team.git("add", APP)
    team.git("commit", "-qm", "looks routine", "--no-verify")
    push = team.git("push", "origin", "HEAD:main", check=False)
    assert push.returncode != 0, push.stderr
    assert "not a valid vault file" in push.stderr and APP in push.stderr
    assert (
        git(bare, "rev-parse", "main").stdout.strip()
        != team.git("rev-parse", "HEAD").stdout.strip()
    )


def test_pre_receive_refuses_plaintext_behind_a_sops_block(team: Team, tmp_path: Path) -> None:
    """Before: accepted; the server checked no vault structure at all."""
    team.write(APP, BASE)
    team.commit("base")
    _remote(team, tmp_path)
    text = (team.root / APP).read_text()
    text = re.sub(r"user: ENC\[[^\]]*\]", "user: plain-app-user", text)
    (team.root / APP).write_text(text)
    team.git("commit", "-qam", "tidy", "--no-verify")
    push = team.git("push", "origin", "HEAD:main", check=False)
    assert push.returncode != 0, push.stderr
    assert "db.user" in push.stderr
    assert "plain-app-user" not in push.stderr


def test_a_commit_made_by_set_shows_why_the_hook_refused(team: Team) -> None:
    """Before: ``set --commit`` refused by the pre-commit hook said only
    "git commit failed: gitvault: hint: fix the lines above …", with no lines shown."""
    assert team.cli(["hooks", "install", "pre-commit"]).code == 0
    team.write(APP, BASE)
    team.git("add", "-A")
    team.git("commit", "-qm", "base", "--no-verify")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("recipients: [ops]\n", "recipients: [ops, carol]\n", 1)
    )
    team.git("commit", "-qam", "carol joins prod", "--no-verify")
    r = team.cli(["set", APP, "port", "6543", "--type", "int", "--commit"])
    assert r.code != 0, r.output
    assert "not encrypted to carol" in r.stderr, r.stderr
    assert "lines above" not in r.stderr


def test_a_policy_replaced_by_a_link_does_not_switch_the_hook_off(team: Team) -> None:
    """Before: the hook saw no regular policy file and skipped every vault check, so a
    plaintext file under ``secrets/`` was committed (exit 0)."""
    policy = team.root / ".gitvault.yaml"
    policy.unlink()
    policy.symlink_to("/dev/zero")
    (team.root / "secrets" / "prod").mkdir(parents=True)
    _stage(team, "db:\n    user: in-the-clear\n")
    code, err = _hook(team)
    assert code != 0, err
    assert "not a regular file" in err or "outside the repository" in err
