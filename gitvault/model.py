"""The in-memory document model shared by the YAML layer and the SOPS layer.

A document is a :class:`Mapping` (SOPS files must have a mapping at the top).
Mappings and sequences keep comments in place, as SOPS does, so that a file
can be decrypted, edited and re-encrypted without losing them. Scalars are
plain Python values typed the way go-yaml v3 types them (which is what the
real ``sops`` binary uses; see ``gitvault.yamlio.scalars``):

``str``, ``int`` (64-bit), ``float``, ``bool``, ``None`` and :class:`Timestamp`.

This module has no dependencies and must never perform I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Union

from gitvault.records import record


@record(frozen=True, slots=True)
class Comment:
    """A YAML comment; ``text`` is everything after the ``#``.

    ``inline`` marks a comment that stood at the end of a value's line
    (``key: value # note``). sops >= 3.13 keeps such comments there (its
    ``Comment.Inline``); it sits in the tree just before the entry it belongs
    to, where older sops put every such comment on its own line.
    """

    text: str
    inline: bool = False


@record(frozen=True, slots=True)
class Timestamp:
    """A YAML timestamp, kept as the RFC 3339 text Go would format it to.

    Python's datetime has only microseconds; Go keeps nanoseconds. Holding the
    canonical text (``2024-01-02T03:04:05.123456789+02:00``) keeps every digit
    and is exactly the plaintext SOPS encrypts for ``type:time``.
    """

    text: str

    def __str__(self) -> str:
        return self.text


Scalar = str | int | float | bool | None | Timestamp
Node = Union["Mapping", "Sequence", Scalar]


class Mapping:
    """An ordered YAML mapping with comments kept between its entries.

    ``entries`` holds ``(key, value)`` tuples and :class:`Comment` objects in
    document order. Keys are strings (SOPS refuses anything else).
    """

    __slots__ = ("entries",)

    def __init__(self, entries: list[tuple[str, Node] | Comment] | None = None) -> None:
        self.entries: list[tuple[str, Node] | Comment] = entries if entries is not None else []

    def items(self) -> Iterator[tuple[str, Node]]:
        """Key/value pairs, comments skipped."""
        for entry in self.entries:
            if not isinstance(entry, Comment):
                yield entry

    def keys(self) -> list[str]:
        return [k for k, _ in self.items()]

    def get(self, key: str, default: Node = None) -> Node:
        for k, v in self.items():
            if k == key:
                return v
        return default

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    def set(self, key: str, value: Node) -> None:
        """Replace the value of ``key`` in place, or append a new entry."""
        for i, entry in enumerate(self.entries):
            if not isinstance(entry, Comment) and entry[0] == key:
                self.entries[i] = (key, value)
                return
        self.entries.append((key, value))

    def remove(self, key: str) -> bool:
        """Remove ``key``; return whether it was present."""
        for i, entry in enumerate(self.entries):
            if not isinstance(entry, Comment) and entry[0] == key:
                del self.entries[i]
                return True
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self.entries == other.entries

    def __repr__(self) -> str:
        return f"Mapping({self.entries!r})"

    __hash__ = None  # type: ignore[assignment]


class Sequence(list):  # type: ignore[type-arg]
    """A YAML sequence; items are nodes or :class:`Comment` objects."""

    __slots__ = ()


def to_python(node: Node) -> object:
    """Plain Python data (dicts, lists, scalars; timestamps as text), comments dropped."""
    if isinstance(node, Mapping):
        return {k: to_python(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_python(v) for v in node if not isinstance(v, Comment)]
    if isinstance(node, Timestamp):
        return node.text
    return node


def from_python(value: object) -> Node:
    """Build a model tree from plain Python data (dicts, lists, scalars)."""
    if isinstance(value, Mapping | Timestamp):
        return value
    if isinstance(value, dict):
        return Mapping([(str(k), from_python(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return Sequence(from_python(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__}")
