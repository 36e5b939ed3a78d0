"""A ``.git/index.lock`` left by a killed git is removed before gitvault writes the index,
but only when no process holds it; a lock in use is never touched."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gitvault.git.stalelock import clear_stale
from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_subprocess

_HOLD = "import sys, time; f = open(sys.argv[1], 'a'); print('ready', flush=True); time.sleep(60)"


def _holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_only_an_unheld_lock_is_removed(tmp_path: Path) -> None:
    lock = tmp_path / "index.lock"
    assert clear_stale(tmp_path) is False  # no lock: nothing to do
    lock.write_text("")
    proc = _holder(lock)
    try:
        assert clear_stale(tmp_path) is False
        assert lock.exists()  # a live git (here: any process of ours) holds it
    finally:
        proc.kill()
        proc.wait()
    assert clear_stale(tmp_path) is True
    assert not lock.exists()
    (tmp_path / "index.lock").mkdir()
    assert clear_stale(tmp_path) is False  # not a regular file: left alone


def test_a_commit_after_a_killed_git_goes_through(vault: Vault) -> None:
    lock = vault.root / ".git" / "index.lock"
    lock.write_text("")  # what a git killed mid-write leaves behind
    os_time = time.time()
    r = run_subprocess(
        ["set", str(vault.secret_file), "db.port", "6543", "--commit"], cwd=vault.root
    )
    assert r.returncode == 0, r.stderr
    assert not lock.exists()
    assert git(vault.root, "status", "--porcelain").stdout.strip() == ""
    assert float(git(vault.root, "log", "-1", "--format=%ct").stdout) >= int(os_time) - 1


def test_a_lock_in_use_is_not_removed(vault: Vault) -> None:
    lock = vault.root / ".git" / "index.lock"
    lock.write_text("")
    proc = _holder(lock)
    try:
        r = run_subprocess(
            ["set", str(vault.secret_file), "db.port", "6543", "--commit"], cwd=vault.root
        )
        # The commit is made from gitvault's private index; updating the real one
        # waits for the lock's owner, so the command reports the failure.
        assert r.returncode == 6 and b"update-index" in r.stderr
        assert lock.exists()
    finally:
        proc.kill()
        proc.wait()
    # Its owner gone, the lock is stale and the next gitvault write clears it.
    assert clear_stale(vault.root / ".git") is True
    assert "index.lock" not in git(vault.root, "update-index", "--refresh", check=False).stderr
