"""An example service that keeps serving while its database credentials rotate.

It holds a small pool of PostgreSQL connections (psycopg 3) and answers HTTP
requests with a query. The credentials come from the JSON file that
``gitvault agent`` renders (one flat object, e.g. ``{"DB_URL": "postgresql://…"}``);
on SIGHUP — what the agent sends after it replaced the file — or when polling
notices a new version, it:

1. reads the file (gitvault.agentclient: whole old or whole new, never torn);
2. opens a NEW pool with the new credentials and proves it with ``SELECT 1``;
   if that fails it keeps the old pool and says so (the old credentials still
   work: with alternating users the previous role stays valid until the next
   rotation);
3. swaps the pool reference: new requests take new connections;
4. closes the old pool: idle connections at once, busy ones when the request
   holding them finishes. No in-flight request is interrupted.

    python service.py --credentials /run/app/db.json --key DB_URL \\
        --listen 127.0.0.1:8080 --pidfile /run/app/service.pid

Endpoints: ``GET /query[?sleep=S]`` runs ``SELECT current_user`` (after
``pg_sleep(S)``, to hold a connection across a swap) and returns
``{"user": …, "generation": …}``; ``GET /status`` returns counters. The service
logs JSON lines to stderr and never a password or a URI, only the user name.
The admin side (where the server is) comes from the URI or libpq's PG* variables.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from gitvault.agentclient import OutputError, OutputWatcher

APP_NAME = "gitvault-example-service"


def log(event: str, **fields: Any) -> None:
    """One JSON line on stderr. Callers pass names and counts, never a credential."""
    record = {"ts": round(time.time(), 3), "event": event, **fields}
    print(json.dumps(record), file=sys.stderr, flush=True)


class PoolClosed(Exception):
    """The pool was swapped out before this request got a connection: use the new one."""


class Pool:
    """At most ``size`` connections for one set of credentials."""

    def __init__(self, conninfo: str, size: int, generation: int) -> None:
        self._conninfo = conninfo
        self.size = size
        self.generation = generation
        self.user = str(conninfo_to_dict(conninfo).get("user", ""))
        self._idle: list[psycopg.Connection[Any]] = []
        self._open = 0
        self._closed = False
        self._cond = threading.Condition()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo, autocommit=True, application_name=APP_NAME)

    def prove(self) -> None:
        """Open one connection and run ``SELECT 1``; it stays in the pool."""
        conn = self._connect()
        conn.execute("SELECT 1").fetchone()
        with self._cond:
            self._open += 1
            self._idle.append(conn)

    @contextmanager
    def connection(self, timeout: float = 10.0) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one request, returned (or closed) afterwards."""
        conn = self._acquire(timeout)
        broken = True
        try:
            yield conn
            broken = False
        finally:
            self._release(conn, broken or conn.closed or conn.broken)

    def _acquire(self, timeout: float) -> psycopg.Connection[Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed
                if self._idle:
                    return self._idle.pop()
                if self._open < self.size:
                    self._open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    raise TimeoutError("no free database connection")
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def _release(self, conn: psycopg.Connection[Any], broken: bool) -> None:
        with self._cond:
            if self._closed or broken:
                self._open -= 1
                close = True
            else:
                self._idle.append(conn)
                close = False
            self._cond.notify()
        if close:
            conn.close()

    def close(self) -> None:
        """Close idle connections now; busy ones close when their request ends."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            conn.close()


class Service:
    """The pool currently in use and the reload logic."""

    def __init__(self, credentials: Path, key: str, pool_size: int) -> None:
        self.watcher = OutputWatcher(credentials, fmt="json")
        self.key = key
        self.pool_size = pool_size
        self.generation = 0
        self.reloads = 0
        self.reload_errors = 0
        self.served = 0
        self.failed = 0
        self._swap = threading.Lock()
        self._counters = threading.Lock()
        self._conninfo = ""
        self.pool = self._new_pool(self._read_conninfo(initial=True))

    def _read_conninfo(self, *, initial: bool = False) -> str:
        if not initial:
            self.watcher.check()
        values = self.watcher.current
        if self.watcher.last_error:
            raise OutputError(self.watcher.last_error)
        value = values.get(self.key)
        if not isinstance(value, str) or not value:
            raise OutputError(f"{self.watcher.path}: no string value named {self.key}")
        return value

    def _new_pool(self, conninfo: str) -> Pool:
        pool = Pool(conninfo, self.pool_size, self.generation + 1)
        pool.prove()  # raises (psycopg.Error) when the credentials do not work
        self.generation = pool.generation
        self._conninfo = conninfo
        return pool

    def reload(self) -> None:
        """Switch to the credentials in the file, if they changed and work."""
        with self._swap:
            try:
                conninfo = self._read_conninfo()
            except OutputError as exc:
                self.reload_errors += 1
                log("reload-failed", reason=str(exc), keeping=self.pool.user)
                return
            if conninfo == self._conninfo:
                log("reload-unchanged", user=self.pool.user)
                return
            try:
                new = self._new_pool(conninfo)
            except psycopg.Error as exc:
                self.reload_errors += 1
                # psycopg's message names the user and the server, not the password.
                log("reload-failed", reason=type(exc).__name__, keeping=self.pool.user)
                return
            old, self.pool = self.pool, new
            old.close()
            self.reloads += 1
            log("reloaded", user=new.user, previous=old.user, generation=new.generation)

    def query(self, sleep: float) -> dict[str, Any]:
        while True:
            # One read of self.pool: once a request holds a connection it finishes
            # on it, even if a swap happens meanwhile.
            pool = self.pool
            try:
                with pool.connection() as conn:
                    if sleep > 0:
                        conn.execute("SELECT pg_sleep(%s)", (sleep,))
                    row = conn.execute("SELECT current_user").fetchone()
            except PoolClosed:
                continue  # swapped before we got a connection: nothing ran yet
            assert row is not None
            return {"user": row[0], "generation": pool.generation}

    def count(self, *, failed: bool) -> None:
        with self._counters:
            if failed:
                self.failed += 1
            else:
                self.served += 1

    def status(self) -> dict[str, Any]:
        return {
            "user": self.pool.user,
            "generation": self.generation,
            "reloads": self.reloads,
            "reload_errors": self.reload_errors,
            "served": self.served,
            "failed": self.failed,
            "pid": os.getpid(),
        }


def make_handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/status":
                self._reply(200, service.status())
                return
            if url.path != "/query":
                self._reply(404, {"error": "not found"})
                return
            try:
                sleep = float(parse_qs(url.query).get("sleep", ["0"])[0])
                result = service.query(min(max(sleep, 0.0), 5.0))
            except Exception as exc:
                service.count(failed=True)
                log("request-failed", error=type(exc).__name__)
                self._reply(500, {"error": type(exc).__name__})
                return
            service.count(failed=False)
            self._reply(200, result)

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would drown the reload events

    return Handler


def wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            log("no-credentials", path=str(path))
            sys.exit(1)
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--credentials", type=Path, required=True, help="the agent's JSON output")
    parser.add_argument("--key", default="DB_URL", help="name of the postgresql:// URI in it")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (0: any free port)")
    parser.add_argument("--pidfile", type=Path, help="write our PID here (for the agent's notify)")
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--watch", type=float, default=0, help="also poll the file every N s")
    parser.add_argument("--wait", type=float, default=30, help="wait N s for the file to appear")
    args = parser.parse_args(argv)

    wake = threading.Event()
    stop = threading.Event()
    # First thing: a SIGHUP that arrives while we start (the agent rendered a new
    # version) must not kill us (the default action); it just asks for a reload.
    # The handler only sets a flag: the reload runs in its own thread, never
    # inside the signal handler, and requests keep being served meanwhile.
    signal.signal(signal.SIGHUP, lambda *_: wake.set())
    wait_for(args.credentials, args.wait)
    try:
        service = Service(args.credentials, args.key, args.pool_size)
    except (OutputError, psycopg.Error) as exc:
        # The type only: a libpq message about a malformed conninfo can quote it.
        reason = str(exc) if isinstance(exc, OutputError) else type(exc).__name__
        log("start-failed", reason=reason)
        sys.exit(1)

    def reloader() -> None:
        while not stop.is_set():
            wake.wait()
            wake.clear()
            if not stop.is_set():
                service.reload()

    threading.Thread(target=reloader, name="reloader", daemon=True).start()
    if args.watch > 0:

        def poll() -> None:
            while not stop.wait(args.watch):
                wake.set()

        threading.Thread(target=poll, name="poll", daemon=True).start()

    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(service))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if args.pidfile:
        args.pidfile.write_text(f"{os.getpid()}\n")
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    log("listening", address=f"{bound_host}:{bound_port}", user=service.pool.user)
    print(f"listening on {bound_host}:{bound_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stop.set()
        wake.set()
        service.pool.close()
        log("stopped", served=service.served, failed=service.failed)


if __name__ == "__main__":
    main()
