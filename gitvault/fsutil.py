"""File-system helpers with the safety properties DESIGN §11 asks for.

- :func:`atomic_write` / :func:`write_many`: a temp file, fsync, rename, fsync
  the directory; a crash leaves the old file or the new one, never a torn one.
- Temp files never sit in the work tree: inside a git repository they live in
  ``$GIT_DIR/gitvault/tmp/`` (renamed across directories on one file system);
  :mod:`gitvault.tempfiles` names them and removes those of dead writers.
- :func:`private_dir`: a 0700 directory for plaintext, on tmpfs when there is
  one, never inside the work tree or the system temp directory, removed on
  every exit path. Each one is also recorded (its path only) in a per-user
  registry, so that any later gitvault command removes the directory of a
  killed run wherever its runtime directory was (:func:`clean_dead_private_dirs`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitvault.errors import BadInput
from gitvault.tempfiles import _pid_alive, process_alive, process_token, side_temp, temp_path

_PREFIX = "gitvault-"


# ----------------------------------------------------------------- atomic writes


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (best effort)."""
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _mode_of(path: Path, mode: int | None) -> int:
    if mode is not None:
        return mode
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o644


def _write_temp(tmp: Path, data: bytes, mode: int, *, sync: bool) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _replace(tmp: Path, path: Path, data: bytes, mode: int, *, sync: bool) -> None:
    """Rename ``tmp`` over ``path``; across mount points, retry with a temp beside it."""
    try:
        os.replace(tmp, path)
        return
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno != errno.EXDEV:
            raise
    beside = side_temp(path)
    _write_temp(beside, data, mode, sync=sync)
    try:
        os.replace(beside, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(beside)
        raise


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permissions if it exists."""
    directory = path.parent if str(path.parent) else Path(".")
    mode = _mode_of(path, mode)
    tmp = temp_path(path)
    _write_temp(tmp, data, mode, sync=True)
    try:
        _replace(tmp, path, data, mode, sync=True)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


def write_many(items: Sequence[tuple[Path, bytes]]) -> None:
    """Write every file atomically (each is the old or the new one after a crash).

    :func:`atomic_write` per file would cost two ``fsync`` calls each, which
    dominate re-keying a thousand files (~3 ms apiece). The batch keeps its
    guarantees with far fewer: every new file is written to a temp file, ONE
    ``sync()`` makes them all durable, then each is renamed over its target and
    each directory is synced once. On a failure before the renames, the temp
    files are removed and nothing changed; during the renames, the files
    already renamed are put back.
    """
    staged: list[tuple[Path, Path, bytes, int]] = []
    try:
        for path, data in items:
            mode = _mode_of(path, None)
            tmp = temp_path(path)
            _write_temp(tmp, data, mode, sync=False)
            staged.append((path, tmp, data, mode))
        os.sync()
    except BaseException:
        _unlink_all(staged)
        raise
    done: list[tuple[Path, bytes | None]] = []
    try:
        for path, tmp, data, mode in staged:
            try:
                before: bytes | None = path.read_bytes()
            except FileNotFoundError:
                before = None
            _replace(tmp, path, data, mode, sync=True)
            done.append((path, before))
    except BaseException:
        for path, before in reversed(done):
            if before is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                atomic_write(path, before)
        _unlink_all(staged)
        raise
    for directory in {path.parent for path, _tmp, _data, _mode in staged}:
        fsync_dir(directory)


def _unlink_all(staged: Sequence[tuple[Path, Path, bytes, int]]) -> None:
    for _path, tmp, _data, _mode in staged:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# ----------------------------------------------------------------- private dirs


def _rmtree(path: Path) -> None:
    import shutil  # only the edit flow needs it; keep it off the decrypt path

    shutil.rmtree(path, ignore_errors=True)


def _private_base() -> Path:
    """Where plaintext may live briefly: tmpfs first, then the user's runtime/cache dir."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108 - tmpfs, by design
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitvault" / "private"
    )
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(cache, 0o700)
    return cache


def state_dir() -> Path:
    """gitvault's per-user state directory (``$XDG_STATE_HOME/gitvault``); not created here."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base, "gitvault")


def _registry() -> Path:
    """Where :func:`private_dir` records the paths of its directories (paths only)."""
    return state_dir() / "private-dirs"


def clean_stale(base: Path) -> None:
    """Remove private dirs left behind by runs of ours that were killed."""
    uid = os.getuid()
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            if not entry.name.startswith(_PREFIX):
                continue
            try:
                pid = int(entry.name.split("-")[1])
                if entry.stat().st_uid != uid or _pid_alive(pid):
                    continue
            except (ValueError, IndexError, OSError):
                continue
            _rmtree(entry)


def clean_dead_private_dirs() -> None:
    """Remove the private dirs of killed runs recorded in the registry, wherever they are.

    Cheap enough for every command: one ``scandir`` of a directory that is
    missing or empty unless a run was killed. A recorded path is removed only
    when its process is gone, it is named as :func:`private_dir` names them for
    that pid, and it is a real directory (not a symlink) owned by this user.
    Never raises.
    """
    uid = os.getuid()
    with contextlib.suppress(OSError):
        with os.scandir(_registry()) as entries:
            records = [e for e in entries if e.is_file(follow_symlinks=False)]
        for record in records:
            with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
                pid_text, start, _rest = record.name.split("-", 2)
                pid = int(pid_text)
                if process_alive(pid, start):
                    continue
                target = Path(Path(record.path).read_text(encoding="utf-8").strip())
                name_ok = target.name.startswith(f"{_PREFIX}{pid}-")
                if name_ok and target.is_absolute():
                    with contextlib.suppress(FileNotFoundError):
                        info = target.lstat()
                        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid:
                            _rmtree(target)
                os.unlink(record.path)


def _register(path: Path) -> Path | None:
    """Record ``path`` in the registry; None when the registry cannot be written."""
    try:
        registry = _registry()
        registry.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = registry / f"{process_token()}-{path.name}"
        write_private(record, str(path).encode("utf-8"))
        return record
    except OSError:
        return None  # the tmpfs dir is still removed on every exit path of this run


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh 0700 directory for plaintext files, removed however the block exits."""
    base = _private_base()
    clean_stale(base)
    clean_dead_private_dirs()
    path = base / f"{_PREFIX}{os.getpid()}-{os.urandom(8).hex()}"
    record = _register(path)  # before the directory exists: a kill leaves no orphan
    try:
        path.mkdir(mode=0o700)
        yield path
    finally:
        _rmtree(path)
        if record is not None:
            with contextlib.suppress(OSError):
                record.unlink()


def write_private(path: Path, data: bytes) -> None:
    """Create a 0600 file for plaintext (refusing to follow or reuse anything)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# Caps on what a file anyone can write may make us read (DESIGN §11: caps on every
# untrusted size). The largest real vault file we plan for (10,000 keys) is about
# 1.6 MB; a policy is a few kilobytes.
MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_POLICY_BYTES = 1024 * 1024


def _enclosing_root(path: Path) -> Path | None:
    """The nearest directory above ``path`` that holds ``.git`` or a policy file."""
    for d in path.parents:
        if (d / ".git").exists() or (d / ".gitvault.yaml").exists():
            return d
    return None


def read_input(path: Path, *, limit: int = MAX_INPUT_BYTES, root: Path | None = None) -> bytes:
    """Read a vault, policy or input file with one-line errors and the safety checks.

    Refused (``BadInput``, exit 5) before anything is read: a path that, through a
    symlink (of the file or of a directory on its way), leads outside the
    repository holding it (``root``, or the nearest directory above with ``.git``
    or a policy) — a branch must not make us read ``~/.ssh`` or another checkout;
    anything that is not a regular file or a pipe (``/dev/zero`` and other
    devices, sockets); and more than ``limit`` bytes (read at most one
    byte past the cap, so an endless pipe cannot exhaust memory either).
    """
    import stat as st

    try:
        # The file or any directory on its way may be a link a branch committed
        # (``secrets -> /elsewhere``): judge where the path really leads.
        absolute = path.absolute()
        base = root if root is not None else _enclosing_root(absolute)
        if base is not None and (absolute.is_relative_to(base.absolute())):
            target = absolute.resolve()
            inside = base.resolve()
            if target != inside and inside not in target.parents:
                raise BadInput(f"{path}: a symlink that leads outside the repository")
        info = path.stat()
        if st.S_ISDIR(info.st_mode):
            raise BadInput(f"{path}: is a directory")
        if not (st.S_ISREG(info.st_mode) or st.S_ISFIFO(info.st_mode)):
            raise BadInput(f"{path}: not a regular file")
        if st.S_ISREG(info.st_mode) and info.st_size > limit:
            raise BadInput(f"{path}: too large ({info.st_size} bytes; the limit is {limit})")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise BadInput(f"{path}: too large (more than {limit} bytes)")
        return data
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
