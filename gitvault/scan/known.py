"""Find the vault's own secret values in text (the layer no pattern can replace).

Given the plaintext values the committer can decrypt, report every place an
added line contains one — also low-entropy values like ``Summer2024!`` that no
rule would flag. One multi-string search per buffer: an in-memory Hyperscan
literal database, or one alternation regex when Hyperscan is missing.

What this module must never do: write a value anywhere (no cache, no log, no
exception text), or return one. Results name the vault key path and offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Shorter values match too much ordinary text to be worth a blocked commit.
MIN_LENGTH = 8
# Values that are configuration rather than secrets, even when stored in a vault.
_BORING = frozenset({b"true", b"false", b"null", b"none", b"localhost", b"production", b"staging"})


@dataclass(frozen=True)
class KnownHit:
    """A vault value found at ``[start, end)`` of a buffer; ``key_path`` names it."""

    start: int
    end: int
    key_path: str
    value_index: int


def _needles(value: str) -> list[bytes]:
    """The searchable forms of one value: itself, or each long line of a multi-line value."""
    raw = value.encode("utf-8", "surrogatepass")
    if b"\n" not in raw:
        return [raw]
    return [line.strip() for line in raw.splitlines() if len(line.strip()) >= 16]


def _worth_searching(needle: bytes) -> bool:
    return len(needle) >= MIN_LENGTH and needle.lower() not in _BORING and not needle.isdigit()


class KnownValues:
    """A compiled multi-string matcher over (key path, value) pairs."""

    def __init__(self, pairs: Iterable[tuple[str, str]], *, engine: str = "auto") -> None:
        needles: list[bytes] = []
        names: list[str] = []
        seen: set[bytes] = set()
        for key_path, value in pairs:
            if not isinstance(value, str):
                continue
            for needle in _needles(value):
                if _worth_searching(needle) and needle not in seen:
                    seen.add(needle)
                    needles.append(needle)
                    names.append(key_path)
        self._needles = needles
        self._names = names
        self._db: Any = None
        self._regex: re.Pattern[bytes] | None = None
        if not needles:
            return
        if engine in ("auto", "hyperscan"):
            try:
                self._db = self._compile_hyperscan(needles)
                return
            except ImportError:
                if engine == "hyperscan":
                    raise
        # Longest first so a value that contains another is reported as itself.
        ordered = sorted(range(len(needles)), key=lambda i: -len(needles[i]))
        self._order = ordered
        self._regex = re.compile(b"|".join(b"(" + re.escape(needles[i]) + b")" for i in ordered))

    def __len__(self) -> int:
        return len(self._needles)

    @staticmethod
    def _compile_hyperscan(needles: list[bytes]) -> Any:
        import hyperscan as hs

        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        # Literal mode: values are matched byte for byte, regex metacharacters included.
        # SOM_LEFTMOST gives the start offset; the database lives only in memory.
        db.compile(
            expressions=needles,
            ids=list(range(len(needles))),
            elements=len(needles),
            flags=hs.HS_FLAG_SOM_LEFTMOST,
            literal=True,
        )
        return db

    def find(self, data: bytes) -> list[KnownHit]:
        """Every occurrence of every value in ``data``, longest value first on overlaps."""
        if not self._needles:
            return []
        hits: list[KnownHit] = []
        if self._db is not None:
            found: list[tuple[int, int, int]] = []

            def on_match(idx: int, start: int, end: int, _flags: int, _ctx: object) -> None:
                found.append((idx, start, end))

            self._db.scan(data, match_event_handler=on_match)
            for idx, start, end in found:
                hits.append(KnownHit(start, end, self._names[idx], idx))
        else:
            assert self._regex is not None
            for match in self._regex.finditer(data):
                group = match.lastindex or 1
                idx = self._order[group - 1]
                hits.append(KnownHit(match.start(), match.end(), self._names[idx], idx))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        kept: list[KnownHit] = []
        for hit in hits:
            if kept and hit.start < kept[-1].end:
                continue
            kept.append(hit)
        return kept
