"""Find the vault's own secret values in text (the layer no pattern can replace).

Given the plaintext values the committer can decrypt, report every place an
added line contains one — also low-entropy values like ``Summer2024!`` that no
rule would flag. One multi-string search per buffer: an in-memory Hyperscan
literal database, or one alternation regex when Hyperscan is missing.

Scale. Building the matcher is linear in the number of values: one literal
each, no start-of-match tracking (a literal's start is its end minus its
length), compiled in databases of at most :data:`CHUNK` literals — Hyperscan's
compile time and memory grow faster than the literal count (40,000 literals in
one database: ~4 s and ~110 MiB during the compile; in chunks of 4,096: ~0.7 s
and ~25 MiB), and scanning a buffer once per chunk costs microseconds. The
number of chunks is capped (:data:`MAX_CHUNKS`; past that they grow instead),
so scanning stays linear in the bytes scanned. It is built once per process
(:func:`matcher_for` keeps the last one), so a hook or ``review`` that scans
several sources pays for it once.
Hyperscan refuses literals over 16 KiB; a longer value (a certificate bundle,
a base64 blob) is searched by its first :data:`ANCHOR_BYTES` bytes and each
candidate is confirmed against the whole value, so any length works in linear
time.

What this module must never do: write a value anywhere (no cache, no log, no
exception text), or return one. Results name the vault key path and offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Shorter values match too much ordinary text to be worth a blocked commit.
MIN_LENGTH = 8
# Longer values are searched by this prefix and confirmed whole (Hyperscan's
# literal limit is 16 KiB; a short anchor also keeps its database small).
ANCHOR_BYTES = 256
# Literals per Hyperscan database, and how many databases at most (see above).
CHUNK = 4096
MAX_CHUNKS = 32
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
        self._dbs: list[tuple[int, Any]] = []  # (first anchor slot, database)
        self._regex: re.Pattern[bytes] | None = None
        # Distinct anchors (each needle's first ANCHOR_BYTES) -> the needles sharing it.
        self._anchors: list[bytes] = []
        self._by_anchor: list[list[int]] = []
        if not needles:
            return
        if engine in ("auto", "hyperscan"):
            try:
                import hyperscan  # noqa: F401  (only: is it there?)
            except ImportError:
                if engine == "hyperscan":
                    raise
            else:
                self._index_anchors()
                size = max(CHUNK, -(-len(self._anchors) // MAX_CHUNKS))
                for first in range(0, len(self._anchors), size):
                    chunk = self._anchors[first : first + size]
                    self._dbs.append((first, self._compile_hyperscan(chunk)))
                return
        # Longest first so a value that contains another is reported as itself.
        ordered = sorted(range(len(needles)), key=lambda i: -len(needles[i]))
        self._order = ordered
        self._regex = re.compile(b"|".join(b"(" + re.escape(needles[i]) + b")" for i in ordered))

    def __len__(self) -> int:
        return len(self._needles)

    def _index_anchors(self) -> None:
        position: dict[bytes, int] = {}
        for index, needle in enumerate(self._needles):
            anchor = needle[:ANCHOR_BYTES]
            slot = position.get(anchor)
            if slot is None:
                position[anchor] = slot = len(self._anchors)
                self._anchors.append(anchor)
                self._by_anchor.append([])
            self._by_anchor[slot].append(index)

    @staticmethod
    def _compile_hyperscan(literals: list[bytes]) -> Any:
        import hyperscan as hs

        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        # Literal mode: values are matched byte for byte, regex metacharacters included.
        # No SOM flag: a literal starts at its end minus its length, and start-of-match
        # tracking makes the compile slower and the database larger. Memory only.
        db.compile(
            expressions=literals,
            ids=list(range(len(literals))),
            elements=len(literals),
            flags=0,
            literal=True,
        )
        return db

    def find(self, data: bytes) -> list[KnownHit]:
        """Every occurrence of every value in ``data``, longest value first on overlaps."""
        if not self._needles:
            return []
        hits: list[KnownHit] = []
        if self._dbs:
            found: list[tuple[int, int]] = []

            def on_match(idx: int, _start: int, end: int, _flags: int, first: int) -> None:
                found.append((first + idx, end))  # ids are per database: add its offset

            for first, db in self._dbs:
                db.scan(data, match_event_handler=on_match, context=first)
            for slot, end in found:
                start = end - len(self._anchors[slot])
                for idx in self._by_anchor[slot]:
                    needle = self._needles[idx]
                    # Equal to the anchor unless the value is longer: confirm all of it.
                    if len(needle) == end - start or data.startswith(needle, start):
                        hits.append(KnownHit(start, start + len(needle), self._names[idx], idx))
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


_LAST: tuple[tuple[str, tuple[tuple[str, str], ...]], KnownValues] | None = None


def matcher_for(pairs: Sequence[tuple[str, str]], engine: str = "auto") -> KnownValues:
    """The matcher for ``pairs``, built once per process for the same pairs and engine.

    Only the last matcher is kept, in memory (never on disk: it holds the
    values); comparing the pairs is linear and cheap next to a build.
    """
    global _LAST
    key = (engine, tuple(pairs))
    if _LAST is not None and _LAST[0] == key:
        return _LAST[1]
    matcher = KnownValues(key[1], engine=engine)
    _LAST = (key, matcher)
    return matcher
