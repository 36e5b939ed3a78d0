"""Shared pieces for the live-delivery tests: roles, the example service, a load loop.

The PostgreSQL server is the suite's throwaway one (tests/rotate/conftest.py,
Unix socket only). The example service (examples/postgres-rotation/service.py)
runs as a real process; :class:`Load` keeps requests flowing from threads and
records every answer, so a test can count failures and see which database
user served each request.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.rotate.conftest import PgServer, postgres  # noqa: F401 - fixture re-export

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "postgres-rotation"
SERVICE = EXAMPLE / "service.py"
APP_NAME = "gitvault-example-service"
FIRST = "first-Passw0rd-e2e"
_ids = itertools.count()


@dataclass(frozen=True)
class Roles:
    group: str
    a: str
    b: str

    @property
    def pair(self) -> str:
        return f"{self.a} {self.b}"

    def url(self, user: str, password: str) -> str:
        return f"postgresql://{user}:{password}@/postgres"


@pytest.fixture
def roles(postgres: PgServer) -> Iterator[Roles]:  # noqa: F811
    """Group role + two login roles (the alternating pair); the first has FIRST."""
    n = f"{os.getpid()}x{next(_ids)}"
    r = Roles(f"e2eapp{n}", f"e2eapp{n}_a", f"e2eapp{n}_b")
    proc = postgres.psql(
        f"CREATE ROLE {r.group} NOLOGIN; "
        f"CREATE ROLE {r.a} LOGIN IN ROLE {r.group} PASSWORD '{FIRST}'; "
        f"CREATE ROLE {r.b} LOGIN IN ROLE {r.group}"
    )
    assert proc.returncode == 0, proc.stderr
    yield r
    postgres.psql(f"DROP ROLE IF EXISTS {r.a}, {r.b}, {r.group}")


def service_users(postgres: PgServer) -> set[str]:  # noqa: F811
    """The database users of every connection the example service holds right now."""
    proc = postgres.psql(
        "SELECT DISTINCT usename FROM pg_stat_activity"
        " WHERE application_name = 'gitvault-example-service'"
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def wait_until(predicate: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``predicate`` until true; return how long it took (fails after ``seconds``)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def client_env(postgres: PgServer) -> dict[str, str]:  # noqa: F811
    """Where the server is, and nothing else: the URI brings user and password."""
    env = postgres.env()
    env.pop("PGUSER", None)
    return env


class ServiceProcess:
    """examples/postgres-rotation/service.py as a child process."""

    def __init__(self, credentials: Path, pidfile: Path, env: dict[str, str], *extra: str) -> None:
        self.pidfile = pidfile
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(SERVICE),
                "--credentials",
                str(credentials),
                "--pidfile",
                str(pidfile),
                "--pool-size",
                "4",
                *extra,
            ],
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise AssertionError(f"service did not start: {line!r} {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.address = line.split()[-1]

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"http://{self.address}{path}", timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def hup(self) -> None:
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self) -> str:
        """Stop the service; return its log (JSON lines)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@dataclass
class Load:
    """Threads sending /query requests until stopped; every answer is recorded."""

    service: ServiceProcess
    threads: int = 4
    sleep: float = 0.05
    results: list[tuple[float, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _work(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                status, body = self.service.get(f"/query?sleep={self.sleep}")
                user = str(body.get("user", ""))
            except Exception as exc:  # a refused/reset connection is a failed request too
                status, user = 0, ""
                with self._lock:
                    self.errors.append(type(exc).__name__)
            with self._lock:
                self.results.append((started, status, user))

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            t = threading.Thread(target=self._work, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(30)

    @property
    def failed(self) -> list[tuple[float, int, str]]:
        with self._lock:
            return [r for r in self.results if r[1] != 200]

    def users_since(self, t: float) -> set[str]:
        with self._lock:
            return {u for (s, code, u) in self.results if s >= t and code == 200}
