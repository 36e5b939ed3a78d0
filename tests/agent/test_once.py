"""``gitvault agent --once``: one cycle against a real origin, as a deploy script runs it."""

from __future__ import annotations

import json
import stat

from tests.agent.conftest import F, World, assert_no_values


def _db_output(w: World, **extra: object) -> dict[str, object]:
    out: dict[str, object] = {
        "name": "db",
        "path": str(w.out / "db.json"),
        "format": "json",
        "files": [F],
    }
    out.update(extra)
    return out


def test_first_run_applies_and_renders_what_export_gives(world: World) -> None:
    w = world
    w.write_config([_db_output(w)])
    r = w.agent("--once")
    assert r.returncode == 0, r.stderr
    data = json.loads((w.out / "db.json").read_text())
    assert data == {
        "DB_PASSWORD": "first-Password-1111",
        "DB_PORT": 5432,
        "API_TOKEN": "tok-Abc-123456",
    }
    assert stat.S_IMODE((w.out / "db.json").stat().st_mode) == 0o600
    status = w.status()
    head = w.alice.head()
    assert status["applied_commit"] == head and status["state"] == "ok"
    assert status["outputs"]["db"]["rendered_commit"] == head
    assert_no_values(r.stdout + r.stderr + w.status_path.read_text())


def test_jinja2_is_imported_only_for_template_outputs(world: World) -> None:
    import subprocess
    import sys

    w = world
    w.write_config([_db_output(w)])
    code = (
        "import sys\n"
        "from gitvault.cli import main\n"
        f"try:\n    main(['agent', '--config', {str(w.config)!r}, '--once'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "sys.stdout.write('jinja2' if 'jinja2' in sys.modules else 'lean')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=w.env(), capture_output=True, text=True)
    assert r.stdout.endswith("\nlean"), r.stdout + r.stderr
