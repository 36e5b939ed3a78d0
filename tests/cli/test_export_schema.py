"""export checks each file against its rule's JSON Schema, on the values it already decrypted."""

from __future__ import annotations

import json

from tests.cli.conftest import Vault
from tests.helpers import run_cli


def _require_port_string(vault: Vault) -> None:
    (vault.root / "schema.json").write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "db": {"type": "object", "properties": {"port": {"type": "string"}}}
                },
            }
        )
    )
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rotate_after: 90d", "rotate_after: 90d\n    schema: schema.json"
        )
    )


def test_export_refuses_a_schema_violation_and_prints_nothing(vault: Vault) -> None:
    _require_port_string(vault)
    r = run_cli(["export", str(vault.secret_file), "--format", "json"])
    assert r.code == 1, r.output
    assert r.stdout == ""
    assert "db.port" in r.stderr and "5432" not in r.stderr


def test_export_passes_when_the_schema_holds(vault: Vault) -> None:
    _require_port_string(vault)
    assert run_cli(["set", str(vault.secret_file), "db.port", "5432"]).code == 0  # now a string
    r = run_cli(["export", str(vault.secret_file), "--format", "json"])
    assert r.code == 0, r.output
    assert json.loads(r.stdout)["DB_PORT"] == "5432"
