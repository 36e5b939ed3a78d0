"""File-system helpers with the safety properties DESIGN §11 asks for.

- :func:`atomic_write`: temp file in the same directory, fsync, rename, fsync
  the directory; a crash leaves the old file or the new one, never a torn one.
- :func:`private_dir`: a 0700 directory for plaintext, on tmpfs when there is
  one, never inside the work tree or the system temp directory, removed on
  every exit path; leftovers of killed runs are removed by the next run.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gitvault.errors import BadInput

_PREFIX = "gitvault-"


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permissions if it exists."""
    directory = path.parent if str(path.parent) else Path(".")
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh 0700 directory for plaintext files, removed however the block exits."""
    base = _private_base()
    clean_stale(base)
    path = base / f"{_PREFIX}{os.getpid()}-{os.urandom(8).hex()}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        _rmtree(path)


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
