"""The PostgreSQL example scripts against a real throwaway server."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitvault.rotate.commands import CommandFailed, run_rotation
from gitvault.rotate.generators import parse_generator
from tests.rotate.conftest import PgServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "postgres-rotation"
APPLY = f"sh {EXAMPLE / 'apply.sh'}"
VERIFY = f"sh {EXAMPLE / 'verify.sh'}"
OLD = "initial-Passw0rd"


def rotate(postgres: PgServer, role: str, new: str, **extra: str) -> object:
    return run_rotation(
        file="secrets/prod/db.yaml",
        key="db.password",
        new_value=new,
        old_value=OLD,
        apply=APPLY,
        verify=VERIFY,
        cwd=EXAMPLE,
        timeout=60,
        base_env=postgres.env(PGROTATE_ROLE=role, **extra),
    )


def server_log(postgres: PgServer) -> str:
    return (postgres.socket_dir / "server.log").read_text(errors="replace")


def test_rotation_applies_and_verifies(postgres: PgServer, pg_role: str) -> None:
    new = parse_generator("password:32").generate()
    assert postgres.can_login(pg_role, OLD)
    outcome = rotate(postgres, pg_role, new)
    assert outcome.applied and outcome.verified  # type: ignore[attr-defined]
    assert postgres.can_login(pg_role, new)
    assert not postgres.can_login(pg_role, OLD)
    # log_statement=all is on: the server saw a SCRAM verifier, never the password.
    log = server_log(postgres)
    assert "ALTER ROLE" in log and "SCRAM-SHA-256$4096:" in log
    assert new not in log


def test_failing_verify_rolls_back(postgres: PgServer, pg_role: str) -> None:
    new = parse_generator("password:32").generate()
    # verify connects to a database that does not exist: the login "fails".
    with pytest.raises(CommandFailed) as err:
        rotate(postgres, pg_role, new, PGROTATE_DATABASE="no_such_database")
    exc = err.value
    assert "rolled back: apply ran again with the previous value" in exc.message
    assert not exc.rollback_failed
    assert postgres.can_login(pg_role, OLD)
    assert not postgres.can_login(pg_role, new)
    assert new not in exc.details and OLD not in exc.details
    assert new not in server_log(postgres) and OLD not in exc.message


def test_apply_failure_changes_nothing(postgres: PgServer) -> None:
    new = parse_generator("password:32").generate()
    with pytest.raises(CommandFailed, match="apply command exited with status") as err:
        rotate(postgres, "no_such_role", new)
    assert "nothing was changed" in err.value.message
    assert 'role "no_such_role" does not exist' in err.value.details
    assert new not in server_log(postgres) and new not in err.value.details


def test_verify_detects_trust_authentication(postgres: PgServer) -> None:
    # The admin role logs in without a password ("trust"): verify must not be fooled.
    new = parse_generator("alnum:24").generate()
    with pytest.raises(CommandFailed) as err:
        run_rotation(
            file="f",
            key="k",
            new_value=new,
            old_value=OLD,
            apply=None,
            verify=VERIFY,
            cwd=EXAMPLE,
            timeout=60,
            base_env=postgres.env(PGROTATE_ROLE="gvadmin"),
        )
    assert "the old password still logs in" in err.value.details
