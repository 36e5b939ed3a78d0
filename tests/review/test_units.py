"""Pure parts of review and freshness: escaping, --fail-on, allowed signers, access diffs."""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest

from gitvault.cli.review import parse_fail_on
from gitvault.errors import UsageError
from gitvault.git.signing import allowed_signers
from gitvault.history.policies import policy_from_bytes
from gitvault.review.access import policy_changes
from gitvault.review.markdown import escape
from gitvault.review.model import DEFAULT_FAIL_ON, KINDS
from tests.conftest import git
from tests.helpers import run_cli

ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def test_escape_neutralises_markdown_html_and_mentions() -> None:
    assert escape("a|b") == "a\\|b"
    assert escape("*x* _y_ `z` [l](u) ~s~ !i") == "\\*x\\* \\_y\\_ \\`z\\` \\[l\\](u) \\~s\\~ \\!i"
    assert escape("<script>&") == "&lt;script&gt;&amp;"
    assert escape("@team") == "@\u200bteam"
    assert escape("two\nlines\r\x00") == "two lines  "
    assert escape("secrets/prod/db.yaml") == "secrets/prod/db.yaml"


def test_fail_on_parsing() -> None:
    assert parse_fail_on(None) == frozenset(DEFAULT_FAIL_ON)
    assert parse_fail_on("none") == frozenset()
    assert parse_fail_on("all") == frozenset(KINDS)
    assert parse_fail_on("default,unsigned") == frozenset({*DEFAULT_FAIL_ON, "unsigned"})
    assert parse_fail_on(" leak , mac ") == frozenset({"leak", "mac"})
    with pytest.raises(UsageError):
        parse_fail_on("leak,everything")


def test_allowed_signers_lines_are_safe() -> None:
    text = allowed_signers([("alice", ED + " alice@laptop"), ("alice", ED)])
    assert text == f'alice namespaces="git" {ED}\n'  # comment dropped, duplicate once
    assert allowed_signers([("a,b", ED)]) == ""  # a principal list would widen trust
    assert allowed_signers([("*", ED)]) == ""
    assert allowed_signers([("bob", "ssh-ed25519 not-base64!")]) == ""
    assert allowed_signers([("bob", ED + "\ncert-authority " + ED)]) == ""


def _policy(tmp_path: Path, data: dict[str, object]) -> object:
    return policy_from_bytes(json.dumps(data).encode(), tmp_path / ".gitvault.yaml")


def test_policy_changes_call_out_expansions(tmp_path: Path) -> None:
    a = str(pyrage.x25519.Identity.generate().to_public())
    b = str(pyrage.x25519.Identity.generate().to_public())
    rule = {"path": "secrets/**", "recipients": ["team"]}
    base = _policy(
        tmp_path,
        {"version": 1, "recipients": {"alice": a}, "groups": {"team": ["alice"]}, "rules": [rule]},
    )
    head = _policy(
        tmp_path,
        {
            "version": 1,
            "recipients": {"alice": {"key": b, "signing_keys": [ED]}, "bob": a},
            "groups": {"team": ["alice", "bob"]},
            "rules": [rule, {"path": "other/**", "recipients": ["bob"]}],
        },
    )
    changes = {(c.what, c.subject): c for c in policy_changes(base, head)}  # type: ignore[arg-type]
    assert changes[("recipient-key", "alice")].expansion
    assert changes[("signing-keys", "alice")].expansion
    assert changes[("group-members", "team")].detail == "+bob"
    assert ("recipient-added", "bob") in changes and ("rule-added", "other/**") in changes


def test_review_finds_a_policy_in_a_subdirectory(repo: Path) -> None:
    ops = repo / "ops"
    ops.mkdir()
    assert run_cli(["keygen"]).code == 0
    assert run_cli(["init", "--no-hooks", "--name", "alice"], cwd=ops).code == 0
    (ops / "secrets").mkdir()
    (ops / "secrets" / "a.yaml").write_text("token: first-Token-1111\n")
    assert run_cli(["encrypt", "secrets/a.yaml", "--in-place"], cwd=ops).code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "vault in ops/")
    git(repo, "switch", "-q", "-c", "rotate")
    assert (
        run_cli(["set", "secrets/a.yaml", "token", "second-Token-2", "--commit"], cwd=ops).code == 0
    )
    r = run_cli(["review", "main..HEAD", "--format", "json"], cwd=ops)
    assert r.code == 0, r.output
    data = json.loads(r.stdout)
    assert [(k["file"], k["key"], k["change"]) for k in data["keys"]] == [
        ("ops/secrets/a.yaml", "token", "rotated")
    ]
    assert data["checks"][0]["checks"]["mac"] == "ok"
    r = run_cli(["verify"], cwd=ops)
    assert r.code == 0 and "history: freshness checked" in r.stdout
    assert "first-Token-1111" not in r.stdout and "second-Token-2" not in data.__repr__()
