"""edit and encrypt into new folders, the bounded re-open loop, and the notes on top of the buffer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gitvault.edit import edit_text
from gitvault.errors import BadInput, ExitCode
from tests.cli.conftest import Vault
from tests.cli.test_edit import script_editor
from tests.conftest import git
from tests.helpers import run_cli, run_subprocess


def _no_plaintext(root: Path, *secrets: bytes) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            data = Path(dirpath, name).read_bytes()
            for secret in secrets:
                assert secret not in data, (dirpath, name, secret)


# ------------------------------------------------------------- new folders


def test_edit_creates_a_file_in_a_new_folder(vault: Vault, tmp_path: Path) -> None:
    target = vault.root / "secrets" / "new-folder" / "deeper" / "app.yaml"
    editor = script_editor(
        tmp_path, 'path.write_text(path.read_text() + "token: typed-Value-123\\n")'
    )
    r = run_cli(["edit", str(target)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert "Traceback" not in r.output
    assert run_cli(["decrypt", str(target), "--extract", "token"]).stdout == "typed-Value-123"
    _no_plaintext(vault.root, b"typed-Value-123")


def test_edit_commit_into_a_new_folder(vault: Vault, tmp_path: Path) -> None:
    target = vault.root / "secrets" / "team-b" / "app.yaml"
    editor = script_editor(
        tmp_path, 'path.write_text(path.read_text() + "token: typed-Value-456\\n")'
    )
    r = run_cli(["edit", str(target), "--commit"], env={"EDITOR": editor})
    assert r.code == 0, r.output
    assert git(vault.root, "ls-files", "secrets/team-b/app.yaml").stdout.strip()
    assert git(vault.root, "status", "--porcelain").stdout == ""


def test_encrypt_output_into_a_new_folder(vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("token: plain-Value-789\n")
    out = vault.root / "secrets" / "fresh" / "app.yaml"
    r = run_cli(["encrypt", str(plain), "-o", str(out)])
    assert r.code == 0, r.output
    assert run_cli(["decrypt", str(out), "--extract", "token"]).stdout == "plain-Value-789"


def test_new_folder_outside_the_repository_is_refused(vault: Vault, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (vault.root / "secrets" / "link").symlink_to(elsewhere)
    called = tmp_path / "called"
    editor = script_editor(tmp_path, f"pathlib.Path({str(called)!r}).write_text('x')")
    r = run_cli(
        ["edit", str(vault.root / "secrets" / "link" / "sub" / "app.yaml")], env={"EDITOR": editor}
    )
    assert r.code == 5, r.output
    assert not called.exists()  # refused before the editor opened
    assert list(elsewhere.iterdir()) == []
    plain = tmp_path / "plain.yaml"
    plain.write_text("token: x\n")
    r = run_cli(
        ["encrypt", str(plain), "-o", str(vault.root / "secrets" / "link" / "sub" / "a.yaml")]
    )
    assert r.code == 5 and list(elsewhere.iterdir()) == []


def test_a_failed_write_reopens_the_editor_on_the_users_text(vault: Vault, tmp_path: Path) -> None:
    """The folder cannot be created (a file took its name meanwhile): the text is not lost."""
    blocker = vault.root / "secrets" / "team-c"
    state = tmp_path / "round"
    seen = tmp_path / "seen"
    editor = script_editor(
        tmp_path,
        f"""
state = pathlib.Path({str(state)!r})
n = int(state.read_text()) if state.exists() else 0
state.write_text(str(n + 1))
if n == 0:
    pathlib.Path({str(blocker)!r}).write_text("in the way")
    path.write_text("token: typed-Value-999\\n")
else:
    pathlib.Path({str(seen)!r}).write_text(path.read_text())
""",
    )
    r = run_cli(["edit", str(blocker / "app.yaml")], env={"EDITOR": editor})
    assert r.code == 5, r.output
    assert "Traceback" not in r.output and "typed-Value-999" not in r.output
    shown = seen.read_text()
    assert shown.startswith("# gitvault: error:") and "team-c" in shown.splitlines()[0]
    assert "token: typed-Value-999" in shown  # what the user typed is still in the buffer


# ------------------------------------------------------------- the bounded loop


def test_unattended_editor_saving_invalid_yaml_gives_up(vault: Vault, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    state = tmp_path / "round"
    editor = script_editor(
        tmp_path,
        f"""
state = pathlib.Path({str(state)!r})
state.write_text(str(int(state.read_text()) + 1 if state.exists() else 1))
path.write_text("db: [broken-Value-321\\n")
""",
    )
    before = vault.secret_file.read_bytes()
    # A real process with no terminal; the timeout only guards the test run.
    r = run_subprocess(
        ["edit", str(vault.secret_file)],
        cwd=vault.root,
        env={"EDITOR": editor, "XDG_RUNTIME_DIR": str(runtime)},
        input=b"",
    )
    assert r.returncode == 5, r.stderr
    assert int(state.read_text()) == 3
    assert b"gitvault: error:" in r.stderr and b"broken-Value-321" not in r.stderr
    assert vault.secret_file.read_bytes() == before
    assert list(runtime.iterdir()) == []  # no plaintext left behind


def test_attended_editor_returning_the_same_rejected_text_gives_up(tmp_path: Path) -> None:
    rounds: list[int] = []

    def editor(path: Path) -> None:
        rounds.append(1)
        path.write_text("a: [\n")

    def validate(text: str) -> list:  # type: ignore[type-arg]
        raise BadInput("not valid")

    with pytest.raises(BadInput) as err:
        edit_text("a: 1\n", validate, editor=editor, attended=True)
    assert len(rounds) == 3 and err.value.exit_code == ExitCode.BAD_INPUT


def test_attended_user_who_keeps_trying_is_not_cut_off(tmp_path: Path) -> None:
    rounds: list[int] = []

    def editor(path: Path) -> None:
        rounds.append(1)
        n = len(rounds)
        path.write_text(f"a: {n}\n" if n == 6 else f"a: [{n}\n")

    def validate(text: str) -> list:  # type: ignore[type-arg]
        if "[" in text:
            raise BadInput("not valid")
        return []

    assert edit_text("a: 0\n", validate, editor=editor, attended=True) is not None
    assert len(rounds) == 6


# ------------------------------------------------------------- notes in the buffer


def test_new_file_template_is_not_kept(vault: Vault, tmp_path: Path) -> None:
    target = vault.root / "secrets" / "templated.yaml"
    seen = tmp_path / "seen"
    editor = script_editor(
        tmp_path,
        f"""
pathlib.Path({str(seen)!r}).write_text(path.read_text())
path.write_text(path.read_text() + "token: abc\\n")
""",
    )
    assert run_cli(["edit", str(target)], env={"EDITOR": editor}).code == 0
    assert seen.read_text().startswith("# gitvault: new vault file")
    assert run_cli(["decrypt", str(target)]).stdout == "token: abc\n"


def test_new_file_saved_empty_creates_nothing(vault: Vault, tmp_path: Path) -> None:
    target = vault.root / "secrets" / "nothing.yaml"
    editor = f"{sys.executable} -c pass"
    r = run_cli(["edit", str(target)], env={"EDITOR": editor})
    assert r.code == 0 and not target.exists()


def test_an_os_error_while_saving_reopens_instead_of_losing_the_text() -> None:
    shown: list[str] = []
    saves: list[int] = []

    def editor(path: Path) -> None:
        shown.append(path.read_text())
        path.write_text("a: typed-by-user\n")

    def save(text: str, docs: list) -> None:  # type: ignore[type-arg]
        saves.append(1)
        if len(saves) == 1:
            raise OSError(28, "No space left on device")

    result = edit_text("a: 1\n", lambda t: [], editor=editor, save=save, attended=True)
    assert result is not None and len(saves) == 2
    assert shown[1].startswith("# gitvault: error: cannot save the file (No space left on device)")
    assert "a: typed-by-user" in shown[1]
