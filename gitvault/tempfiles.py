"""Where gitvault's writes put their temp files, and removing the ones killed writers left.

A write goes to a temp file that is renamed over its target (see
:mod:`gitvault.fsutil`). Inside a git repository that temp file lives in
``$GIT_DIR/gitvault/tmp/``, never in the work tree, so no walk of vault files,
no ``git add -A`` and no ``verify`` ever sees one. Only when that is
impossible (another file system, a read-only git dir, no repository) is it
placed beside its target as ``.NAME.gitvault-PID-START-HEX.tmp``, a name
:func:`skip_temp` recognises and ``.git/info/exclude`` hides from git. Either
way the name carries the writer's pid and process start time (a pid alone
may be reused after a crash), and the temp files of processes that are gone
are removed: by :func:`clean_stale_temps` whenever a writer takes a lock, and
by :func:`skip_temp` on every walk of the work tree.

This module never reads a temp file's content; it only names and removes them.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path

_TMP_DIR = ("gitvault", "tmp")
# beside the target: ".NAME.gitvault-PID-START-HEX.tmp"
_SIDE_TEMP = re.compile(r"^\..*\.gitvault-(\d+)-(\d+)-[0-9a-f]+\.tmp$")
# in $GIT_DIR/gitvault/tmp: "PID-START-HEX.tmp"
_GIT_TEMP = re.compile(r"^(\d+)-(\d+)-[0-9a-f]+\.tmp$")
# what gitvault before 0.x left beside its targets (no pid): ".NAME.HEX12.tmp"
_LEGACY_TEMP = re.compile(r"^\.(.+)\.[0-9a-f]{12}\.tmp$")
_LEGACY_AGE = 15 * 60  # seconds: no write of ours takes that long

# ----------------------------------------------------------------- processes


def process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` ("0" when unknown): with the pid, names a process.

    A pid alone may be reused by an unrelated process after a crash; the pair
    (pid, start time) may not.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return "0"
    fields = data.rsplit(b")", 1)[-1].split()
    return fields[19].decode() if len(fields) > 19 else "0"


_SELF: list[str] = []


def process_token() -> str:
    """``PID-START`` of this process (cached per process)."""
    pid = os.getpid()
    if not _SELF or not _SELF[0].startswith(f"{pid}-"):
        _SELF[:] = [f"{pid}-{process_start(pid)}"]
    return _SELF[0]


def process_alive(pid: int, start: str = "0") -> bool:
    """True unless process ``pid`` (started at ``start``, when known) is certainly gone."""
    if not _pid_alive(pid):
        return False
    if start == "0":
        return True
    now = process_start(pid)
    return now in ("0", start)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


# ----------------------------------------------------------------- git dir


def git_dir(path: Path) -> Path | None:
    """The git directory of the work tree holding ``path`` (a file or directory), or None.

    Found by walking up to a ``.git`` directory or ``gitdir:`` file, without
    running git: every write asks, and a subprocess each time would cost more
    than the write.
    """
    start = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)))
    found: Path | None = None
    current = start
    while True:
        dot = os.path.join(current, ".git")
        if os.path.isdir(dot):
            found = Path(dot)
            break
        if os.path.isfile(dot):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = Path(dot).read_text(encoding="utf-8").strip()
                if text.startswith("gitdir:"):
                    target = Path(current, text[len("gitdir:") :].strip())
                    if target.is_dir():
                        found = target
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return found


def gitvault_dir(gitdir: Path, *parts: str) -> Path:
    """``$GIT_DIR/gitvault/PARTS`` created 0700 (gitvault's private place inside .git)."""
    path = gitdir.joinpath("gitvault", *parts)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# ----------------------------------------------------------------- temp files


def _temp_home(directory: Path) -> Path | None:
    """``$GIT_DIR/gitvault/tmp`` when a file there can be renamed into ``directory``."""
    gitdir = git_dir(directory)
    if gitdir is None:
        return None
    with contextlib.suppress(OSError):
        candidate = gitvault_dir(gitdir, *_TMP_DIR[1:])
        same_device = candidate.stat().st_dev == os.stat(directory).st_dev
        if same_device and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return None


def side_temp(path: Path) -> Path:
    """A temp file name beside ``path`` (when ``$GIT_DIR/gitvault/tmp`` cannot be used)."""
    directory = path.parent if str(path.parent) else Path(".")
    gitdir = git_dir(directory)
    if gitdir is not None:
        _exclude_side_temps(gitdir)
    return directory / f".{path.name[:100]}.gitvault-{process_token()}-{os.urandom(6).hex()}.tmp"


_EXCLUDE = "/**/.*.gitvault-*.tmp"


def _exclude_side_temps(gitdir: Path) -> None:
    """Make git ignore temp files beside their targets (``info/exclude``; never the work tree)."""
    common = gitdir
    with contextlib.suppress(OSError, UnicodeDecodeError):
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
    exclude = common / "info" / "exclude"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if _EXCLUDE not in text.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with open(exclude, "a", encoding="utf-8") as fh:
                fh.write(("" if not text or text.endswith("\n") else "\n") + _EXCLUDE + "\n")


def temp_path(path: Path) -> Path:
    """A fresh temp file name for writing ``path`` (see the module docstring)."""
    directory = path.parent if str(path.parent) else Path(".")
    home = _temp_home(directory)
    if home is None:
        return side_temp(path)
    return home / f"{process_token()}-{os.urandom(6).hex()}.tmp"


def is_temp_name(name: str) -> bool:
    """True for the name of a temp file a gitvault write leaves beside its target."""
    return bool(_SIDE_TEMP.match(name) or _LEGACY_TEMP.match(name))


def skip_temp(path: Path) -> bool:
    """For walks of the work tree: True when ``path`` is a temp file (removed if stale).

    A temp file is never a vault file. One whose writer is gone is deleted on
    the way; a legacy one (no pid in its name) only when it is old and its
    target exists beside it.
    """
    name = path.name
    if not name.endswith(".tmp"):
        return False
    side = _SIDE_TEMP.match(name)
    if side is not None:
        if not process_alive(int(side.group(1)), side.group(2)):
            _unlink_own(path)
        return True
    legacy = _LEGACY_TEMP.match(name)
    if legacy is None:
        return False
    with contextlib.suppress(OSError):
        import time

        info = path.lstat()
        if time.time() - info.st_mtime > _LEGACY_AGE and (path.parent / legacy.group(1)).exists():
            _unlink_own(path)
    return True


def _unlink_own(path: Path) -> None:
    with contextlib.suppress(OSError):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
            path.unlink()


def clean_stale_temps(start: Path) -> None:
    """Remove temp files of dead processes from ``$GIT_DIR/gitvault/tmp`` of ``start``'s repo."""
    gitdir = git_dir(start)
    if gitdir is None:
        return
    directory = gitdir.joinpath(*_TMP_DIR)
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            found = _GIT_TEMP.match(entry.name)
            if found is not None and not process_alive(int(found.group(1)), found.group(2)):
                _unlink_own(Path(entry.path))
