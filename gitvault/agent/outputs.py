"""Switch a group of output files together, crash-safely: temps, a journal, renames.

One file is switched by a rename, which is atomic. Several files cannot be
renamed at once, so a group is switched in phases recorded in a small
journal (``.git/gitvault-agent/journal.json`` of the agent's clone; it holds
paths only, never a value):

1. the journal lists every target and the name of its temp file (``staged``);
2. each new content goes to its temp file *in the target's directory* —
   created exclusively, 0600, written, fsynced, then given the output's mode;
3. the journal is marked ``commit`` (written atomically and fsynced): from
   here on the switch will complete;
4. each temp is renamed over its target, each directory fsynced;
5. the journal is removed.

A crash before step 3 leaves every target untouched; the next start removes
the temps the journal names. A crash after it leaves some targets new and
some old for the moment; the next start (:func:`recover`) renames the temps
that are still there, so the group ends all new. Readers see each single
file old or new, never torn. A target whose new content is ``None`` is
removed in step 4 (restoring "no file" after a failed first rendering).

This is a journal rather than a generation directory and one symlink swap:
outputs live at paths the services already read (any directory, several
directories per group), which a single symlink cannot cover.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import BadInput
from gitvault.fsutil import fsync_dir

JOURNAL = "journal.json"
TEMP_MARK = ".gvagent-"
MAX_OUTPUT_READ = 32 * 1024 * 1024


@dataclass(frozen=True)
class Change:
    path: Path
    data: bytes | None  # None: remove the file
    mode: int = 0o600


def read_current(path: Path) -> bytes | None:
    """The output's current bytes (None when absent); a non-regular file is an error."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the current output ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        import stat

        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise BadInput(f"{path}: not a regular file")
        data = fh.read(MAX_OUTPUT_READ + 1)
    return data if len(data) <= MAX_OUTPUT_READ else None


def _temp_for(path: Path) -> Path:
    return path.parent / f".{path.name}{TEMP_MARK}{os.urandom(6).hex()}"


def write_json_durably(path: Path, payload: object, mode: int = 0o600) -> None:
    """Small JSON file (journal, state, status): same-dir temp, fsync, rename, fsync dir."""
    data = (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()
    tmp = _temp_for(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _write_temp(tmp: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        view = memoryview(data)
        while view:
            view = view[fh.write(view) :]
        fh.flush()
        os.fsync(fh.fileno())
        os.fchmod(fh.fileno(), mode)


def _ensure_dir(directory: Path) -> None:
    if not directory.is_dir():
        directory.mkdir(parents=True, mode=0o700)


def switch(changes: Sequence[Change], state: Path) -> None:
    """Apply every change or none (after :func:`recover`), as the module docstring says."""
    if not changes:
        return
    journal = state / JOURNAL
    plan = [(c, _temp_for(c.path) if c.data is not None else None) for c in changes]
    entries = [{"path": str(c.path), "temp": str(t) if t else None} for c, t in plan]
    write_json_durably(journal, {"phase": "staged", "items": entries})
    try:
        for c, tmp in plan:
            if tmp is None or c.data is None:
                continue
            try:
                _ensure_dir(c.path.parent)
                _write_temp(tmp, c.data, c.mode)
            except OSError as exc:
                raise BadInput(f"{c.path}: cannot write the output ({exc.strerror})") from None
        write_json_durably(journal, {"phase": "commit", "items": entries})
    except BaseException:
        _discard(plan)
        with contextlib.suppress(FileNotFoundError):
            journal.unlink()
        raise
    _finish(entries)
    journal.unlink()
    fsync_dir(state)


def _discard(plan: Sequence[tuple[Change, Path | None]]) -> None:
    for _c, tmp in plan:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _finish(entries: Sequence[dict[str, str | None]]) -> None:
    """Step 4, also what recovery does: idempotent (a missing temp was renamed already)."""
    dirs: set[Path] = set()
    for item in entries:
        path = Path(str(item["path"]))
        temp = item.get("temp")
        if temp is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            with contextlib.suppress(FileNotFoundError):
                os.replace(temp, path)
        dirs.add(path.parent)
    for d in dirs:
        fsync_dir(d)


def recover(state: Path) -> str | None:
    """Finish or undo a switch a crash interrupted; returns what was done (or None)."""
    journal = state / JOURNAL
    try:
        raw = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raw = {"phase": "broken", "items": []}
    items = [i for i in raw.get("items", []) if isinstance(i, dict) and "path" in i]
    if raw.get("phase") == "commit":
        _finish(items)
        what = f"completed an interrupted switch of {len(items)} output(s)"
    else:
        for item in items:
            if item.get("temp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(str(item["temp"]))
        what = f"discarded an interrupted switch of {len(items)} output(s)"
    journal.unlink()
    fsync_dir(state)
    return what


def stray_temps(paths: Sequence[Path]) -> list[Path]:
    """Temp files of ours beside the outputs (there should be none outside a switch)."""
    found: list[Path] = []
    for d in {p.parent for p in paths}:
        with contextlib.suppress(OSError):
            found.extend(c for c in d.iterdir() if TEMP_MARK in c.name)
    return sorted(found)
