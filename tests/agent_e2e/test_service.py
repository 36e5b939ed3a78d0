"""The example service on its own: swaps its pool on SIGHUP without failing a request.

The credentials file is replaced here the way the agent replaces it (atomic
rename, gitvault.fsutil); the server is the suite's real PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from gitvault.fsutil import atomic_write
from tests.agent_e2e.conftest import (
    FIRST,
    ROOT,
    SERVICE,
    Load,
    Roles,
    ServiceProcess,
    client_env,
    service_users,
    wait_until,
)
from tests.rotate.conftest import PgServer


def write_credentials(path: Path, url: str, previous: str | None = None) -> None:
    values = {"DB_URL": url}
    if previous:
        values["DB_URL_PREVIOUS"] = previous
    atomic_write(path, json.dumps(values).encode(), mode=0o600)


def test_sighup_swaps_to_the_new_role_with_zero_failed_requests(
    postgres: PgServer, roles: Roles, tmp_path: Path
) -> None:
    creds = tmp_path / "db.json"
    first = roles.url(roles.a, FIRST)
    write_credentials(creds, first)
    svc = ServiceProcess(creds, tmp_path / "svc.pid", client_env(postgres))
    try:
        assert svc.get("/query")[1]["user"] == roles.a
        with Load(svc, threads=4, sleep=0.1) as load:
            wait_until(lambda: len(load.results) >= 20, 30, "requests before the swap")
            second_pw = "second-Passw0rd-e2e"
            assert postgres.psql(f"ALTER ROLE {roles.b} PASSWORD '{second_pw}'").returncode == 0
            write_credentials(creds, roles.url(roles.b, second_pw), previous=first)
            svc.hup()
            wait_until(lambda: svc.get("/status")[1]["user"] == roles.b, 30, "the reload")
            reloaded_at = time.monotonic()
            # in-flight requests on the old pool finish, then its connections close
            wait_until(lambda: service_users(postgres) == {roles.b}, 30, "old connections to close")
            n = len(load.results)
            wait_until(lambda: len(load.results) >= n + 20, 30, "requests after the swap")
        assert load.failed == [] and load.errors == []
        users = [u for (_, _, u) in load.results]
        assert users[0] == roles.a and users[-1] == roles.b
        # once the status says b, every request sent later is served as b
        assert load.users_since(reloaded_at) == {roles.b}
        assert svc.get("/status")[1]["reloads"] == 1
    finally:
        log = svc.stop()
    assert FIRST not in log and "second-Passw0rd-e2e" not in log
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert "reloaded" in events and "request-failed" not in events


def test_bad_new_credentials_keep_the_old_pool(
    postgres: PgServer, roles: Roles, tmp_path: Path
) -> None:
    creds = tmp_path / "db.json"
    write_credentials(creds, roles.url(roles.a, FIRST))
    svc = ServiceProcess(creds, tmp_path / "svc.pid", client_env(postgres))
    try:
        with Load(svc, threads=2, sleep=0.02) as load:
            wait_until(lambda: len(load.results) >= 10, 30, "requests")
            write_credentials(creds, roles.url(roles.b, "not-the-Passw0rd"))
            svc.hup()
            wait_until(lambda: svc.get("/status")[1]["reload_errors"] == 1, 30, "the failed reload")
            n = len(load.results)
            wait_until(lambda: len(load.results) >= n + 10, 30, "requests after")
        assert load.failed == []
        assert {u for (_, _, u) in load.results} == {roles.a}
        assert service_users(postgres) == {roles.a}
    finally:
        log = svc.stop()
    assert "not-the-Passw0rd" not in log and FIRST not in log
    assert '"event": "reload-failed"' in log


def test_polling_notices_a_new_file_without_a_signal(
    postgres: PgServer, roles: Roles, tmp_path: Path
) -> None:
    creds = tmp_path / "db.json"
    write_credentials(creds, roles.url(roles.a, FIRST))
    svc = ServiceProcess(creds, tmp_path / "svc.pid", client_env(postgres), "--watch", "0.2")
    try:
        assert postgres.psql(f"ALTER ROLE {roles.b} PASSWORD 'third-Passw0rd-e2e'").returncode == 0
        write_credentials(creds, roles.url(roles.b, "third-Passw0rd-e2e"))
        wait_until(lambda: svc.get("/query")[1]["user"] == roles.b, 30, "the polled reload")
        assert int((tmp_path / "svc.pid").read_text()) == svc.proc.pid
    finally:
        svc.stop()


def test_unusable_credentials_at_start_fail_cleanly(
    postgres: PgServer, roles: Roles, tmp_path: Path
) -> None:
    creds = tmp_path / "db.json"
    for value in (
        roles.url(roles.a, "wrong-Passw0rd-start"),
        "host=x password=wrong-Passw0rd-start =",
    ):
        write_credentials(creds, value)
        proc = subprocess.run(
            [sys.executable, str(SERVICE), "--credentials", str(creds)],
            env={**client_env(postgres), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1
        assert '"event": "start-failed"' in proc.stderr
        assert "Traceback" not in proc.stderr
        assert "wrong-Passw0rd-start" not in proc.stdout + proc.stderr
