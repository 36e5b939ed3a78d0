"""Writer locks: one writer per vault file, one committer per repository.

Without them two gitvault processes that read, change and write the same file
at once both "succeed" and one change is silently gone (two ``set`` of
different keys; a ``set`` racing a ``rekey`` leaves the file encrypted to a
removed person while ``rekey`` reports success). With them every writer
re-reads the file *after* it holds the lock, so its change applies on top of
the other's, or it waits a short while and fails with one line and exit 6
(:class:`LockBusy`). Nothing is ever lost without a message.

Three kinds of lock, always taken in this order (so two processes can never
wait for each other in a circle):

- :func:`tree_lock` — the whole work tree, exclusive: ``rekey``, ``offboard``,
  ``rotate --due``, policy edits that re-key. Every single-file writer holds the
  tree lock *shared*, so a re-key waits for running writers and they wait for it.
- :func:`file_lock` — one vault file (or the policy file), exclusive; it takes
  the tree lock shared first.
- :func:`commit_lock` — the repository's index and branch, exclusive, for the
  stretch from staging to ``git commit``: two ``--commit`` writers of different
  files no longer trip over git's ``index.lock``.

The locks are ``flock(2)`` locks on small files in ``$GIT_DIR/gitvault/locks/``
(outside any git repository: in the user's state directory, keyed by path).
The kernel drops a flock when its process dies, however it dies, so a killed
writer never leaves a stale lock behind: the lock *files* stay (they are empty
markers with the last holder's pid and command, for the error message) and
the next writer simply locks them again. Locks are re-entrant within a process
(a ``set --commit`` holding the file lock may ask for it again). Child
processes do not inherit them (the lock files are opened close-on-exec): a
hook or an apply command that runs a gitvault *writer* on a file its parent
holds waits like any other process and fails after the wait; readers
(``verify``, ``decrypt``, the hooks' checks) take no lock at all.

For other writers (``rotate`` above all): take :func:`file_lock` for one file
or :func:`tree_lock` for many, read the files inside it, and hold
:func:`commit_lock` around staging and ``git commit``; always in the order
tree, file, commit.

The wait is ``$GITVAULT_LOCK_TIMEOUT`` seconds (default 10). Taking a work tree
lock (shared or exclusive) also removes temp files that killed writers left in
``$GIT_DIR/gitvault/tmp`` (:func:`gitvault.tempfiles.clean_stale_temps`).

This module never reads or writes vault data; it only serialises writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from gitvault import fsutil, tempfiles
from gitvault.crypto.digest import sha256
from gitvault.errors import GitError
from gitvault.records import record

DEFAULT_TIMEOUT = 10.0
TIMEOUT_ENV = "GITVAULT_LOCK_TIMEOUT"

_TREE = "tree.lock"
_COMMIT = "commit.lock"


class LockBusy(GitError):
    """Another gitvault process kept a lock for longer than the wait (exit 6)."""


@record
class _Held:
    fd: int
    mode: int  # fcntl.LOCK_SH or fcntl.LOCK_EX
    depth: int


_HELD: dict[str, _Held] = {}


def timeout() -> float:
    """Seconds to wait for a lock: ``$GITVAULT_LOCK_TIMEOUT`` or the default."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value >= 0 else DEFAULT_TIMEOUT


def _root_and_lock_dir(path: Path) -> tuple[Path, Path]:
    """(the work tree root, the lock directory) for a path inside it.

    In a git work tree: its root and ``$GIT_DIR/gitvault/locks``. Elsewhere:
    the directory of the nearest ``.gitvault.yaml`` (or the path's own
    directory) and a per-user directory keyed by it.
    """
    absolute = Path(os.path.abspath(path))
    start = absolute if absolute.is_dir() else absolute.parent
    gitdir = tempfiles.git_dir(start)
    if gitdir is not None:
        root = _work_tree_of(start)
        with contextlib.suppress(OSError):
            return root, tempfiles.gitvault_dir(gitdir, "locks")
    root = next((d for d in (start, *start.parents) if (d / ".gitvault.yaml").is_file()), start)
    key = sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:24]
    directory = fsutil.state_dir() / "locks" / key
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise GitError(
            f"cannot create a lock directory in {directory.parent} ({exc.strerror})",
            hint="make it writable, or set XDG_STATE_HOME to a writable directory",
        ) from None
    return root, directory


def _work_tree_of(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def _label(root: Path, path: Path) -> str:
    absolute = Path(os.path.realpath(path))
    with contextlib.suppress(ValueError):
        return absolute.relative_to(os.path.realpath(root)).as_posix()
    return str(absolute)


def _holder(lock_file: Path) -> str:
    """``pid 123, rekey`` from a lock file (what its last exclusive holder wrote)."""
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        text = lock_file.read_text(encoding="utf-8").strip()
        pid, _, what = text.partition(" ")
        if pid.isdigit():
            what = "".join(ch for ch in what if ch.isprintable())[:40]
            return f"pid {int(pid)}" + (f", {what}" if what else "")
    return ""


@contextlib.contextmanager
def _lock(lock_file: Path, mode: int, what: str, subject: str) -> Iterator[None]:
    """Hold ``flock(mode)`` on ``lock_file`` (re-entrant within this process)."""
    key = str(lock_file)
    held = _HELD.get(key)
    if held is not None and (held.mode == fcntl.LOCK_EX or mode == fcntl.LOCK_SH):
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
        return
    if held is not None:  # shared -> exclusive: convert the lock we have
        _acquire(held.fd, mode, lock_file, subject)
        previous, held.mode = held.mode, mode
        _note(held.fd, what)
        try:
            yield
        finally:
            fcntl.flock(held.fd, previous)
            held.mode = previous
        return
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise GitError(f"cannot open the lock file {lock_file} ({exc.strerror})") from None
    try:
        _acquire(fd, mode, lock_file, subject)
        if mode == fcntl.LOCK_EX:
            _note(fd, what)
        _HELD[key] = _Held(fd, mode, 1)
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def _acquire(fd: int, mode: int, lock_file: Path, subject: str) -> None:
    wait = timeout()
    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            who = _holder(lock_file)
            raise LockBusy(
                f"{subject} is in use by another gitvault process"
                + (f" ({who})" if who else "")
                + f"; waited {wait:g}s, nothing was changed",
                hint=f"try again when it is done, or wait longer with {TIMEOUT_ENV}=SECONDS",
            )
        import random  # only under contention: not on every write's start-up

        time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto
        pause = min(pause * 1.5, 0.1)


def _note(fd: int, what: str) -> None:
    """Record the holder (pid and command) for another process's error message."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {what}\n".encode("utf-8", "replace"), 0)


@contextlib.contextmanager
def tree_lock(start: Path, what: str) -> Iterator[None]:
    """Exclusive lock on every vault file of the work tree holding ``start``."""
    root, locks = _root_and_lock_dir(start)
    with _lock(locks / _TREE, fcntl.LOCK_EX, what, f"the vault in {root}"):
        tempfiles.clean_stale_temps(root)
        yield


@contextlib.contextmanager
def file_lock(path: Path, what: str) -> Iterator[None]:
    """Exclusive lock on one file (and the work tree's lock, shared).

    Read the file *inside* the block: whatever was read before may be stale.
    """
    root, locks = _root_and_lock_dir(path)
    label = _label(root, path)
    name = "file-" + sha256(label.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    with _lock(locks / _TREE, fcntl.LOCK_SH, what, f"the vault in {root}"):
        tempfiles.clean_stale_temps(root)
        with _lock(locks / f"{name}.lock", fcntl.LOCK_EX, what, label):
            yield


F = TypeVar("F", bound=Callable[..., Any])


def hold_file_lock(what: str, param: str = "path") -> Callable[[F], F]:
    """Decorator: run the function holding :func:`file_lock` on its ``param`` argument.

    For the one-file writers (``set``, ``unset``): everything they read, they
    read under the lock, so their read-modify-write is one step.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with file_lock(Path(kwargs[param]), what):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def commit_lock(start: Path, what: str) -> Iterator[None]:
    """Exclusive lock on the index and branch of the repository holding ``start``."""
    root, locks = _root_and_lock_dir(start)
    with _lock(locks / _COMMIT, fcntl.LOCK_EX, what, f"the git index of {root}"):
        yield
