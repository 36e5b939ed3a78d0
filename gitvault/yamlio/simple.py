"""A strict reader for the simple block YAML a policy file is written in.

Every command that loads ``.gitvault.yaml`` paid for importing PyYAML (more
than reading a 10,000-key vault file's layout) to parse a few dozen lines.
This reader takes the shapes policies use: block mappings with plain keys,
block sequences (``- value``, ``- key: value`` items), flow sequences and
flow mappings of scalars on one line, plain and quoted scalars without
escapes, blank lines and comments. It returns the same plain data as
``to_python(load_documents(text)[0])`` (plain scalars typed by
:func:`gitvault.yamlio.scalars.resolve_plain`, quoted ones as strings), or
None for anything else (anchors, tags, block scalars, escapes, duplicate or
odd keys, tabs, several documents, unusual indentation…), and the caller
then uses the full parser, which also gives the proper error. A property
test holds the two readers to the same result wherever this one answers.
"""

from __future__ import annotations

import re

from gitvault.model import Timestamp
from gitvault.yamlio import scalars

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Plain scalars: no indicator at the start, no ": ", " #", quotes or flow characters.
_PLAIN = re.compile(r"[A-Za-z0-9_./~^$()+=][A-Za-z0-9 _./~^$()+=@:*-]*")
_INDICATORS = "&*!|>%@`?"
MAX_LINES = 10_000
MAX_DEPTH = 32


class _Bail(Exception):
    """Not a shape this reader takes: use the full parser."""


def _plain(text: str) -> object:
    if _PLAIN.fullmatch(text) is None or text.endswith((" ", ":")) or ": " in text or " #" in text:
        raise _Bail
    try:
        value = scalars.resolve_plain(text)
    except Exception as exc:  # e.g. an integer beyond int64: the full parser reports it
        raise _Bail from exc
    if scalars.is_merge_key(value):
        raise _Bail
    return value.text if isinstance(value, Timestamp) else value


def _quoted(text: str) -> str | None:
    """The string of a complete ``"…"``/``'…'`` scalar without escapes, else None."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] not in inner and "\\" not in inner and "\n" not in inner:
            return inner
        raise _Bail
    return None


def _scalar(text: str) -> object:
    quoted = _quoted(text)
    return quoted if quoted is not None else _plain(text)


def _comment_or_nothing(rest: str) -> bool:
    """True for "" or spaces then a ``#`` comment (what may follow a closed value)."""
    return not rest or (rest[0] == " " and rest.lstrip(" ").startswith("#"))


def _strip_comment(text: str) -> str:
    """The value without a trailing `` # comment`` (quotes and flow kept whole)."""
    if text[:1] in "\"'":
        end = text.find(text[0], 1)
        if end < 0:
            raise _Bail
        if not _comment_or_nothing(text[end + 1 :]):
            raise _Bail
        return text[: end + 1]
    if text[:1] in "[{":
        close = "]" if text[0] == "[" else "}"
        end = text.find(close)
        if end < 0:
            raise _Bail
        if not _comment_or_nothing(text[end + 1 :]):
            raise _Bail
        body = text[: end + 1]
        if "#" in body:
            raise _Bail
        return body
    cut = text.find(" #")
    return (text if cut < 0 else text[:cut]).rstrip(" ")


def _flow(text: str) -> object:
    inner = text[1:-1].strip()
    if text[0] == "[":
        if not inner:
            return []
        return [_flow_item(part) for part in inner.split(",")]
    out: dict[str, object] = {}
    if not inner:
        return out
    for part in inner.split(","):
        key, sep, value = part.strip().partition(": ")
        if not sep or _KEY.fullmatch(key) is None or key in out:
            raise _Bail
        if scalars.resolve_plain(key) != key:
            raise _Bail
        out[key] = _flow_item(value)
    return out


def _flow_item(part: str) -> object:
    item = part.strip()
    if not item or any(c in item for c in "[]{}") or (":" in item and item[0] not in "\"'"):
        raise _Bail
    return _scalar(item)


def _value(text: str) -> object:
    if not text or text[0] in _INDICATORS or text[0] in "-#,":
        raise _Bail
    if text[0] in "[{":
        if text[-1] != ("]" if text[0] == "[" else "}"):
            raise _Bail
        return _flow(text)
    return _scalar(text)


class _Reader:
    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines  # (indent, content) with blank and comment lines removed
        self.i = 0

    def block(self, indent: int, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise _Bail
        ind, body = self.lines[self.i]
        if ind != indent:
            raise _Bail
        if body == "-" or body.startswith("- "):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        while self.i < len(self.lines):
            ind, body = self.lines[self.i]
            if ind < indent:
                break
            if ind > indent or body.startswith("-"):
                raise _Bail
            key, sep, rest = body.partition(":")
            if not sep or _KEY.fullmatch(key) is None or key in out or (rest and rest[0] != " "):
                raise _Bail
            if scalars.resolve_plain(key) != key:
                raise _Bail
            self.i += 1
            text = _strip_comment(rest.strip(" ")) if rest.strip() else ""
            if text.startswith("#"):
                text = ""
            if text:
                out[key] = _value(text)
                continue
            out[key] = self.nested(indent, depth)
        return out

    def nested(self, indent: int, depth: int) -> object:
        """What follows a bare ``key:``: a deeper block, a same-indent list, or null."""
        if self.i >= len(self.lines):
            return None
        ind, body = self.lines[self.i]
        if ind > indent:
            return self.block(ind, depth + 1)
        if ind == indent and (body == "-" or body.startswith("- ")):
            return self.sequence(indent, depth + 1)
        return None

    def sequence(self, indent: int, depth: int) -> list[object]:
        out: list[object] = []
        while self.i < len(self.lines):
            ind, body = self.lines[self.i]
            if ind < indent:
                break
            if ind > indent or body == "-":
                raise _Bail
            if not body.startswith("- "):
                break  # a key at the list's indent: an indentless list under it ends
            item = body[2:].lstrip(" ")
            if len(body) - 2 - len(item) != 0:
                raise _Bail  # "-   x": unusual spacing
            key, sep, rest = item.partition(":")
            if sep and _KEY.fullmatch(key) and (not rest or rest[0] == " "):
                # "- key: value": a mapping whose keys sit at dash + 2
                self.lines[self.i] = (indent + 2, item)
                out.append(self.mapping(indent + 2, depth + 1))
                continue
            self.i += 1
            text = _strip_comment(item)
            if not text:
                raise _Bail
            out.append(_value(text))
        return out


def load_simple(text: str) -> dict[str, object] | None:
    """The document's data if ``text`` is simple block YAML (see module doc), else None."""
    if "\t" in text or "\r" in text or "\\" in text or not text.endswith("\n"):
        return None
    lines: list[tuple[int, str]] = []
    raw = text.split("\n")
    if len(raw) > MAX_LINES:
        return None
    for line in raw:
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        if line.startswith(("---", "...", "%")) or body.endswith(" "):
            return None
        lines.append((len(line) - len(body), body))
    if not lines or lines[0][0] != 0:
        return None
    reader = _Reader(lines)
    try:
        data = reader.mapping(0, 0)
    except (_Bail, ValueError, IndexError, RecursionError):
        return None
    if reader.i != len(lines):
        return None
    return data
