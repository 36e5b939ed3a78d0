"""Find candidate places for the rules without running every regex on every byte.

Two implementations of one seam (:class:`Prefilter`):

- :class:`HyperscanPrefilter` compiles every rule's pattern into one Hyperscan
  database and reports, in one pass over a buffer, which rule may match and
  where its match ends. The compiled database is cached on disk under the
  user's cache directory, keyed by a hash of the rules and the Hyperscan
  version, so a hook does not pay the compile time again.
- :class:`KeywordPrefilter` is the fallback when Hyperscan is not installed:
  a rule is a candidate only when one of its keywords occurs in the buffer.

Both return windows of the buffer for the confirming Python ``re`` pass. This
module never sees findings and never stores scanned text; the cache holds only
the compiled rule patterns.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from gitvault.scan.rules import Rule

# A line longer than this is confirmed in a window around the match end, not as a whole.
LONG_LINE = 8192
_WINDOW_BACK = 4096
_WINDOW_AHEAD = 1024


class Prefilter(Protocol):
    """Says which rules may match where in a buffer."""

    name: str

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        """``(rule_index, window_start, window_end)`` triples, unique and unordered."""
        ...


def cache_dir() -> Path:
    """Where gitvault keeps rebuildable caches (``GITVAULT_CACHE_DIR`` overrides)."""
    explicit = os.environ.get("GITVAULT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "gitvault"


def line_window(data: bytes, end: int, span_back: int) -> tuple[int, int]:
    """The window to confirm a match ending at ``end``: its line(s), or a slice of a long line."""
    last = max(end - 1, 0)
    start = data.rfind(b"\n", 0, last) + 1
    stop = data.find(b"\n", last)
    if stop < 0:
        stop = len(data)
    if span_back:
        back = max(start - span_back, 0)
        start = data.rfind(b"\n", 0, back) + 1 if back else 0
    elif stop - start > LONG_LINE:
        start = max(start, end - _WINDOW_BACK)
        stop = min(stop, end + _WINDOW_AHEAD)
    return start, stop


class KeywordPrefilter:
    """Fallback: a rule runs on every line where one of its keywords occurs."""

    name = "python"

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = list(rules)

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        lowered = data.lower()
        seen: set[tuple[int, int, int]] = set()
        for index, rule in enumerate(self._rules):
            for keyword in rule.keywords:
                kw = keyword.encode("ascii")
                pos = lowered.find(kw)
                while pos >= 0:
                    # The keyword sits on the first line of a multi-line match, so the
                    # window reaches forward over as many bytes as the rule reaches back.
                    start, stop = line_window(data, pos + len(kw), 0)
                    if rule.span_back:
                        stop = data.find(b"\n", min(stop + rule.span_back, len(data)))
                        stop = len(data) if stop < 0 else stop
                    seen.add((index, start, stop))
                    pos = lowered.find(kw, stop)
        return list(seen)


class HyperscanPrefilter:
    """One Hyperscan pass over the buffer for all rules at once."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule], *, use_cache: bool = True) -> None:
        import hyperscan

        self._hs: Any = hyperscan
        self._rules = list(rules)
        self._db = self._load_or_compile(use_cache)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256(b"gitvault-hs-v1\0")
        digest.update(str(getattr(self._hs, "__version__", "?")).encode())
        for rule in self._rules:
            digest.update(b"\0" + rule.id.encode() + b"\0" + rule.prefilter_pattern.encode())
        return digest.hexdigest()[:24]

    def _compile(self) -> Any:
        hs = self._hs
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        flags = [hs.HS_FLAG_PREFILTER if r.needs_prefilter_flag else 0 for r in self._rules]
        db.compile(
            expressions=[r.prefilter_pattern.encode("ascii") for r in self._rules],
            ids=list(range(len(self._rules))),
            elements=len(self._rules),
            flags=flags,
        )
        return db

    def _load_or_compile(self, use_cache: bool) -> Any:
        hs = self._hs
        path = cache_dir() / f"scan-rules-{self._fingerprint()}.hsdb"
        if use_cache and path.is_file():
            try:
                db = hs.loadb(path.read_bytes(), hs.HS_MODE_BLOCK)
                db.scratch = hs.Scratch(db)
                return db
            except Exception:
                with contextlib.suppress(OSError):
                    path.unlink()
        db = self._compile()
        if use_cache:
            self._store(path, bytes(hs.dumpb(db)))
        return db

    @staticmethod
    def _store(path: Path, blob: bytes) -> None:
        # Atomic write: a concurrent hook sees the old file or the new one, never half.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hsdb-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable cache only costs compile time next run

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        ends: list[tuple[int, int]] = []
        append = ends.append

        def on_match(rule_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append((rule_id, to))

        self._db.scan(data, match_event_handler=on_match)
        seen: set[tuple[int, int, int]] = set()
        last: dict[int, int] = {}
        rules = self._rules
        for rule_id, to in ends:
            # Many ends of one rule fall on one line; skip them before computing windows.
            if last.get(rule_id, -1) >= to:
                continue
            start, stop = line_window(data, to, rules[rule_id].span_back)
            last[rule_id] = stop
            seen.add((rule_id, start, stop))
        return list(seen)


def make_prefilter(rules: Sequence[Rule], *, engine: str = "auto") -> Prefilter:
    """Hyperscan when available (or asked for), the keyword fallback otherwise."""
    if engine in ("auto", "hyperscan"):
        try:
            return HyperscanPrefilter(rules)
        except ImportError:
            if engine == "hyperscan":
                raise
    return KeywordPrefilter(rules)
