"""Key sources sops users rely on, tried the way they use them.

Files are written by the real ``sops`` binary (so each test is also an interop
check), then opened by gitvault as a real process with the source under test
set in the environment: a key command (a password manager), an SSH key named
by ``SOPS_AGE_SSH_PRIVATE_KEY_FILE``, passphrase-protected SSH keys and age
identity files (answered on a real pseudo-terminal), and key files holding
lines gitvault cannot use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from gitvault import identities

PLAIN = b"db_password: hunter2-not-real\nport: 5432\n"
SECRET = "hunter2-not-real"


def _sops_encrypt(tmp: Path, recipient: str, name: str = "s.yaml") -> Path:
    src = tmp / "plain.yaml"
    src.write_bytes(PLAIN)
    out = tmp / name
    proc = subprocess.run(
        ["sops", "encrypt", "--age", recipient, str(src)], capture_output=True, check=True
    )
    out.write_bytes(proc.stdout)
    src.unlink()
    return out


def _gitvault(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in env}
    full.update(env)
    # No controlling terminal: stdin is not a tty and a new session has no /dev/tty.
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
    )


def _age_key(tmp: Path, name: str = "key.txt") -> tuple[Path, str]:
    text, public = identities.generate()
    path = tmp / name
    path.write_text(text)
    path.chmod(0o600)
    return path, public


def _ssh_key(tmp: Path, passphrase: str = "") -> tuple[Path, str]:
    path = tmp / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "t", "-f", str(path)],
        check=True,
    )
    public = " ".join(path.with_suffix(".pub").read_text().split()[:2])
    return path, public


def _on_tty(args: list[str], cwd: Path, env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run gitvault with a pseudo-terminal as its controlling terminal; type ``answer``."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def _ctty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # stdin is the pty's slave end

    full = dict(os.environ)
    full.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        env=full,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_ctty,
    )
    os.close(slave)
    seen = b""
    import select

    while b"passphrase" not in seen.lower():
        ready, _, _ = select.select([master], [], [], 20)
        assert ready, f"no passphrase prompt appeared: {seen!r}"
        seen += os.read(master, 1024)
    os.write(master, answer.encode() + b"\n")
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert answer.encode() not in out + err, "the passphrase was echoed"
    return proc.returncode, out.decode() + err.decode()


@pytest.mark.parametrize("var", ["SOPS_AGE_KEY_CMD", "GITVAULT_AGE_KEY_CMD"])
def test_key_command_gives_the_key(tmp_path: Path, var: str) -> None:
    key, public = _age_key(tmp_path / "..", f"cmd-{var}.txt")
    vault = _sops_encrypt(tmp_path, public)
    script = tmp_path / "pm.sh"
    script.write_text(f"#!/bin/sh\ncat '{key}'\n")
    script.chmod(0o700)
    res = _gitvault(
        ["decrypt", "--extract", "db_password", str(vault)], tmp_path, {var: f"{script}"}
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == SECRET
    # Same variable, same answer from the real sops: the semantics agree.
    if var.startswith("SOPS"):
        env = {**os.environ, var: str(script)}
        got = subprocess.run(
            ["sops", "decrypt", "--extract", '["db_password"]', str(vault)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert got.stdout.strip() == SECRET


def test_key_command_arguments_are_split_like_a_shell(tmp_path: Path) -> None:
    key, public = _age_key(tmp_path, "with space.txt")
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(["decrypt", str(vault)], tmp_path, {"SOPS_AGE_KEY_CMD": f"cat '{key}'"})
    assert res.returncode == 0, res.stderr
    assert SECRET in res.stdout


def test_failing_key_command_is_one_line_without_its_output(tmp_path: Path) -> None:
    _key, public = _age_key(tmp_path)
    vault = _sops_encrypt(tmp_path, public)
    script = tmp_path / "pm.sh"
    script.write_text("#!/bin/sh\necho AGE-SECRET-KEY-1LEAKEDLEAKED\nexit 3\n")
    script.chmod(0o700)
    res = _gitvault(["decrypt", str(vault)], tmp_path, {"GITVAULT_AGE_KEY_CMD": str(script)})
    assert res.returncode == 5
    assert "GITVAULT_AGE_KEY_CMD: the command failed (exit 3)" in res.stderr
    assert "LEAKED" not in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
    missing = _gitvault(["decrypt", str(vault)], tmp_path, {"SOPS_AGE_KEY_CMD": "no-such-pm --get"})
    assert missing.returncode == 5
    assert "command not found: no-such-pm" in missing.stderr


def test_key_command_printing_nothing_usable_is_an_error(tmp_path: Path) -> None:
    _key, public = _age_key(tmp_path)
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(["decrypt", str(vault)], tmp_path, {"SOPS_AGE_KEY_CMD": "echo not-a-key"})
    assert res.returncode == 5
    assert "SOPS_AGE_KEY_CMD: no usable identity in it" in res.stderr


def test_ssh_private_key_file_variable(tmp_path: Path) -> None:
    key, public = _ssh_key(tmp_path)
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(
        ["decrypt", "--extract", "db_password", str(vault)],
        tmp_path,
        {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(key)},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == SECRET


def test_protected_ssh_key_asks_on_the_terminal(tmp_path: Path) -> None:
    key, public = _ssh_key(tmp_path, passphrase="correct horse")
    vault = _sops_encrypt(tmp_path, public)
    env = {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(key)}
    code, out = _on_tty(
        ["decrypt", "--extract", "db_password", str(vault)], tmp_path, env, "correct horse"
    )
    assert code == 0, out
    assert SECRET in out
    code, out = _on_tty(["decrypt", str(vault)], tmp_path, env, "wrong horse")
    assert code == 3
    assert "wrong passphrase" in out
    assert SECRET not in out


def test_protected_key_without_a_terminal_is_a_clear_error(tmp_path: Path) -> None:
    key, public = _ssh_key(tmp_path, passphrase="correct horse")
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(["decrypt", str(vault)], tmp_path, {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(key)})
    assert res.returncode == 3
    assert "no terminal to ask for the passphrase" in res.stderr
    assert "KEY_CMD" in res.stderr  # the hint says what to do in a script


def test_protected_key_is_not_asked_for_when_another_key_opens_the_file(tmp_path: Path) -> None:
    # A protected ~/.ssh/id_ed25519 sits in a default location, as on most laptops;
    # the file is for the age key: no prompt (there is no terminal: one would fail).
    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir(exist_ok=True)
    ssh_key, _ssh_public = _ssh_key(home / ".ssh", passphrase="pw")
    assert ssh_key == home / ".ssh" / "id_ed25519"
    key, public = _age_key(tmp_path)
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(["decrypt", str(vault)], tmp_path, {"SOPS_AGE_KEY_FILE": str(key)})
    assert res.returncode == 0, res.stderr
    assert SECRET in res.stdout


@pytest.mark.parametrize("armored", [False, True])
def test_passphrase_protected_age_identity_file(tmp_path: Path, armored: bool) -> None:
    text, public = identities.generate()
    protected = tmp_path / "keys.age"
    protected.write_bytes(pyrage.passphrase.encrypt(text.encode(), "s3cret pass", armored=armored))
    vault = _sops_encrypt(tmp_path, public)
    env = {"SOPS_AGE_KEY_FILE": str(protected)}
    code, out = _on_tty(["decrypt", "--extract", "port", str(vault)], tmp_path, env, "s3cret pass")
    assert code == 0, out
    assert "5432" in out
    res = _gitvault(["decrypt", str(vault)], tmp_path, env)
    assert res.returncode == 3
    assert "no terminal" in res.stderr
    code, out = _on_tty(["decrypt", str(vault)], tmp_path, env, "not it")
    assert code == 3
    assert "wrong passphrase" in out


def test_unusable_lines_are_skipped_with_a_note(tmp_path: Path) -> None:
    text, public = identities.generate()
    keys = tmp_path / "keys.txt"
    keys.write_text(
        "# a damaged post-quantum key first (its checksum is wrong)\n"
        "AGE-SECRET-KEY-PQ-1K30MYPZAHAXHR22YHH27EGDVLU0QNSUH3DSV7J7NR3X6D9LHXNWSDLTV4Q\n"
        "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n"
        "AGE-SECRET-KEY-1NOTVALID\n" + text
    )
    vault = _sops_encrypt(tmp_path, public)
    res = _gitvault(
        ["decrypt", "--extract", "port", str(vault)], tmp_path, {"SOPS_AGE_KEY_FILE": str(keys)}
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "5432"
    assert (
        "SOPS_AGE_KEY_FILE:2: line skipped (an invalid post-quantum age secret key)" in res.stderr
    )
    assert "SOPS_AGE_KEY_FILE:3: age plugin identity skipped" in res.stderr
    assert "SOPS_AGE_KEY_FILE:4: line skipped (an invalid age secret key)" in res.stderr
    assert "NOTVALID" not in res.stderr and "K30MYPZ" not in res.stderr


def test_several_keys_on_one_line_of_the_key_variable(tmp_path: Path) -> None:
    text_a, _public_a = identities.generate()
    text_b, public_b = identities.generate()
    line = " ".join(t.splitlines()[-1] for t in (text_a, text_b))
    vault = _sops_encrypt(tmp_path, public_b)
    res = _gitvault(["decrypt", "--extract", "port", str(vault)], tmp_path, {"SOPS_AGE_KEY": line})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "5432"
