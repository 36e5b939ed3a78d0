"""Outputs: formats as export gives them, templates, groups, notify + health with restore, dry run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import F, World, assert_no_values

NEW = "second-Password-2222"
VALUES = ["first-Password-1111", "tok-Abc-123456", NEW]


def _export(w: World, fmt: str) -> str:
    """What ``gitvault export`` prints for the same file at the agent's commit."""
    env = w.env()
    env["GITVAULT_AGE_KEY_FILE"] = str(w.identity)
    r = subprocess.run(
        [sys.executable, "-m", "gitvault", "export", F, "--format", fmt],
        cwd=w.checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout


def test_formats_hold_what_export_prints(world: World) -> None:
    w = world
    outs = [
        {"name": f, "path": str(w.out / f"app.{f}"), "format": f, "files": [F]}
        for f in ("json", "dotenv", "env", "yaml")
    ]
    outs.append(
        {
            "name": "only",
            "path": str(w.out / "only.env"),
            "format": "dotenv",
            "files": [F],
            "keys": ["DB_PASSWORD"],
            "mode": "0640",
        }
    )
    w.write_config(outs)
    r = w.agent("--once")
    assert r.returncode == 0, r.stderr
    for f in ("json", "dotenv", "env", "yaml"):
        assert (w.out / f"app.{f}").read_text() == _export(w, f), f
        assert stat.S_IMODE((w.out / f"app.{f}").stat().st_mode) == 0o600
    assert (w.out / "only.env").read_text() == "DB_PASSWORD='first-Password-1111'\n"
    assert stat.S_IMODE((w.out / "only.env").stat().st_mode) == 0o640
    # nothing written when nothing changed: same inode, same mtime
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in w.out.iterdir()}
    assert w.agent("--once").returncode == 0
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in w.out.iterdir()} == before


def test_template_renders_and_a_missing_key_renders_nothing(world: World) -> None:
    w = world
    good = w.base / "good.j2"
    good.write_text("postgres://app:{{ DB_PASSWORD }}@db:{{ DB_PORT }}/app\n")
    bad = w.base / "bad.j2"
    bad.write_text("password={{ DB_PASSWORD }}\ntoken={{ NO_SUCH_KEY }}\n")
    w.write_config(
        [
            {
                "name": "url",
                "path": str(w.out / "url"),
                "format": "template",
                "template": "good.j2",
                "files": [F],
            },
            {
                "name": "bad",
                "path": str(w.out / "bad"),
                "format": "template",
                "template": "bad.j2",
                "files": [F],
            },
        ]
    )
    r = w.agent("--once")
    assert r.returncode == 5, r.stdout + r.stderr
    assert (w.out / "url").read_text() == "postgres://app:first-Password-1111@db:5432/app\n"
    assert not (w.out / "bad").exists()  # never partially rendered
    assert "NO_SUCH_KEY" in r.stdout
    status = w.status()
    assert status["outputs"]["bad"]["state"] == "error"
    assert "NO_SUCH_KEY" in status["outputs"]["bad"]["last_error"]
    assert status["outputs"]["url"]["state"] == "ok"
    assert_no_values(r.stdout + r.stderr + w.status_path.read_text(), VALUES)
    # a sandbox escape attempt is refused without rendering
    bad.write_text("{{ DB_PASSWORD.__class__.__mro__[1].__subclasses__() }}\n")
    r = w.agent("--once")
    assert r.returncode == 5 and not (w.out / "bad").exists()
    assert "sandbox" in r.stdout


def test_a_group_switches_together_or_not_at_all(world: World) -> None:
    w = world
    tpl = w.base / "t.j2"
    tpl.write_text("{{ DB_PASSWORD }}\n")
    w.write_config(
        [
            {
                "name": "a",
                "path": str(w.out / "a.json"),
                "format": "json",
                "files": [F],
                "group": "g",
            },
            {
                "name": "b",
                "path": str(w.out / "b.txt"),
                "format": "template",
                "template": "t.j2",
                "files": [F],
                "group": "g",
            },
        ]
    )
    assert w.agent("--once").returncode == 0
    w.push({"db.password": NEW})
    tpl.write_text("{{ DB_PASSWORD }} {{ MISSING }}\n")  # b cannot render: a must not switch
    r = w.agent("--once")
    assert r.returncode == 5, r.stdout
    assert json.loads((w.out / "a.json").read_text())["DB_PASSWORD"] == "first-Password-1111"
    assert (w.out / "b.txt").read_text() == "first-Password-1111\n"
    tpl.write_text("{{ DB_PASSWORD }}\n")
    assert w.agent("--once").returncode == 0
    assert json.loads((w.out / "a.json").read_text())["DB_PASSWORD"] == NEW
    assert (w.out / "b.txt").read_text() == NEW + "\n"


def _script(path: Path, body: str) -> list[str]:
    path.write_text(body)
    return [sys.executable, str(path)]


def test_failing_health_restores_the_previous_output_and_notifies_again(world: World) -> None:
    w = world
    log = w.base / "notified.log"
    notify = _script(w.base / "notify.py", f"open({str(log)!r}, 'a').write('reload\\n')\n")
    # healthy only while the output holds the first password (a service that cannot use the new one)
    health = _script(
        w.base / "health.py",
        "import json, sys\n"
        f"d = json.load(open({str(w.out / 'db.json')!r}))\n"
        "sys.exit(0 if d['DB_PASSWORD'].startswith('first') else 1)\n",
    )
    w.write_config(
        [
            {
                "name": "db",
                "path": str(w.out / "db.json"),
                "format": "json",
                "files": [F],
                "notify": {"command": notify},
                "health": {"command": health, "attempts": 2, "interval": "100ms"},
            }
        ]
    )
    assert w.agent("--once").returncode == 0
    assert log.read_text() == "reload\n"
    first = (w.out / "db.json").read_bytes()
    w.push({"db.password": NEW})
    r = w.agent("--once")
    assert r.returncode == 7, r.stdout + r.stderr
    assert (w.out / "db.json").read_bytes() == first  # restored
    assert log.read_text() == "reload\n" * 3  # the new output, then the restored one
    status = w.status()
    assert status["outputs"]["db"]["state"] == "error"
    assert "restored" in status["outputs"]["db"]["last_error"]
    assert_no_values(r.stdout + r.stderr + w.status_path.read_text(), VALUES)
    # the same commit is not retried (no reload storm)...
    assert w.agent("--once").returncode == 7
    assert log.read_text() == "reload\n" * 3
    # ...a newer one is
    w.push({"db.password": "first-and-better-3"})
    assert w.agent("--once").returncode == 0
    assert json.loads((w.out / "db.json").read_text())["DB_PASSWORD"] == "first-and-better-3"
    assert w.status()["state"] == "ok"


def test_signal_to_a_pidfile(world: World) -> None:
    w = world
    got = w.base / "got"
    ready = w.base / "ready"
    svc = subprocess.Popen(
        _script(
            w.base / "svc.py",
            "import signal, time\n"
            f"signal.signal(signal.SIGUSR1, lambda *a: open({str(got)!r}, 'a').write('usr1\\n'))\n"
            f"open({str(ready)!r}, 'w').write('x')\n"
            "time.sleep(60)\n",
        )
    )
    try:
        pidfile = w.base / "svc.pid"
        pidfile.write_text(f"{svc.pid}\n")
        from tests.agent.conftest import wait_for

        wait_for(ready.exists, what="service ready")
        w.write_config(
            [
                {
                    "name": "db",
                    "path": str(w.out / "db.json"),
                    "format": "json",
                    "files": [F],
                    "notify": {"signal": "USR1", "pidfile": str(pidfile)},
                }
            ]
        )
        assert w.agent("--once").returncode == 0
        wait_for(lambda: got.exists() and got.read_text() == "usr1\n", what="USR1")
        assert w.agent("--once").returncode == 0  # unchanged: no signal
        w.push({"db.password": NEW})
        assert w.agent("--once").returncode == 0
        wait_for(lambda: got.read_text() == "usr1\n" * 2, what="second USR1")
    finally:
        svc.kill()
        svc.wait()


def test_dry_run_names_keys_and_writes_nothing(world: World) -> None:
    w = world
    w.write_config([{"name": "db", "path": str(w.out / "db.json"), "format": "json", "files": [F]}])
    r = w.agent("--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["dry_run"] and report["outputs"][0]["action"] == "create"
    assert report["outputs"][0]["keys"]["added"] == ["API_TOKEN", "DB_PASSWORD", "DB_PORT"]
    assert not w.out.exists() and not w.status_path.exists()
    assert w.agent("--once").returncode == 0
    status_before = w.status_path.read_bytes()
    output_before = (w.out / "db.json").read_bytes()
    w.push({"db.password": NEW, "extra": "added-Value-77"})
    r = w.agent("--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["outputs"][0]["action"] == "change"
    assert report["outputs"][0]["keys"] == {
        "added": ["EXTRA"],
        "changed": ["DB_PASSWORD"],
        "removed": [],
    }
    assert_no_values(r.stdout + r.stderr, [*VALUES, "added-Value-77"])
    assert (w.out / "db.json").read_bytes() == output_before
    assert w.status_path.read_bytes() == status_before
    r = w.agent("--dry-run")
    assert "~DB_PASSWORD" in r.stdout and "+EXTRA" in r.stdout
    assert w.agent("--once").returncode == 0
    assert json.loads((w.out / "db.json").read_text())["EXTRA"] == "added-Value-77"


def test_bad_config_is_exit_5_with_one_line(world: World) -> None:
    w = world
    w.write_config(
        [
            {
                "name": "db",
                "path": str(w.out / "db.json"),
                "format": "json",
                "files": [F],
                "mode": "0644",
            }
        ]
    )
    r = w.agent("--once")
    assert r.returncode == 5
    assert r.stderr.startswith("gitvault: error:") and "others" in r.stderr
    w.write_config(
        [{"name": "db", "path": str(w.out / "db.json"), "files": [F]}], require_signed_bi=["x"]
    )
    r = w.agent("--once")
    assert r.returncode == 5 and "require_signed_bi" in r.stderr
    assert not os.path.exists(w.checkout)


def test_grace_period_delivers_name_previous_like_export(world: World) -> None:
    w = world
    a = w.alice
    policy = a.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "    rotate_after: 90d\n", "    rotate_after: 90d\n    grace: 1d\n"
        )
    )
    a.commit_all("grace period for rotations")
    a.git("push", "-q", "origin", "HEAD:main")
    w.write_config(
        [
            {"name": "db", "path": str(w.out / "db.json"), "format": "json", "files": [F]},
            {
                "name": "pw",
                "path": str(w.out / "pw.env"),
                "format": "dotenv",
                "files": [F],
                "keys": ["DB_PASSWORD"],
            },
        ]
    )
    assert w.agent("--once").returncode == 0
    assert "DB_PASSWORD_PREVIOUS" not in json.loads((w.out / "db.json").read_text())
    w.push({"db.password": NEW})
    r = w.agent("--once")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads((w.out / "db.json").read_text())
    assert data["DB_PASSWORD"] == NEW and data["DB_PASSWORD_PREVIOUS"] == "first-Password-1111"
    assert (w.out / "db.json").read_text() == _export(w, "json")
    assert (w.out / "pw.env").read_text() == (
        f"DB_PASSWORD='{NEW}'\nDB_PASSWORD_PREVIOUS='first-Password-1111'\n"
    )


def test_an_unwritable_output_fails_its_group_only(world: World) -> None:
    w = world
    w.out.mkdir(parents=True)
    (w.out / "not-a-dir").write_text("x")
    w.write_config(
        [
            {"name": "ok", "path": str(w.out / "ok.json"), "format": "json", "files": [F]},
            {
                "name": "bad",
                "path": str(w.out / "not-a-dir" / "db.json"),
                "format": "json",
                "files": [F],
            },
        ]
    )
    r = w.agent("--once")
    assert r.returncode == 5, r.stdout + r.stderr
    assert r.stderr.count("Traceback") == 0
    assert (w.out / "ok.json").exists()
    status = w.status()
    assert status["outputs"]["bad"]["state"] == "error" and status["outputs"]["ok"]["state"] == "ok"
    assert [p.name for p in w.out.iterdir() if ".gvagent-" in p.name] == []
    assert_no_values(r.stdout + r.stderr + w.status_path.read_text(), VALUES)


def test_env_outputs_refuse_names_that_change_how_programs_run(world: World) -> None:
    w = world
    w.push({"ld_preload": "/tmp/evil.so"})
    outs = [{"name": "env", "path": str(w.out / "app.env"), "format": "env", "files": [F]}]
    w.write_config(outs)
    r = w.agent("--once")
    assert r.returncode == 5 and "LD_PRELOAD" in r.stdout, r.stdout
    assert not (w.out / "app.env").exists()
    outs[0]["allow_env"] = ["LD_PRELOAD"]
    w.write_config(outs)
    assert w.agent("--once").returncode == 0
    assert "LD_PRELOAD=" in (w.out / "app.env").read_text()


def test_logs_to_a_file(world: World) -> None:
    w = world
    log = w.base / "agent.jsonl"
    w.write_config(
        [{"name": "db", "path": str(w.out / "db.json"), "format": "json", "files": [F]}],
        log=str(log),
    )
    r = w.agent("--once")
    assert r.returncode == 0
    assert '"event"' not in r.stderr
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events[-1] == "cycle" and "output-changed" in events
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert_no_values(log.read_text(), VALUES)
