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


class Endpoint:
    """The example service's HTTP side, wherever the process came from."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"http://{self.address}{path}", timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


class ServiceProcess(Endpoint):
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
        super().__init__(line.split()[-1])

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

    service: Endpoint
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


# ------------------------------------------------------------ a vault to deliver


def gv(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m gitvault ARGS`` as a real process (this tree first on the path)."""
    full = {**os.environ, **(env or {})}
    full["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        env=full,
        input=input,
        text=True,
        capture_output=True,
        check=False,
    )


def run_git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


DB_FILE = "secrets/production/db.yaml"


@dataclass
class Delivery:
    """A bare origin, a writer's clone with a policy, and an agent configuration."""

    base: Path
    origin: Path
    writer: Path
    writer_key: Path
    ci_key: Path
    roles: Roles
    pg: PgServer | None
    interval: float = 1.0

    @property
    def run_dir(self) -> Path:
        return self.base / "run"

    @property
    def output(self) -> Path:
        return self.run_dir / "db.json"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "service.pid"

    @property
    def status(self) -> Path:
        return self.base / "agent" / "status.json"

    def writer_env(self) -> dict[str, str]:
        return {"GITVAULT_AGE_KEY_FILE": str(self.writer_key)}

    def agent_config(
        self, *, notify: bool = True, health: str | None = None, child: bool = False
    ) -> Path:
        """Write the agent's configuration; ``notify`` adds SIGHUP to the service's pidfile
        (``child``: to the command the agent supervises instead)."""
        output: dict[str, object] = {
            "name": "db",
            "path": str(self.output),
            "format": "json",
            "files": [DB_FILE],
            "keys": ["DB_URL"],
        }
        if child:
            output["notify"] = {"child": "HUP"}
        elif notify:
            output["notify"] = {"signal": "HUP", "pidfile": str(self.pidfile)}
        if health:
            output["health"] = {
                "command": [sys.executable, "-c", HEALTH, health],
                "timeout": "10s",
                "attempts": 3,
                "interval": "0.5s",
            }
        config = {
            "remote": str(self.origin),
            "branch": "main",
            "checkout": str(self.base / "agent" / "checkout"),
            "interval": f"{self.interval}s",
            "jitter": 0.1,
            "identity": str(self.ci_key),
            "status": str(self.status),
            "outputs": [output],
        }
        name = "agent-child.yaml" if child else "agent.yaml" if notify else "agent-bootstrap.yaml"
        path = self.base / "agent" / name
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def current_url(self) -> str:
        r = gv("decrypt", DB_FILE, "--extract", "db.url", cwd=self.writer, env=self.writer_env())
        assert r.returncode == 0, r.stderr
        return r.stdout

    def rotate(self) -> str:
        """One alternating-users rotation in the writer's clone, committed and pushed."""
        assert self.pg is not None
        env = {
            **self.pg.env(PGROTATE_ROLES=self.roles.pair),
            **self.writer_env(),
            "GITVAULT": f"{sys.executable} -m gitvault",
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.run(
            ["sh", str(EXAMPLE / "rotate-alternating.sh"), DB_FILE, "db.url"],
            cwd=self.writer,
            env=env,
            text=True,
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        run_git(self.writer, "push", "-q", "origin", "main")
        return run_git(self.writer, "rev-parse", "HEAD")


HEALTH = (
    "import sys, urllib.request\n"
    "urllib.request.urlopen(open(sys.argv[1]).read().strip() + '/query', timeout=5).read()\n"
)


def make_delivery(base: Path, pg: PgServer | None, roles: Roles) -> Delivery:
    """Keys, a bare origin, a writer with the policy and the first credential, pushed."""
    keys = base / "keys"
    keys.mkdir()
    publics = {}
    for name in ("alice", "ci-production"):
        r = gv("keygen", "-o", str(keys / f"{name}.txt"), cwd=base)
        assert r.returncode == 0, r.stderr
        publics[name] = r.stdout.strip().splitlines()[-1]
    origin = base / "origin.git"
    run_git(base, "init", "-q", "--bare", str(origin))
    writer = base / "writer"
    run_git(base, "clone", "-q", str(origin), str(writer))
    (writer / ".gitvault.yaml").write_text(
        "version: 1\n"
        "recipients:\n"
        f"  alice: {publics['alice']}\n"
        f"  ci-production: {publics['ci-production']}\n"
        "rules:\n"
        '  - path: "secrets/production/**"\n'
        "    recipients: [alice, ci-production]\n"
        "    grace: 1h\n"
        "    keys:\n"
        "      db.url:\n"
        f'        apply: "sh {EXAMPLE / "alternating-apply.sh"}"\n'
        f'        verify: "sh {EXAMPLE / "alternating-verify.sh"}"\n'
        "        timeout: 60s\n"
    )
    d = Delivery(base, origin, writer, keys / "alice.txt", keys / "ci-production.txt", roles, pg)
    r = gv("init", "--no-hooks", "--name", "alice", cwd=writer, env=d.writer_env())
    assert r.returncode == 0, r.stderr
    secret = writer / DB_FILE
    secret.parent.mkdir(parents=True)
    secret.write_text(f"db:\n    url: {roles.url(roles.a, FIRST)}\n")
    r = gv("encrypt", DB_FILE, "--in-place", cwd=writer, env=d.writer_env())
    assert r.returncode == 0, r.stderr
    run_git(writer, "add", "-A")
    run_git(writer, "commit", "-q", "-m", "first database credential")
    run_git(writer, "push", "-q", "origin", "HEAD:main")
    (base / "agent").mkdir()
    d.run_dir.mkdir()
    return d


class AgentProcess:
    """``gitvault agent --config CFG`` running in the background; its log in a file."""

    def __init__(
        self,
        config: Path,
        log: Path,
        child: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        self._fh = log.open("w")
        supervised = ["--", *child] if child else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gitvault", "agent", "--config", str(config), *supervised],
            env={**(env or os.environ), "PYTHONPATH": str(ROOT)},
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()
        return self.log.read_text()
