"""File-system helpers with the safety properties DESIGN §11 asks for.

- :func:`atomic_write` / :func:`write_many`: a temp file, fsync, rename, fsync
  the directory; a crash leaves the old file or the new one, never a torn one.
- Temp files never sit in the work tree: inside a git repository they live in
  ``$GIT_DIR/gitvault/tmp/`` (renamed across directories on one file system),
  so no walk of vault files, no ``git add -A`` and no ``verify`` ever sees one.
  Only when that is impossible (another file system, a read-only git dir, no
  repository) is the temp file placed beside its target, under a name that
  :func:`is_temp_name` recognises. Either way the name carries the writer's pid
  and process start time, and :func:`clean_stale_temps` removes the ones whose
  process is gone.
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
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitvault.errors import BadInput

_PREFIX = "gitvault-"
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


def _side_temp(path: Path) -> Path:
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
        return _side_temp(path)
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


def _fsync_dir(directory: Path) -> None:
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
    beside = _side_temp(path)
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
    _fsync_dir(directory)


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
        _fsync_dir(directory)


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


def read_input(path: Path) -> bytes:
    """Read a user-named input file with one-line errors for the usual mistakes."""
    try:
        if path.is_dir():
            raise BadInput(f"{path}: is a directory")
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
