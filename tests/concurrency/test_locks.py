"""The lock primitives: a held lock makes a writer wait, then fail loudly; a dead holder frees it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitvault import locking
from tests.concurrency.conftest import racer_env
from tests.helpers import run_cli
from tests.team.conftest import Team

APP = "secrets/dev/app.yaml"


def _hold(team: Team, tmp_path: Path, how: str, target: str) -> subprocess.Popen[bytes]:
    """A separate process that takes a lock and keeps it until killed."""
    ready = tmp_path / "holding"
    code = (
        "import pathlib, sys, time\n"
        "from gitvault import locking\n"
        f"with locking.{how}(pathlib.Path({target!r}), 'test-holder'):\n"
        f"    pathlib.Path({str(ready)!r}).touch()\n"
        "    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=team.root, env=racer_env({}))
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    return proc


@pytest.mark.parametrize("how", ["file_lock", "tree_lock"])
def test_a_writer_waits_then_fails_with_exit_6_naming_the_holder(
    team: Team, tmp_path: Path, how: str
) -> None:
    team.write(APP, "api:\n    token: t1\n")
    before = (team.root / APP).read_bytes()
    holder = _hold(team, tmp_path, how, str(team.root / APP))
    try:
        r = run_cli(
            ["set", APP, "api.token", "t2"],
            env={**team.alice.env, "GITVAULT_LOCK_TIMEOUT": "0.3"},
            cwd=team.root,
        )
    finally:
        holder.kill()
        holder.wait()
    assert r.code == 6, r.output
    first = r.stderr.splitlines()[0]
    assert first.startswith("gitvault: error: ") and "another gitvault process" in first
    assert f"pid {holder.pid}, test-holder" in first
    assert (team.root / APP).read_bytes() == before


def test_a_killed_holder_leaves_no_stale_lock(team: Team, tmp_path: Path) -> None:
    team.write(APP, "api:\n    token: t1\n")
    holder = _hold(team, tmp_path, "file_lock", str(team.root / APP))
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    r = run_cli(
        ["set", APP, "api.token", "t2"],
        env={**team.alice.env, "GITVAULT_LOCK_TIMEOUT": "0"},
        cwd=team.root,
    )
    assert r.code == 0, r.output
    assert team.values(APP) == {"api": {"token": "t2"}}


def test_locks_are_reentrant_in_one_process_and_ordered(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested locks of one process never wait for themselves (no wait: any conflict raises)."""
    monkeypatch.setenv(locking.TIMEOUT_ENV, "0")
    path = team.root / APP
    with (
        locking.tree_lock(team.root, "outer"),
        locking.file_lock(path, "inner"),
        locking.file_lock(path, "again"),
        locking.commit_lock(team.root, "commit"),
    ):
        pass
    with (
        locking.file_lock(path, "a"),
        locking.commit_lock(team.root, "b"),
        pytest.raises(locking.LockBusy),  # from another process it is held
    ):
        _other_process_locks(team, path)


def _other_process_locks(team: Team, path: Path) -> None:
    code = (
        "import pathlib, sys\n"
        "from gitvault import locking\n"
        f"with locking.file_lock(pathlib.Path({str(path)!r}), 'other'):\n"
        "    pass\n"
    )
    env = racer_env({locking.TIMEOUT_ENV: "0"})
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    if b"LockBusy" in proc.stderr:
        raise locking.LockBusy("held")
    assert proc.returncode == 0, proc.stderr
