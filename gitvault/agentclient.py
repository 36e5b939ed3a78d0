"""Read what ``gitvault agent`` renders, and notice when it changes: for Python apps.

The agent writes each output atomically (a temporary file in the same
directory, fsync, rename), so a reader that opens the path gets either the
whole old file or the whole new one. This module is what an application
imports to use that::

    from gitvault.agentclient import OutputWatcher

    watcher = OutputWatcher("/run/secrets/app.json", on_change=reconnect)
    settings = watcher.current          # {"DB_URL": "...", ...}
    watcher.start(interval=1.0)         # a daemon thread calls reconnect(new, old)

or, driven by the agent's SIGHUP instead of polling, call ``watcher.check()``
from the application's own reload path.

Formats (what ``gitvault export``/the agent write): ``json`` (one flat object),
``dotenv`` (``NAME='value'``, python-dotenv quoting) and ``env`` (``export
NAME='value'`` for a POSIX shell); chosen by the file's suffix unless given.

Rules this module keeps: standard library only, and nothing from gitvault at
import time (an app may vendor this one file); it never logs, prints or puts a
value into an exception message (errors name the file, a line, a key); a read
is capped at :data:`MAX_BYTES`; a file that does not parse never replaces the
last good values.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_BYTES",
    "OutputError",
    "OutputWatcher",
    "Rendering",
    "changed_keys",
    "parse_output",
    "read_output",
]

MAX_BYTES = 32 * 1024 * 1024
"""Largest output file read (the same cap as gitvault's input files)."""

FORMATS = ("json", "dotenv", "env")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOUBLE_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}

Values = dict[str, Any]
Callback = Callable[[Values, Values], None]


class OutputError(Exception):
    """An output file is missing, too large or malformed. The message holds no value."""


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """``fmt`` if given, else from the suffix: ``.json`` → json, ``.sh`` → env, else dotenv."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".sh", ".env.sh"):
        return "env"
    return "dotenv"


def parse_output(text: str, fmt: str, *, origin: str = "output") -> Values:
    """Parse an output's text in format ``fmt``; :class:`OutputError` names ``origin``."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # exc.msg describes the syntax only; the document is not quoted.
            raise OutputError(f"{origin}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(data, dict):
            raise OutputError(f"{origin}: expected a JSON object")
        return data
    if fmt in ("dotenv", "env"):
        return _parse_assignments(text, origin, shell=fmt == "env")
    raise ValueError(f"unknown output format {fmt!r}")


def _parse_assignments(text: str, origin: str, *, shell: bool) -> Values:
    """``NAME=value`` lines as gitvault writes them (see gitvault/export/dotenv.py, env.py)."""
    values: Values = {}
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            i, line = i + 1, line + 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("export ", i):
            i += len("export ")
            continue
        match = _NAME.match(text, i)
        if match is None or match.end() >= n or text[match.end()] != "=":
            raise OutputError(f"{origin}: line {line}: expected NAME=value")
        name = match.group()
        i = match.end() + 1
        value, i, line = _read_value(text, i, line, origin, shell=shell)
        values[name] = value
    return values


def _read_value(text: str, i: int, line: int, origin: str, *, shell: bool) -> tuple[str, int, int]:
    """One value starting at ``i``; returns (value, index after it, line number)."""
    n = len(text)
    out: list[str] = []
    while i < n and text[i] not in "\n":
        ch = text[i]
        if ch == "'":
            i += 1
            while True:
                if i >= n:
                    raise OutputError(f"{origin}: line {line}: unterminated quote")
                ch = text[i]
                if ch == "'":
                    i += 1
                    break
                if not shell and ch == "\\" and i + 1 < n and text[i + 1] in "\\'":
                    out.append(text[i + 1])
                    i += 2
                    continue
                if ch == "\n":
                    line += 1
                out.append(ch)
                i += 1
        elif ch == '"' and not shell:
            i += 1
            while True:
                if i >= n:
                    raise OutputError(f"{origin}: line {line}: unterminated quote")
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < n and text[i + 1] in _DOUBLE_ESCAPES:
                    out.append(_DOUBLE_ESCAPES[text[i + 1]])
                    i += 2
                    continue
                if ch == "\n":
                    line += 1
                out.append(ch)
                i += 1
        elif shell and ch == "\\" and i + 1 < n:
            out.append(text[i + 1])  # '\'' : an escaped quote between two quoted parts
            i += 2
        elif ch in " \t":
            rest = text[i:].split("\n", 1)[0].strip()
            if rest and not rest.startswith("#"):
                raise OutputError(f"{origin}: line {line}: unexpected text after a value")
            i += len(text[i:].split("\n", 1)[0])
        else:
            out.append(ch)
            i += 1
    return "".join(out), i, line


@dataclass(frozen=True)
class Rendering:
    """One read of an output file: its values and what identifies that version."""

    values: Values
    digest: str  # sha256 of the bytes, hex
    stamp: tuple[int, int, int, int]  # (st_dev, st_ino, st_size, st_mtime_ns) of the read fd


def _read(path: Path, fmt: str) -> Rendering:
    try:
        # Open once and fstat the descriptor: the agent's rename swaps the directory
        # entry, never the inode we hold, so stamp and bytes describe one version.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise OutputError(f"{path}: no such file (has the agent rendered it yet?)") from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if st.st_size > MAX_BYTES:
            raise OutputError(f"{path}: larger than {MAX_BYTES} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_BYTES:
                raise OutputError(f"{path}: larger than {MAX_BYTES} bytes")
            chunks.append(chunk)
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError(f"{path}: not UTF-8 text") from None
    values = parse_output(text, fmt, origin=str(path))
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return Rendering(values, hashlib.sha256(raw).hexdigest(), stamp)


def read_output(path: str | os.PathLike[str], fmt: str | None = None) -> Values:
    """The values in one output file (``fmt``: json, dotenv or env; default by suffix)."""
    p = Path(path)
    return dict(_read(p, format_for(p, fmt)).values)


def _stamp_of(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class OutputWatcher:
    """Holds the last good values of one output file and notices new versions.

    ``check()`` is cheap when nothing changed (one ``stat``); when the inode,
    size or mtime differ it reads the file and compares a SHA-256 of its bytes,
    so a rewrite with the same content is not a change. ``on_change(new, old)``
    runs after :attr:`current` is updated (from the thread that called
    ``check``). A file that is missing or does not parse keeps the last good
    values and is recorded in :attr:`last_error`; it is read again next time.
    """

    path: Path
    fmt: str | None = None
    on_change: Callback | None = None
    _rendering: Rendering | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    last_error: str | None = field(default=None, init=False)
    changes: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.fmt = format_for(self.path, self.fmt)

    @property
    def current(self) -> Values:
        """The last good values (read on first use; :class:`OutputError` if never readable)."""
        with self._lock:
            if self._rendering is None:
                assert self.fmt is not None
                self._rendering = _read(self.path, self.fmt)
            return dict(self._rendering.values)

    @property
    def digest(self) -> str | None:
        """SHA-256 of the bytes behind :attr:`current` (None before the first read)."""
        return self._rendering.digest if self._rendering else None

    def check(self) -> bool:
        """Look for a new version now; True when the values changed (callback ran)."""
        assert self.fmt is not None
        with self._lock:
            old = self._rendering
            stamp = _stamp_of(self.path)
            if old is not None and stamp == old.stamp:
                return False
            try:
                new = _read(self.path, self.fmt)
            except OutputError as exc:
                self.last_error = str(exc)
                return False
            self.last_error = None
            self._rendering = new
            if old is not None and new.digest == old.digest:
                return False
            if old is None:
                return False  # the first read is not a change
            self.changes += 1
            callback, new_values, old_values = self.on_change, dict(new.values), dict(old.values)
        if callback is not None:
            callback(new_values, old_values)
        return True

    def start(self, interval: float = 1.0) -> threading.Thread:
        """Poll every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                self.check()

        self._thread = threading.Thread(target=loop, name="gitvault-agentclient", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop the polling thread started by :meth:`start`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def changed_keys(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[str]:
    """Names added, removed or with a different value (names only, for a log line)."""
    missing_new, missing_old = object(), object()
    return sorted(
        k for k in new.keys() | old.keys() if new.get(k, missing_new) != old.get(k, missing_old)
    )
