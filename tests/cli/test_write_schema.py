"""Every write path checks the rule's JSON Schema: set, unset, edit, encrypt.

A write that would break the schema exits 5 with one line naming the file,
the schema and the key path (never the value), and leaves the file as it was.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli

SCHEMA = {
    "type": "object",
    "required": ["db", "api_token"],
    "properties": {
        "db": {
            "type": "object",
            "required": ["password"],
            "properties": {
                "password": {"type": "string", "minLength": 12},
                "port": {"type": "integer"},
            },
        }
    },
}


@pytest.fixture
def schema_vault(vault: Vault) -> Vault:
    (vault.root / "schema.json").write_text(json.dumps(SCHEMA))
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rotate_after: 90d", "rotate_after: 90d\n    schema: schema.json"
        )
    )
    return vault


def _refused(vault: Vault, args: list[str], secret: str | None = None) -> str:
    before = vault.secret_file.read_bytes()
    r = run_cli(args)
    assert r.code == 5, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("gitvault: error:")]
    assert len(lines) == 1, r.stderr
    assert "schema.json" in lines[0] and str(vault.secret_file) in lines[0]
    if secret is not None:
        assert secret not in r.output
    assert vault.secret_file.read_bytes() == before
    return lines[0]


def test_set_refuses_a_non_integer_port(schema_vault: Vault) -> None:
    line = _refused(schema_vault, ["set", str(schema_vault.secret_file), "db.port", "not-a-port"])
    assert "db.port" in line and "'type'" in line


def test_set_refuses_a_password_under_min_length(schema_vault: Vault) -> None:
    line = _refused(
        schema_vault, ["set", str(schema_vault.secret_file), "db.password", "short"], "short"
    )
    assert "db.password" in line and "minLength" in line


def test_set_with_stdin_refuses_too(schema_vault: Vault) -> None:
    before = schema_vault.secret_file.read_bytes()
    r = run_cli(["set", str(schema_vault.secret_file), "db.password", "--stdin"], input="tiny-pw\n")
    assert r.code == 5 and "tiny-pw" not in r.output
    assert schema_vault.secret_file.read_bytes() == before


def test_unset_refuses_to_remove_a_required_key(schema_vault: Vault) -> None:
    line = _refused(schema_vault, ["unset", str(schema_vault.secret_file), "api_token"])
    assert "'required'" in line


def test_unset_refuses_a_nested_required_key(schema_vault: Vault) -> None:
    _refused(schema_vault, ["unset", str(schema_vault.secret_file), "db.password"], "hunter2")


def test_set_refuses_with_commit_and_commits_nothing(schema_vault: Vault) -> None:
    from tests.conftest import git

    git(schema_vault.root, "add", "-A")
    git(schema_vault.root, "commit", "-qm", "schema")
    head = git(schema_vault.root, "rev-parse", "HEAD").stdout
    _refused(schema_vault, ["set", str(schema_vault.secret_file), "db.port", "x", "--commit"])
    assert git(schema_vault.root, "rev-parse", "HEAD").stdout == head


def test_valid_writes_still_pass(schema_vault: Vault) -> None:
    f = str(schema_vault.secret_file)
    assert run_cli(["set", f, "db.port", "6543", "--type", "int"]).code == 0
    assert run_cli(["set", f, "db.password", "long-enough-password"]).code == 0
    assert run_cli(["set", f, "extra", "anything"]).code == 0
    assert run_cli(["unset", f, "extra"]).code == 0
    assert run_cli(["decrypt", f, "--extract", "db.port"]).stdout == "6543"


def test_set_uses_the_same_message_as_edit(schema_vault: Vault, tmp_path: Path) -> None:
    """edit's reopen header and set's error name the same check in the same words."""
    line = _refused(schema_vault, ["set", str(schema_vault.secret_file), "db.port", "abc"])
    script = tmp_path / "ed.py"
    header = tmp_path / "header.txt"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        "t = p.read_text()\n"
        f"h = pathlib.Path({str(header)!r})\n"
        "if h.exists():\n"
        "    sys.exit(0)\n"  # second round: quit unchanged, abort
        "p.write_text(t.replace('port: 5432', 'port: abc'))\n"
        "h.write_text('x')\n"
    )
    editor = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    before = schema_vault.secret_file.read_bytes()
    r = run_cli(["edit", str(schema_vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 5
    assert line in r.stderr
    assert schema_vault.secret_file.read_bytes() == before


def test_encrypt_to_output_refuses_a_schema_violation(schema_vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("db:\n    password: short\napi_token: t\n")
    out = schema_vault.root / "secrets" / "other.yaml"
    r = run_cli(["encrypt", str(plain), "-o", str(out)])
    assert r.code == 5 and "short" not in r.output and "minLength" in r.stderr
    assert not out.exists()
