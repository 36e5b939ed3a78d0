"""``gitvault exec``: values only in the child's environment, exit codes, signals, files.

The children are real processes. Synchronisation is by the child printing a
line once its trap is set, never by sleeping in the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitvault.export.exec import clean_stale_dirs, exit_status, private_dir
from tests.export.conftest import REPO_ROOT

SECRET = "s3cr3t 'value' $HOME\nline2"


@pytest.fixture
def app(vault: Callable[[str, Any], Path]) -> Path:
    return vault("secrets/app.yaml", {"db": {"password": SECRET, "user": "app"}})


def test_child_sees_values_and_its_exit_code_is_ours(gv: Any, app: Path) -> None:
    script = 'printf "%s" "$DB_PASSWORD" > out.txt; printf "%s" "${GITVAULT_AGE_KEY-unset}"; exit 7'
    result = gv(
        "exec", str(app), "--", "bash", "-c", script, env={"GITVAULT_AGE_KEY": "AGE-SECRET-KEY-1X"}
    )
    assert result.returncode == 7
    assert (app.parents[1] / "out.txt").read_text() == SECRET
    assert result.stdout == b"unset"  # the identity is not handed to the child
    assert SECRET.encode() not in result.stderr


def test_signal_death_gives_128_plus_n(gv: Any, app: Path) -> None:
    result = gv("exec", str(app), "--", "bash", "-c", "kill -KILL $$")
    assert result.returncode == 128 + signal.SIGKILL


def test_missing_command_is_127(gv: Any, app: Path) -> None:
    result = gv("exec", str(app), "--", "no-such-command-gitvault")
    assert result.returncode == 127
    assert b"command not found: no-such-command-gitvault" in result.stderr


def test_no_command_is_a_usage_error(gv: Any, app: Path) -> None:
    assert gv("exec", str(app)).returncode == 2


def start_exec(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.export.fake_api", "exec", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_are_forwarded_to_the_child(tmp_path: Path, app: Path, sig: int) -> None:
    name = signal.Signals(sig).name[3:]
    script = f"trap 'exit 42' {name}; echo ready; while :; do sleep 0.05; done"
    proc = start_exec(tmp_path, str(app), "--", "bash", "-c", script)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(sig)  # to gitvault, not to the child
    assert proc.wait() == 42


def test_files_are_private_and_removed_after_sigterm(tmp_path: Path, app: Path) -> None:
    script = (
        'stat -c "%a" "$(dirname "$DB_PASSWORD_FILE")" "$DB_PASSWORD_FILE"; '
        'echo "$DB_PASSWORD_FILE"; cat "$DB_USER_FILE"; echo; '
        "trap 'exit 43' TERM; echo ready; while :; do sleep 0.05; done"
    )
    proc = start_exec(tmp_path, "--files", str(app), "--", "bash", "-c", script)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().decode().rstrip("\n") for _ in range(5)]
    dir_mode, file_mode, path, user, ready = lines
    assert (dir_mode, file_mode, user, ready) == ("700", "600", "app", "ready")
    assert Path(path).read_text() == SECRET
    if Path("/dev/shm").is_dir():
        assert path.startswith("/dev/shm/")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 43
    assert not Path(path).parent.exists()


def test_private_dir_cleans_leftovers_of_killed_runs(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"gitvault-exec-{dead.pid}-abcdef"
    stale.mkdir(mode=0o700)
    (stale / "X").write_text("old")
    alive = tmp_path / f"gitvault-exec-{os.getpid()}-abcdef"
    alive.mkdir()
    with private_dir(tmp_path) as directory:
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        assert not stale.exists()
        assert alive.exists()
    assert not directory.exists()
    clean_stale_dirs(tmp_path / "missing")  # no base dir: nothing to do, no error


def test_exit_status() -> None:
    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(-15) == 143


def test_file_name_collision(gv: Any, vault: Callable[[str, Any], Path]) -> None:
    path = vault("secrets/c.yaml", {"cert": "x", "cert_file": "y"})
    result = gv("exec", "--files", str(path), "--", "true")
    assert result.returncode == 5
    assert b"CERT_FILE" in result.stderr
