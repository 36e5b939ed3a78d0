"""Temp-file placement and the cleanup of what killed runs leave (pid + start time)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitvault import fsutil, tempfiles


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_process_is_named_by_pid_and_start_time() -> None:
    pid = os.getpid()
    start = tempfiles.process_start(pid)
    assert start != "0"  # Linux: /proc/PID/stat
    assert tempfiles.process_alive(pid, start)
    assert not tempfiles.process_alive(pid, str(int(start) + 1))  # the pid was reused
    assert not tempfiles.process_alive(_dead_pid())
    assert tempfiles.process_token() == f"{pid}-{start}"


def test_temp_files_of_a_repository_live_in_its_git_dir(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "secrets").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    target = repo / "secrets" / "app.yaml"
    tmp = tempfiles.temp_path(target)
    assert tmp.parent == repo / ".git" / "gitvault" / "tmp"
    fsutil.atomic_write(target, b"data")
    assert target.read_bytes() == b"data"
    assert list(tmp.parent.iterdir()) == []
    assert sorted(p.name for p in (repo / "secrets").iterdir()) == ["app.yaml"]


def test_outside_a_repository_temp_files_sit_beside_with_a_recognisable_name(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.yaml"
    tmp = tempfiles.temp_path(target)
    assert tmp.parent == tmp_path and tempfiles.is_temp_name(tmp.name)
    assert not tempfiles.is_temp_name("app.yaml") and not tempfiles.is_temp_name(".app.yaml")
    fsutil.atomic_write(target, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_clean_stale_temps_removes_only_dead_writers(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    home = tempfiles.gitvault_dir(repo / ".git", "tmp")
    dead = home / f"{_dead_pid()}-0-0123456789ab.tmp"
    live = home / f"{tempfiles.process_token()}-0123456789ab.tmp"
    other = home / "not-ours.txt"
    for path in (dead, live, other):
        path.write_bytes(b"")
    tempfiles.clean_stale_temps(repo)
    assert sorted(p.name for p in home.iterdir()) == sorted([live.name, other.name])


def test_registry_removes_dead_private_dirs_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    registry = tmp_path / "state" / "gitvault" / "private-dirs"
    registry.mkdir(parents=True)
    pid = _dead_pid()
    killed = tmp_path / "run" / f"gitvault-{pid}-00112233aabbccdd"
    killed.mkdir(parents=True)
    (killed / "secrets.yaml").write_text("plaintext\n")
    (registry / f"{pid}-0-{killed.name}").write_text(str(killed))
    # a record that does not point at a private dir of that pid is never acted on
    precious = tmp_path / "precious"
    precious.mkdir()
    (registry / f"{pid}-0-gitvault-{pid}-ffff").write_text(str(precious))
    decoy = tmp_path / "run" / f"gitvault-{pid}-link"
    decoy.symlink_to(precious)
    (registry / f"{pid}-0-{decoy.name}").write_text(str(decoy))
    # a live run's directory stays
    alive = tmp_path / "run" / f"gitvault-{os.getpid()}-aa"
    alive.mkdir()
    (registry / f"{tempfiles.process_token()}-{alive.name}").write_text(str(alive))

    fsutil.clean_dead_private_dirs()
    assert not killed.exists()
    assert precious.is_dir() and decoy.is_symlink()
    assert alive.is_dir()
    assert [p.name for p in registry.iterdir()] == [f"{tempfiles.process_token()}-{alive.name}"]


def test_private_dir_is_registered_while_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    registry = tmp_path / "state" / "gitvault" / "private-dirs"
    with fsutil.private_dir() as directory:
        records = list(registry.iterdir())
        assert len(records) == 1 and records[0].read_text() == str(directory)
        assert (records[0].stat().st_mode & 0o777) == 0o600
    assert list(registry.iterdir()) == []
