"""An ``edit`` whose file changes while the editor is open never overwrites that change.

The editor is a script that announces it is open, waits for the test's go
signal, then changes one line. Meanwhile the test runs ``set`` (or a
``rekey``) as a separate process. Deterministic: the other write always lands
while the editor is open.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

from gitvault.sops.file import parse_vault
from tests.concurrency.conftest import racer_env
from tests.team.conftest import Team

APP = "secrets/dev/app.yaml"
DB = "secrets/prod/db.yaml"


def _waiting_editor(tmp_path: Path, old: str, new: str) -> tuple[str, Path, Path]:
    ready, go = tmp_path / "editor-open", tmp_path / "editor-go"
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys, time\n"
        "path = pathlib.Path(sys.argv[-1])\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        f"while not pathlib.Path({str(go)!r}).exists():\n"
        "    time.sleep(0.01)\n"
        f"path.write_text(path.read_text().replace({old!r}, {new!r}))\n"
    )
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", ready, go


def _edit_while(team: Team, tmp_path: Path, rel: str, old: str, new: str, other: list[str]):  # type: ignore[no-untyped-def]
    editor, ready, go = _waiting_editor(tmp_path, old, new)
    env = racer_env({**team.alice.env, "EDITOR": editor})
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitvault", "edit", rel],
        cwd=team.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    r = team.cli(other)
    assert r.code == 0, r.output
    go.touch()
    _out, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def test_edit_merges_a_set_of_another_key_made_while_the_editor_was_open(
    team: Team, tmp_path: Path
) -> None:
    team.write(APP, "api:\n    token: tok-1\nregion: eu\n")
    code, err = _edit_while(team, tmp_path, APP, "tok-1", "tok-2", ["set", APP, "region", "us"])
    assert code == 0, err
    assert team.values(APP) == {"api": {"token": "tok-2"}, "region": "us"}


def test_edit_refuses_when_set_changed_the_same_key_and_keeps_their_value(
    team: Team, tmp_path: Path
) -> None:
    team.write(APP, "api:\n    token: tok-1\nregion: eu\n")
    code, err = _edit_while(
        team, tmp_path, APP, "tok-1", "tok-mine", ["set", APP, "api.token", "tok-theirs"]
    )
    assert code == 6, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith("gitvault: error: ") and "api.token" in lines[0]
    assert "tok-" not in err  # no value in the message
    assert team.values(APP) == {"api": {"token": "tok-theirs"}, "region": "eu"}


def test_edit_saved_after_a_rekey_keeps_the_rekey(team: Team, tmp_path: Path) -> None:
    team.write(DB, "db:\n    password: p1\n    user: app\n")
    team.commit("seed")
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    code, err = _edit_while(team, tmp_path, DB, "user: app", "user: admin", ["rekey", DB])
    assert code == 0, err
    assert team.values(DB) == {"db": {"password": "p1", "user": "admin"}}
    recipients = parse_vault((team.root / DB).read_bytes(), DB).recipients
    assert team.bob.public not in recipients


def test_edit_merge_keeps_typed_values_and_lists(team: Team, tmp_path: Path) -> None:
    team.write(
        APP,
        "region: eu\ndb:\n    port: 5432\n    tls: true\n    ratio: 0.5\nhosts:\n    - a\n    - b\n",
    )
    code, err = _edit_while(
        team,
        tmp_path,
        APP,
        "region: eu",
        "region: us",
        ["set", APP, "db.port", "6543", "--type", "int"],
    )
    assert code == 0, err
    assert team.values(APP) == {
        "region": "us",
        "db": {"port": 6543, "tls": True, "ratio": 0.5},
        "hosts": ["a", "b"],
    }
