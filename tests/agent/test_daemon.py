"""The long-running agent as a real process: SIGHUP, the HTTP trigger, a supervised child."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.agent.conftest import F, World, assert_no_values, wait_for

NEW = "second-Password-2222"
VALUES = ["first-Password-1111", "tok-Abc-123456", NEW]


def _password(w: World) -> str | None:
    try:
        return str(json.loads((w.out / "db.json").read_text())["DB_PASSWORD"])
    except (OSError, ValueError):
        return None


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    sys.stderr.write(err)  # shown by pytest when the test fails
    return proc.returncode, err


def _events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _db(w: World, **extra: object) -> dict[str, object]:
    out: dict[str, object] = {
        "name": "db",
        "path": str(w.out / "db.json"),
        "format": "json",
        "files": [F],
    }
    out.update(extra)
    return out


def test_sighup_triggers_a_fetch(world: World) -> None:
    w = world
    w.write_config([_db(w)], interval="1h")  # no fetch on the interval during this test
    proc = w.start()
    try:
        wait_for(lambda: _password(w) == "first-Password-1111", what="first cycle")
        w.push({"db.password": NEW})
        time.sleep(0.5)
        assert _password(w) == "first-Password-1111"
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: _password(w) == NEW, what="the update after SIGHUP")
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    events = [e["event"] for e in _events(err)]
    assert "sighup" in events and events[-1] == "stopped"
    assert w.status()["applied_commit"] == w.alice.head()
    assert_no_values(err, VALUES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, token: str | None, body: bytes = b"", path: str = "/trigger") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    conn.request("POST", path, body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_http_trigger_needs_the_token(world: World) -> None:
    w = world
    token = "t0ken-" + "x" * 30
    token_file = w.base / "trigger.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = _free_port()
    w.write_config(
        [_db(w)],
        interval="1h",
        trigger={"listen": f"127.0.0.1:{port}", "token_file": str(token_file)},
    )
    proc = w.start()
    try:
        wait_for(lambda: _password(w) == "first-Password-1111", what="first cycle")
        w.push({"db.password": NEW})
        assert _post(port, "wrong-" + "x" * 30) == 403
        assert _post(port, None) == 403
        assert _post(port, token[:-1]) == 403
        assert _post(port, token, body=b"x" * 100_000) == 413
        assert _post(port, token, path="/other") == 404
        time.sleep(1.0)
        assert _password(w) == "first-Password-1111"  # none of these fetched
        assert _post(port, token) == 202
        wait_for(lambda: _password(w) == NEW, what="the update after the trigger")
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    events = [e["event"] for e in _events(err)]
    assert events.count("trigger-refused") == 3 and events.count("trigger") == 1
    assert token not in err and "wrong-" not in err
    assert_no_values(err, VALUES)


def test_trigger_refuses_a_non_loopback_address(world: World) -> None:
    w = world
    token_file = w.base / "trigger.token"
    token_file.write_text("y" * 32)
    w.write_config([_db(w)], trigger={"listen": "0.0.0.0:8787", "token_file": str(token_file)})
    r = w.agent("--once")
    assert r.returncode == 5 and "loopback" in r.stderr


CHILD = """\
import os, signal, sys, time
log = {log!r}
def hup(*_):
    open(log, "a").write("hup %d\\n" % os.getpid())
def term(*_):
    open(log, "a").write("term %d\\n" % os.getpid())
    sys.exit(0)
signal.signal(signal.SIGHUP, hup)
signal.signal(signal.SIGTERM, term)
assert os.path.exists({out!r})  # started only once its output exists
assert "GITVAULT_AGE_KEY_FILE" not in os.environ
open(log, "a").write("start %d\\n" % os.getpid())
while True:
    time.sleep(0.1)
"""


def _child(w: World) -> tuple[Path, list[str]]:
    log = w.base / "child.log"
    script = w.base / "child.py"
    script.write_text(CHILD.format(log=str(log), out=str(w.out / "db.json")))
    return log, [sys.executable, str(script)]


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_supervised_child_gets_hup_on_change_and_term_on_stop(world: World) -> None:
    w = world
    log, argv = _child(w)
    w.write_config([_db(w, notify={"child": "HUP"})], interval="200ms")
    proc = w.start("--", *argv)
    try:
        wait_for(lambda: any(x.startswith("start") for x in _lines(log)), what="child start")
        w.push({"db.password": NEW})
        wait_for(lambda: any(x.startswith("hup") for x in _lines(log)), what="HUP")
        assert _password(w) == NEW
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    kinds = [x.split()[0] for x in _lines(log)]
    assert kinds == ["start", "hup", "term"]
    assert len({x.split()[1] for x in _lines(log)}) == 1  # one process all along


def test_supervised_child_restart(world: World) -> None:
    w = world
    log, argv = _child(w)
    w.write_config([_db(w, notify={"child": "restart", "timeout": "5s"})], interval="200ms")
    proc = w.start("--", *argv)
    try:
        wait_for(lambda: any(x.startswith("start") for x in _lines(log)), what="child start")
        w.push({"db.password": NEW})
        wait_for(
            lambda: [x.split()[0] for x in _lines(log)] == ["start", "term", "start"],
            what="restart",
        )
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    pids = [x.split()[1] for x in _lines(log)]
    assert pids[0] == pids[1] != pids[2]


def test_agent_exits_with_the_child(world: World) -> None:
    w = world
    w.write_config([_db(w)], interval="200ms")
    proc = w.start("--", sys.executable, "-c", "import sys; sys.exit(3)")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "child-exited" in err
