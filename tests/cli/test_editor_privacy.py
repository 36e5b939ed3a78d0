"""Real editors, configured the way people configure them, leave no plaintext outside the private dir.

Each test gives the editor a user configuration that keeps history on disk
(vim: undofile, viminfo, backups, swap in ~/.vim; neovim: undofile and shada;
emacs: numbered backups in ~/ebackups; nano: backups and search history),
deletes the line holding the password inside ``gitvault edit``, and then
searches every file under HOME for the deleted value.
"""

from __future__ import annotations

import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
import threading
from fcntl import ioctl
from pathlib import Path

import pytest

from gitvault.editors import EMACS, NANO, NEOVIM, VIM, VSCODE, editor_kind, editor_launch
from tests.cli.conftest import Vault
from tests.helpers import run_cli

SECRET = b"hunter2hunter2"


@pytest.fixture(autouse=True)
def shm_private_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # The private dir on /dev/shm, as on a user's machine: emacs never backs
    # up files under /tmp, which would make its test pass for the wrong reason.
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)


def _leaks(home: Path) -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk(home):
        for name in files:
            p = Path(dirpath, name)
            if p.is_file() and SECRET in p.read_bytes():
                found.append(str(p.relative_to(home)))
    return found


def _password_removed(vault: Vault) -> None:
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 0 and "password" not in r.stdout and "port: 5432" in r.stdout


def _home(vault: Vault) -> Path:
    return Path(os.environ["HOME"])


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
def test_vim_with_undofile_viminfo_backup_and_swap_keeps_nothing(vault: Vault) -> None:
    home = _home(vault)
    for d in ("undo", "backup", "swap"):
        (home / ".vim" / d).mkdir(parents=True)
    (home / ".vimrc").write_text(
        "set nocompatible\n"
        f"set undofile undodir={home}/.vim/undo\n"
        "set viminfo='100,<500,s100,h\n"
        f"set backup writebackup backupdir={home}/.vim/backup\n"
        f"set swapfile directory={home}/.vim/swap//\n"
    )
    editor = f"vim -u {home}/.vimrc -es -c 'g/hunter2/d' -c 'wq'"
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    _password_removed(vault)
    assert _leaks(home) == []
    assert not (home / ".viminfo").exists() or SECRET not in (home / ".viminfo").read_bytes()


@pytest.mark.skipif(shutil.which("vi") is None, reason="vi is not installed")
def test_vi_that_is_vim_is_recognised() -> None:
    real = Path(os.path.realpath(shutil.which("vi") or "")).name
    if real.startswith("vim"):
        assert editor_kind(["vi"]) == VIM


@pytest.mark.skipif(shutil.which("nvim") is None, reason="neovim is not installed")
def test_neovim_with_undofile_and_shada_keeps_nothing(vault: Vault) -> None:
    home = _home(vault)
    (home / "nvundo").mkdir()
    init = home / "init.vim"
    init.write_text(
        f"set undofile undodir={home}/nvundo\n"
        f"set shada='100,<500,s100,h shadafile={home}/main.shada\n"
        f"set backup writebackup backupdir={home}/nvundo\n"
    )
    editor = f"nvim -u {init} -es -c 'g/hunter2/d' -c 'wq'"
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    _password_removed(vault)
    assert _leaks(home) == []


@pytest.mark.skipif(shutil.which("emacs") is None, reason="emacs is not installed")
def test_emacs_with_a_backup_directory_keeps_nothing(vault: Vault) -> None:
    home = _home(vault)
    init = home / "init.el"
    init.write_text(
        '(setq backup-directory-alist `(("." . ,(expand-file-name "~/ebackups/"))))\n'
        "(setq version-control t)\n"
        '(setq auto-save-file-name-transforms `((".*" ,(expand-file-name "~/eautosave/") t)))\n'
        "(add-hook 'find-file-hook\n"
        "  (lambda ()\n"
        '    (when (string-match "secrets\\\\.yaml\\\\\'" buffer-file-name)\n'
        "      (goto-char (point-min))\n"
        '      (flush-lines "hunter2")\n'
        "      (do-auto-save)\n"
        "      (save-buffer))))\n"
    )
    editor = f"emacs --batch -l {init}"
    r = run_cli(["edit", str(vault.secret_file)], env={"EDITOR": editor})
    assert r.code == 0, r.output
    _password_removed(vault)
    assert _leaks(home) == []


def _drive_in_a_terminal(args: list[str], cwd: Path, env: dict[str, str], keys: bytes) -> int:
    """Run ``gitvault ARGS`` on a pseudo-terminal; type ``keys`` once the editor has drawn."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    seen = bytearray()
    ready = threading.Event()

    def reader() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)
            if b"port" in seen:  # the buffer is on screen
                ready.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), bytes(seen[-400:])
        os.write(master, keys)
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        thread.join(5)


@pytest.mark.skipif(shutil.which("nano") is None, reason="nano is not installed")
def test_nano_with_backups_and_search_history_keeps_nothing(vault: Vault) -> None:
    home = _home(vault)
    (home / "nano-backups").mkdir()
    (home / ".local" / "share" / "nano").mkdir(parents=True)
    rc = home / ".nanorc"
    rc.write_text(f"set backup\nset backupdir {home}/nano-backups\nset historylog\n")
    # nano run by root takes its home from the password file, not $HOME: name
    # the rc file, and the data directory its search history goes to.
    env = {
        **os.environ,
        "EDITOR": f"nano --rcfile={rc}",
        "TERM": "xterm",
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    # ^W search for the value, ^K cut its line, ^O Enter save, ^X quit.
    keys = b"\x17" + SECRET + b"\r" + b"\x0b" + b"\x0f\r" + b"\x18"
    code = _drive_in_a_terminal(["edit", str(vault.secret_file)], vault.root, env, keys)
    assert code == 0
    _password_removed(vault)
    assert _leaks(home) == []


def test_launch_flags_per_editor(tmp_path: Path) -> None:
    file = tmp_path / "secrets.yaml"
    argv, env = editor_launch(["vim", "-c", "wq"], file)
    assert argv[:3] == ["vim", "-i", "NONE"] and argv[-2:] == ["-c", "wq"]
    assert "noundofile" in " ".join(argv) and env["XDG_STATE_HOME"].startswith(str(tmp_path))
    argv, _ = editor_launch(["emacs", "-nw"], file)
    assert argv[:2] == ["emacs", "-nw"] and argv[2] == "--eval"
    argv, env = editor_launch(["nano"], file)
    assert argv == ["nano", f"--backupdir={tmp_path}"]
    assert env["XDG_DATA_HOME"].startswith(str(tmp_path))
    assert editor_launch(["code"], file)[0] == ["code", "--wait"]
    assert editor_launch(["code", "--wait"], file)[0] == ["code", "--wait"]
    assert editor_launch(["ed", "-s"], file)[0] == ["ed", "-s"]
    assert editor_kind(["/usr/local/bin/nvim"]) == NEOVIM
    assert editor_kind(["emacsclient"]) is None and editor_kind(["emacs-29"]) == EMACS
    assert editor_kind(["nano"]) == NANO and editor_kind(["codium"]) == VSCODE
