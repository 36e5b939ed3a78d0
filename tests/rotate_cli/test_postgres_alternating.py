"""The alternating-users strategy end to end: two roles, `gitvault rotate` switches.

examples/postgres-rotation/rotate-alternating.sh feeds `gitvault rotate --stdin`
the next `db.url` (the other role, a new password); the policy runs
alternating-apply.sh / alternating-verify.sh against the throwaway server from
tests/rotate/conftest.py. What must hold after every rotation: the new role logs
in with the new password, the previously active role still logs in (consumers
that have not switched keep working), and the role two rotations back lost its
old password.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli
from tests.rotate.conftest import PgServer
from tests.rotate_cli.conftest import (
    F,
    all_messages,
    assert_no_values,
    head,
    set_policy,
    snapshot,
    value,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "postgres-rotation"
FIRST = "first-Passw0rd-alt"
_ids = itertools.count()


@dataclass(frozen=True)
class Roles:
    group: str
    a: str
    b: str

    @property
    def env(self) -> str:
        return f"{self.a} {self.b}"


@pytest.fixture
def roles(postgres: PgServer) -> Iterator[Roles]:
    """A NOLOGIN group role and two login roles in it; the first has a password."""
    n = next(_ids)
    r = Roles(f"altapp{n}", f"altapp{n}_a", f"altapp{n}_b")
    proc = postgres.psql(
        f"CREATE ROLE {r.group} NOLOGIN; "
        f"CREATE ROLE {r.a} LOGIN IN ROLE {r.group} PASSWORD '{FIRST}'; "
        f"CREATE ROLE {r.b} LOGIN IN ROLE {r.group}; "
        f"CREATE TABLE IF NOT EXISTS alt_items{n} (id int); "
        f"GRANT SELECT ON alt_items{n} TO {r.group}"
    )
    assert proc.returncode == 0, proc.stderr
    yield r
    postgres.psql(f"DROP TABLE IF EXISTS alt_items{n}; DROP ROLE IF EXISTS {r.a}, {r.b}, {r.group}")


def parts(uri: str) -> tuple[str, str]:
    split = urlsplit(uri)
    assert split.username and split.password
    return split.username, split.password


def setup_vault(vault: Vault, roles: Roles) -> None:
    r = run_cli(
        ["set", F, "db.url", "--stdin", "--commit"],
        input=f"postgresql://{roles.a}:{FIRST}@/postgres",
    )
    assert r.code == 0, r.output
    set_policy(
        vault.root,
        f"""
    keys:
      db.url:
        apply: "sh {EXAMPLE / "alternating-apply.sh"}"
        verify: "sh {EXAMPLE / "alternating-verify.sh"}"
        timeout: 60s
""",
    )


def run_driver(
    vault: Vault, postgres: PgServer, roles: Roles, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = postgres.env(PGROTATE_ROLES=roles.env, GITVAULT=f"{sys.executable} -m gitvault", **extra)
    return subprocess.run(
        ["sh", str(EXAMPLE / "rotate-alternating.sh"), F, "db.url"],
        cwd=vault.root,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )


def test_each_rotation_switches_role_and_keeps_the_previous_valid(
    vault: Vault, postgres: PgServer, roles: Roles
) -> None:
    setup_vault(vault, roles)
    history = [(roles.a, FIRST)]
    for _ in range(3):
        before = head(vault.root)
        r = run_driver(vault, postgres, roles)
        assert r.returncode == 0, r.stderr
        assert head(vault.root) != before
        user, password = parts(value(vault.root, "db.url"))
        prev_user, prev_password = history[-1]
        assert user != prev_user and user in (roles.a, roles.b)
        assert password != prev_password
        assert postgres.can_login(user, password)
        # the previous credential still works: nobody holding it is cut off
        assert postgres.can_login(prev_user, prev_password)
        if len(history) >= 2:
            # two rotations back: same role as now, its old password is gone
            old_user, old_password = history[-2]
            assert old_user == user
            assert not postgres.can_login(old_user, old_password)
        history.append((user, password))
        assert "alternating-verify.sh" not in r.stderr  # command output only on failure
    secrets = [p for _, p in history]
    assert_no_values(secrets, all_messages(vault.root))
    log = (postgres.socket_dir / "server.log").read_text(errors="replace")
    assert_no_values(secrets[1:], log)  # only SCRAM verifiers reached the server


def test_failing_check_query_rolls_back(vault: Vault, postgres: PgServer, roles: Roles) -> None:
    setup_vault(vault, roles)
    snap = snapshot(vault.root)
    r = run_driver(vault, postgres, roles, PGROTATE_CHECK_SQL="SELECT * FROM no_such_table")
    assert r.returncode == 7, r.stderr
    assert "rolled back" in r.stderr and "the check query failed" in r.stderr
    assert snapshot(vault.root) == snap
    assert value(vault.root, "db.url") == f"postgresql://{roles.a}:{FIRST}@/postgres"
    assert postgres.can_login(roles.a, FIRST)


def test_check_query_passes_with_shared_grants(
    vault: Vault, postgres: PgServer, roles: Roles
) -> None:
    setup_vault(vault, roles)
    table = "alt_items" + roles.group.removeprefix("altapp")
    r = run_driver(vault, postgres, roles, PGROTATE_CHECK_SQL=f"SELECT count(*) FROM {table}")  # noqa: S608 - test-made name
    assert r.returncode == 0, r.stderr
    assert parts(value(vault.root, "db.url"))[0] == roles.b


def test_apply_refuses_the_active_role(vault: Vault, postgres: PgServer, roles: Roles) -> None:
    setup_vault(vault, roles)
    snap = snapshot(vault.root)
    same_role = f"postgresql://{roles.a}:Another-Passw0rd-1@/postgres"
    r = run_cli(
        ["rotate", F, "db.url", "--stdin"],
        input=same_role,
        env=postgres.env(PGROTATE_ROLES=roles.env),
    )
    assert r.code == 7
    assert "is the active role" in r.stderr
    assert snapshot(vault.root) == snap
    assert postgres.can_login(roles.a, FIRST)


def test_apply_refuses_a_role_outside_the_pair(
    vault: Vault, postgres: PgServer, roles: Roles
) -> None:
    setup_vault(vault, roles)
    snap = snapshot(vault.root)
    r = run_cli(
        ["rotate", F, "db.url", "--stdin"],
        input="postgresql://gvadmin:Hijack-Passw0rd-1@/postgres",
        env=postgres.env(PGROTATE_ROLES=roles.env),
    )
    assert r.code == 7
    assert "is not one of PGROTATE_ROLES" in r.stderr
    assert snapshot(vault.root) == snap
    assert "Hijack-Passw0rd-1" not in (postgres.socket_dir / "server.log").read_text(
        errors="replace"
    )


def test_verify_fails_when_the_previous_role_no_longer_logs_in(
    vault: Vault, postgres: PgServer, roles: Roles
) -> None:
    # Someone changed the active role's password behind the vault's back: switching now
    # would leave consumers still on it failing, so verify refuses and nothing commits.
    setup_vault(vault, roles)
    assert (
        postgres.psql(f"ALTER ROLE {roles.a} PASSWORD 'changed-Passw0rd-elsewhere'").returncode == 0
    )
    snap = snapshot(vault.root)
    r = run_driver(vault, postgres, roles)
    assert r.returncode == 7, r.stderr
    assert "the previous role" in r.stderr and "no longer logs in" in r.stderr
    assert snapshot(vault.root) == snap


def test_verify_detects_a_role_that_logs_in_without_its_password(postgres: PgServer) -> None:
    # gvadmin logs in by "trust" on this server: any password works, so a successful
    # login proves nothing and verify must say so.
    env = postgres.env(GITVAULT_NEW_VALUE="postgresql://gvadmin:Any-Passw0rd-9@/postgres")
    proc = subprocess.run(
        ["sh", str(EXAMPLE / "alternating-verify.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "logs in with a wrong password" in proc.stderr
    assert "Any-Passw0rd-9" not in proc.stdout + proc.stderr
