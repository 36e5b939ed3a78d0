"""A throwaway PostgreSQL server for the rotation tests.

``initdb`` + ``pg_ctl`` in a fresh temporary directory, Unix socket only
(``listen_addresses=''``), so nothing listens on the network. The bootstrap
superuser ``gvadmin`` logs in over the socket without a password ("trust", for
the admin only); every other role must present its password (scram-sha-256),
so a login really proves the password.

PostgreSQL refuses to run as root. When the tests run as root (CI, fresh
Debian machines) the server runs as the ``postgres`` system user, or as a
``gitvault-pg`` system user we create with ``useradd`` when that is missing.

Missing PostgreSQL: a clear skip on a developer machine, a FAILURE under CI
(``CI=true``) — run ``scripts/ensure-postgres.sh`` to install it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = "gvadmin"
_RUN_AS = ("postgres", "gitvault-pg")


@dataclass(frozen=True)
class PgServer:
    """How to reach the throwaway server."""

    bindir: Path
    socket_dir: Path
    port: int

    def env(self, **extra: str) -> dict[str, str]:
        """libpq environment for an admin connection, plus ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGHOST=str(self.socket_dir), PGPORT=str(self.port), PGUSER=ADMIN, PGDATABASE="postgres"
        )
        env.update(extra)
        return env

    def psql(self, sql: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["psql", "-X", "-w", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=self.env(**extra),
            text=True,
            capture_output=True,
            check=False,
        )

    def can_login(self, role: str, password: str) -> bool:
        """True when ``role`` logs in with ``password`` (sent via PGPASSWORD)."""
        proc = self.psql("SELECT 1", PGUSER=role, PGPASSWORD=password, PGPASSFILE="/dev/null")
        return proc.returncode == 0 and proc.stdout.strip() == "1"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _find_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _unavailable(reason: str) -> None:
    message = f"{reason}; run scripts/ensure-postgres.sh to install PostgreSQL"
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {message}", pytrace=False)
    pytest.skip(message)


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in _RUN_AS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _RUN_AS[1]],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_RUN_AS[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A running PostgreSQL server for the whole session, removed afterwards."""
    bindir = _find_bindir()
    if bindir is None or shutil.which("psql") is None:
        _unavailable("initdb/pg_ctl/psql not found on PATH or in /usr/lib/postgresql/*/bin")
    assert bindir is not None
    user = _server_user()
    # Not under pytest's 0700 tmp dirs: the server user must be able to enter it.
    base = Path(tempfile.mkdtemp(prefix="gitvault-pg-"))
    base.chmod(0o755)
    data = base / "data"
    as_user: dict[str, object] = {}
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(base)}
    port = 5433 + os.getpid() % 1000  # the socket file name only; nothing listens on TCP

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bindir / args[0]), *args[1:]],
            cwd=base,
            env=env,
            text=True,
            capture_output=True,
            check=False,
            **as_user,  # type: ignore[call-overload]
        )

    init = run(
        "initdb",
        "-D",
        str(data),
        "-U",
        ADMIN,
        "-E",
        "UTF8",
        "--locale=C",
        "--auth-local=scram-sha-256",
        "--auth-host=reject",
        "--no-instructions",
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    (data / "pg_hba.conf").write_text(f"local all {ADMIN} trust\nlocal all all scram-sha-256\n")
    # log_statement=all: tests check that no password ever reaches the server log.
    options = f"-c listen_addresses='' -k {base} -p {port} -c fsync=off -c log_statement=all"
    start = run(
        "pg_ctl",
        "-D",
        str(data),
        "-l",
        str(base / "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        options,
        "start",
    )
    if start.returncode != 0:
        log = (
            (base / "server.log").read_text(errors="replace")[-500:]
            if (base / "server.log").exists()
            else start.stderr
        )
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(f"pg_ctl start failed: {log.strip()}")
    try:
        yield PgServer(bindir=bindir, socket_dir=base, port=port)
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_role(postgres: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A login role with the password ``initial-Passw0rd``, dropped afterwards."""
    role = "app_" + "".join(c for c in request.node.name.lower() if c.isalnum())[-40:]
    created = postgres.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'initial-Passw0rd'")
    assert created.returncode == 0, created.stderr
    yield role
    postgres.psql(f"DROP ROLE IF EXISTS {role}")
