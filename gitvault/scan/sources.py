"""Files on disk as scan units: explicit files and directory trees.

Directories inside a git work tree are listed with ``git ls-files`` (tracked
and untracked-but-not-ignored files), so ``.gitignore``d build output and
virtualenvs are not scanned; elsewhere (or when git ignores the whole
directory that was named) the tree is walked. Symlinks are not
followed, binary files (a NUL byte in the first 8 KiB) and files over the size
limit are skipped and reported as skipped, never read as text.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitvault.scan.model import Skipped, Unit

MAX_FILE_BYTES = 64 * 1024 * 1024
_SNIFF = 8192


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base.absolute()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _git_listing(directory: Path) -> list[Path] | None:
    """Files git would consider part of the work tree under ``directory``, or None."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=directory,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    names = [n for n in proc.stdout.split(b"\0") if n]
    return [directory / os.fsdecode(n) for n in dict.fromkeys(names)]


def _walk(directory: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            yield Path(dirpath) / name


def expand(paths: Sequence[Path]) -> Iterator[Path]:
    """Every file named by ``paths`` (files as given, directories recursively)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            listed = _git_listing(path)
            # A directory git ignores entirely was still named on purpose: walk it.
            yield from (listed if listed else _walk(path))
        else:
            yield path


def read_unit(path: Path, display: str) -> Unit | Skipped:
    """Read one file as a unit, or say why it was skipped."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Skipped(display, "missing")
    except OSError as exc:
        return Skipped(display, f"unreadable ({exc.strerror or 'error'})")
    if stat.S_ISLNK(st.st_mode):
        return Skipped(display, "symlink")
    if stat.S_ISDIR(st.st_mode):
        return Skipped(display, "directory (submodule?)")
    if not stat.S_ISREG(st.st_mode):
        return Skipped(display, "not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        return Skipped(display, "too large")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(display, f"unreadable ({exc.strerror or 'error'})")
    if b"\0" in data[:_SNIFF]:
        return Skipped(display, "binary")
    return Unit(path=display, data=data)


def file_units(paths: Sequence[Path], base: Path | None) -> Iterator[Unit | Skipped]:
    """Units for every file under ``paths``, named relative to ``base`` when inside it."""
    for path in expand(paths):
        yield read_unit(path, _display(path.absolute(), base))
