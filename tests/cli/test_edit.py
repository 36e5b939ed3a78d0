"""The edit flow with real editors (ed, vim) and scripted ones: validation loop, cleanup, signals."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli, run_subprocess


def script_editor(tmp_path: Path, body: str, name: str = "editor.py") -> str:
    """An $EDITOR that runs ``body`` with ``path`` bound to the file being edited."""
    script = tmp_path / name
    script.write_text("import sys, pathlib\npath = pathlib.Path(sys.argv[-1])\n" + body + "\n")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def test_edit_with_ed_changes_one_value(vault: Vault) -> None:
    before = vault.secret_file.read_text().splitlines()
    # ed reads its commands from gitvault's stdin: a real editor driven by a script.
    commands = ",s/hunter2hunter2/correct-horse-battery/\nw\nq\n"
    r = run_subprocess(
        ["edit", str(vault.secret_file)],
        cwd=vault.root,
        input=commands.encode(),
        env={"EDITOR": "ed -s"},
    )
    assert r.returncode == 0, r.stderr
    after = vault.secret_file.read_text().splitlines()
    changed = {b.split(":")[0].strip() for a, b in zip(before, after, strict=True) if a != b}
    assert changed <= {"password", "mac", "lastmodified"} and "password" in changed
    assert (
        run_cli(["decrypt", str(vault.secret_file), "--extract", "db.password"]).stdout
        == "correct-horse-battery"
    )


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
def test_edit_with_vim_ex_mode(vault: Vault) -> None:
    editor = "vim -N -u NONE -i NONE -n -es -c '%s/5432/6543/' -c 'wq'"
    r = run_cli(["edit", str(vault.secret_file)], env={"VISUAL": editor, "EDITOR": "false"})
    assert r.code == 0, r.output
    assert run_cli(["decrypt", str(vault.secret_file), "--extract", "db.port"]).stdout == "6543"


def test_noop_edit_is_byte_identical(vault: Vault) -> None:
    before = vault.secret_file.read_bytes()
    # ed rewrites the file with the same bytes: the content hash is unchanged.
    r = run_subprocess(
        ["edit", str(vault.secret_file)], cwd=vault.root, input=b"w\nq\n", env={"EDITOR": "ed -s"}
    )
    assert r.returncode == 0 and b"has not changed" in r.stderr
    assert vault.secret_file.read_bytes() == before


def test_invalid_yaml_reopens_editor_and_keeps_work(vault: Vault, tmp_path: Path) -> None:
    state = tmp_path / "round"
    editor = script_editor(
        tmp_path,
        f"""
state = pathlib.Path({str(state)!r})
n = int(state.read_text()) if state.exists() else 0
state.write_text(str(n + 1))
text = path.read_text()
if n == 0:
    path.write_text(text.replace("port: 5432", "port: [broken"))
else:
    assert "gitvault: error" in text.splitlines()[0], text
    assert "port: [broken" in text  # the user's text is still there
    path.write_text(text.replace("port: [broken", "port: 7000"))
""",
    )
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert state.read_text() == "2"
    assert run_cli(["decrypt", str(vault.secret_file), "--extract", "db.port"]).stdout == "7000"


def test_quitting_without_fixing_aborts_untouched(vault: Vault, tmp_path: Path) -> None:
    before = vault.secret_file.read_bytes()
    state = tmp_path / "round"
    editor = script_editor(
        tmp_path,
        f"""
state = pathlib.Path({str(state)!r})
if not state.exists():
    state.write_text("1")
    path.write_text(path.read_text() + "dup: 1\\ndup: 2\\n")
""",
    )
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 5 and "duplicate key" in r.stderr
    assert vault.secret_file.read_bytes() == before


def test_schema_violation_reopens(vault: Vault, tmp_path: Path) -> None:
    import json

    (vault.root / "schema.json").write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "db": {"type": "object", "properties": {"port": {"type": "integer"}}}
                },
            }
        )
    )
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rotate_after: 90d", "rotate_after: 90d\n    schema: schema.json"
        )
    )
    state = tmp_path / "round"
    editor = script_editor(
        tmp_path,
        f"""
state = pathlib.Path({str(state)!r})
n = int(state.read_text()) if state.exists() else 0
state.write_text(str(n + 1))
text = path.read_text()
if n == 0:
    path.write_text(text.replace("port: 5432", "port: not-a-number"))
else:
    assert "schema" in text.splitlines()[0] and "not-a-number" not in text.splitlines()[0]
    path.write_text(text.replace("port: not-a-number", "port: 1234"))
""",
    )
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert state.read_text() == "2"


def test_edit_creates_new_file_for_rule(vault: Vault, tmp_path: Path) -> None:
    target = vault.root / "secrets" / "new.yaml"
    editor = script_editor(tmp_path, 'path.write_text(path.read_text() + "token: abc123xyz\\n")')
    r = run_cli(["edit", str(target)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert "abc123xyz" not in target.read_text()
    assert run_cli(["decrypt", str(target), "--extract", "token"]).stdout == "abc123xyz"
    outside = vault.root / "notcovered.yaml"
    r = run_cli(["edit", str(outside)], env={"EDITOR": editor})
    assert r.code == 5 and not outside.exists()


def test_plaintext_only_in_private_dir(vault: Vault, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    editor = script_editor(
        tmp_path,
        f"""
import os, stat
pathlib.Path({str(seen)!r}).write_text(str(path) + "\\n" + oct(stat.S_IMODE(os.stat(path).st_mode)) + " " + oct(stat.S_IMODE(os.stat(path.parent).st_mode)))
""",
    )
    before_tmp = set(os.listdir(tempfile.gettempdir()))
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0
    edited, modes = seen.read_text().splitlines()
    assert modes == "0o600 0o700"
    edited_path = Path(edited)
    assert not edited_path.exists() and not edited_path.parent.exists()
    assert not str(edited_path).startswith(str(vault.root))
    assert not str(edited_path).startswith(tempfile.gettempdir())
    assert set(os.listdir(tempfile.gettempdir())) - before_tmp == set()


def test_sigterm_during_edit_cleans_up(vault: Vault, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    seen = tmp_path / "seen"
    editor = script_editor(
        tmp_path,
        f"""
import time
pathlib.Path({str(seen)!r}).write_text(str(path))
time.sleep(60)
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitvault", "edit", str(vault.secret_file)],
        cwd=vault.root,
        env={**os.environ, "EDITOR": editor, "XDG_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.exists(), "the editor never started"
    before = vault.secret_file.read_bytes()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert list(runtime.iterdir()) == []
    assert vault.secret_file.read_bytes() == before


def test_stale_private_dirs_are_cleaned(vault: Vault, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = runtime / f"gitvault-{dead.pid}-deadbeef"
    stale.mkdir()
    (stale / "secrets.yaml").write_text("leftover: plaintext\n")
    r = run_subprocess(
        ["edit", str(vault.secret_file)],
        cwd=vault.root,
        input=b"q\n",
        env={"EDITOR": "ed -s", "XDG_RUNTIME_DIR": str(runtime)},
    )
    assert r.returncode == 0
    assert not stale.exists()


def test_editor_split_like_a_shell(vault: Vault, tmp_path: Path) -> None:
    weird = tmp_path / "dir with space"
    weird.mkdir()
    editor = script_editor(
        weird, 'path.write_text(path.read_text().replace("tok-abc-123", "tok-new-456"))'
    )
    assert " " in editor
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert (
        run_cli(["decrypt", str(vault.secret_file), "--extract", "api_token"]).stdout
        == "tok-new-456"
    )


def test_failing_editor_leaves_file(vault: Vault) -> None:
    before = vault.secret_file.read_bytes()
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": "false"})
    assert r.code == 5 and vault.secret_file.read_bytes() == before
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": "no-such-editor-xyz"})
    assert r.code == 2


def test_new_file_mode_and_atomicity(vault: Vault) -> None:
    mode = stat.S_IMODE(vault.secret_file.stat().st_mode)
    run_cli(["set", str(vault.secret_file), "x", "y1y2y3"])
    assert stat.S_IMODE(vault.secret_file.stat().st_mode) == mode
    leftovers = [p for p in vault.secret_file.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert run_subprocess(["verify"], cwd=vault.root).returncode == 0
