"""``gitvault exec``: values only in the child's environment, exit codes, signals, files.

The children are real processes. Synchronisation is by the child printing a
line once its trap is set, never by sleeping in the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitvault import fsutil
from gitvault.export.exec import exit_status
from tests.export.realvault import AgeKey

SECRET = "s3cr3t 'value' $HOME\nline2"


@pytest.fixture
def app(vault: Callable[..., Path]) -> Path:
    return vault("secrets/app.yaml", {"db": {"password": SECRET, "user": "app"}})


@pytest.mark.parametrize("variable", ["GITVAULT_AGE_KEY", "SOPS_AGE_KEY"])
def test_child_sees_values_and_its_exit_code_is_ours(
    gv: Any, app: Path, keys: dict[str, AgeKey], variable: str
) -> None:
    script = (
        'printf "%s" "$DB_PASSWORD" > out.txt; '
        'printf "%s %s" "${GITVAULT_AGE_KEY-unset}" "${SOPS_AGE_KEY-unset}"; exit 7'
    )
    env = {variable: keys["ci-test"].secret}
    result = gv("exec", str(app), "--", "bash", "-c", script, env=env, as_=None)
    assert result.returncode == 7, result.stderr
    assert (app.parents[1] / "out.txt").read_text() == SECRET
    assert result.stdout == b"unset unset"  # the identity is not handed to the child
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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_are_forwarded_to_the_child(start_gv: Any, app: Path, sig: int) -> None:
    name = signal.Signals(sig).name[3:]
    script = f"trap 'exit 42' {name}; echo ready; while :; do sleep 0.05; done"
    proc = start_gv("exec", str(app), "--", "bash", "-c", script)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(sig)  # to gitvault, not to the child
    assert proc.wait() == 42


def test_files_are_private_and_removed_after_sigterm(
    start_gv: Any, app: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runtime = tmp_path_factory.mktemp("runtime")  # stands in for tmpfs $XDG_RUNTIME_DIR
    script = (
        'stat -c "%a" "$(dirname "$DB_PASSWORD_FILE")" "$DB_PASSWORD_FILE"; '
        'echo "$DB_PASSWORD_FILE"; cat "$DB_USER_FILE"; echo; '
        "trap 'exit 43' TERM; echo ready; while :; do sleep 0.05; done"
    )
    proc = start_gv(
        "exec",
        "--files",
        str(app),
        "--",
        "bash",
        "-c",
        script,
        env={"XDG_RUNTIME_DIR": str(runtime)},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().decode().rstrip("\n") for _ in range(5)]
    dir_mode, file_mode, path, user, ready = lines
    assert (dir_mode, file_mode, user, ready) == ("700", "600", "app", "ready")
    assert Path(path).read_text() == SECRET
    assert Path(path).parent.parent == runtime  # fsutil.private_dir, not a copy of it
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 43
    assert not Path(path).parent.exists()
    assert list(runtime.iterdir()) == []


def test_files_go_to_dev_shm_without_a_runtime_dir(gv: Any, app: Path) -> None:
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm on this machine")
    result = gv(
        "exec",
        "--files",
        str(app),
        "--",
        "bash",
        "-c",
        'echo "$DB_USER_FILE"',
        env={"XDG_RUNTIME_DIR": ""},
    )  # empty: fsutil skips it
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.decode().strip())
    assert path.parts[:3] == ("/", "dev", "shm") and not path.parent.exists()


def test_leftovers_of_a_killed_exec_are_removed_by_the_next(
    gv: Any, app: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runtime = tmp_path_factory.mktemp("runtime")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = runtime / f"gitvault-{dead.pid}-abcdef"  # what a SIGKILLed run leaves
    stale.mkdir(mode=0o700)
    (stale / "DB_PASSWORD").write_text("old")
    alive = runtime / f"gitvault-{os.getpid()}-abcdef"  # a run still going: kept
    alive.mkdir()
    result = gv("exec", "--files", str(app), "--", "true", env={"XDG_RUNTIME_DIR": str(runtime)})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in runtime.iterdir()) == [alive.name]
    fsutil.clean_stale(runtime / "missing")  # no base dir: nothing to do, no error


def test_exit_status() -> None:
    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(-15) == 143


def test_file_name_collision(gv: Any, vault: Callable[..., Path]) -> None:
    path = vault("secrets/c.yaml", {"cert": "x", "cert_file": "y"})
    result = gv("exec", "--files", str(path), "--", "true")
    assert result.returncode == 5
    assert b"CERT_FILE" in result.stderr
