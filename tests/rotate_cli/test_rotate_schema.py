"""``rotate`` checks the rule's JSON Schema on the new values before anything runs.

Before: ``set``/``unset``/``edit`` refused a value the schema rejects, but
``rotate`` wrote a generated value straight into the file (and ran the apply
command with it), so a rotation could leave the vault failing ``verify``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Vault
from tests.helpers import run_cli
from tests.rotate_cli.conftest import OLD_PASSWORD, F, set_policy, snapshot, value
from tests.rotate_cli.test_rotate import calls, error_lines, recorder

DIGITS_ONLY = {
    "type": "object",
    "properties": {
        "db": {
            "type": "object",
            "properties": {"password": {"type": "string", "pattern": "^[0-9]+$"}},
        }
    },
}


def _schema_policy(vault: Vault, scripts: Path, schema: dict[str, object]) -> str:
    (vault.root / "schema.json").write_text(json.dumps(schema))
    apply = recorder(scripts, "apply")
    set_policy(
        vault.root,
        f"""
    schema: schema.json
    keys:
      db.password: {{generate: "alnum:30", apply: "{apply}"}}
""",
    )
    return apply


def test_rotate_refuses_a_generated_value_the_schema_rejects(vault: Vault, scripts: Path) -> None:
    _schema_policy(vault, scripts, DIGITS_ONLY)
    before = snapshot(vault.root)
    r = run_cli(["rotate", F])
    assert r.code == 5, r.output
    (line,) = error_lines(r.stderr)
    assert "schema.json" in line and "db.password" in line and "'pattern'" in line
    assert calls(scripts, "apply") == []  # no command ran with a value the vault refuses
    assert snapshot(vault.root) == before  # file, index and HEAD untouched
    assert value(vault.root, "db.password") == OLD_PASSWORD


def test_rotate_from_stdin_is_checked_too(vault: Vault, scripts: Path) -> None:
    _schema_policy(vault, scripts, DIGITS_ONLY)
    before = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--stdin"], input="not-digits\n")
    assert r.code == 5, r.output
    assert "not-digits" not in r.output  # the message names the check, never the value
    assert snapshot(vault.root) == before


def test_rotate_passes_when_the_new_value_fits(vault: Vault, scripts: Path) -> None:
    _schema_policy(vault, scripts, {"type": "object"})
    r = run_cli(["rotate", F])
    assert r.code == 0, r.output
    assert len(value(vault.root, "db.password")) == 30
    assert len(calls(scripts, "apply")) == 1
