"""PostgreSQL end to end through the CLI: `gitvault rotate` with the example scripts.

Uses the throwaway server from tests/rotate/conftest.py (Unix socket only) and
examples/postgres-rotation/{apply,verify}.sh as the policy's commands.
"""

from __future__ import annotations

from pathlib import Path

from gitvault.git.trailers import parse_vault_trailers
from tests.cli.conftest import Vault
from tests.helpers import run_cli, run_subprocess
from tests.rotate.conftest import PgServer
from tests.rotate_cli.conftest import (
    F,
    all_messages,
    assert_no_values,
    head,
    message,
    set_policy,
    snapshot,
    value,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "postgres-rotation"
OLD = "initial-Passw0rd"


def pg_vault(vault: Vault) -> None:
    """The role's current password in the vault, and the example scripts in the policy."""
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=OLD)
    assert r.code == 0, r.output
    set_policy(
        vault.root,
        f"""
    keys:
      db.password:
        generate: "password:32"
        apply: "sh {EXAMPLE / "apply.sh"}"
        verify: "sh {EXAMPLE / "verify.sh"}"
        timeout: 60s
""",
    )


def server_log(postgres: PgServer) -> str:
    return (postgres.socket_dir / "server.log").read_text(errors="replace")


def test_rotate_verifies_and_commits(vault: Vault, postgres: PgServer, pg_role: str) -> None:
    pg_vault(vault)
    before = head(vault.root)
    r = run_subprocess(
        ["rotate", F, "db.password"], cwd=vault.root, env=postgres.env(PGROTATE_ROLE=pg_role)
    )
    assert r.returncode == 0, r.stderr
    new = value(vault.root, "db.password")
    assert postgres.can_login(pg_role, new)
    assert not postgres.can_login(pg_role, OLD)
    assert head(vault.root) != before
    claims = parse_vault_trailers(message(vault.root))
    assert claims.action == "rotate" and claims.verified == {F: ("db.password",)}
    assert claims.generators == {(F, "db.password"): "password:32"}
    assert value(vault.root, "db.password", rev="HEAD~1") == OLD
    output = (r.stdout + r.stderr).decode()
    assert_no_values([new, OLD], output, all_messages(vault.root))
    # (the fixture's CREATE ROLE logged the initial password; the new one never reaches it)
    assert_no_values([new], server_log(postgres))


def test_failing_verify_rolls_back(vault: Vault, postgres: PgServer, pg_role: str) -> None:
    pg_vault(vault)
    snap = snapshot(vault.root)
    # verify connects to a database that does not exist: the login "fails".
    r = run_cli(
        ["rotate", F, "db.password"],
        env=postgres.env(PGROTATE_ROLE=pg_role, PGROTATE_DATABASE="no_such_database"),
    )
    assert r.code == 7
    assert "rolled back: apply ran again with the previous value, nothing was committed" in r.stderr
    assert 'database "no_such_database" does not exist' in r.stderr
    assert postgres.can_login(pg_role, OLD)
    assert snapshot(vault.root) == snap
    assert_no_values([OLD], r.output, all_messages(vault.root))


def test_apply_failure_changes_nothing(vault: Vault, postgres: PgServer) -> None:
    pg_vault(vault)
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password"], env=postgres.env(PGROTATE_ROLE="no_such_role"))
    assert r.code == 7 and "nothing was changed" in r.stderr
    assert snapshot(vault.root) == snap
