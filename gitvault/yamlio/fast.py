"""A strict line reader for the canonical layout sops and gitvault write.

Encrypted vault files almost always have exactly the shape the emitter
produces: block mappings with simple keys, ``ENC[…]`` values, comment lines,
``- `` sequences and the ``enc: |`` armor blocks. Reading those lines directly
is several times faster than a general YAML parse and needs no YAML library,
which is what keeps ``decrypt`` and ``export`` fast.

The reader accepts only what it fully understands and returns None for
anything else (quotes with escapes, flow style, anchors, odd indentation,
blank lines, duplicate keys…); the caller then uses the full parser, which
also produces the proper error for malformed input. A test checks that both
readers build identical trees wherever this one accepts a file.
"""

from __future__ import annotations

import re

from gitvault.model import Comment, Mapping, Node, Sequence
from gitvault.yamlio import scalars

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?")
_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_.:/+=@-]*")
_DQ = re.compile(r'"([^"\\]*)"')


_KEY_OK: dict[str, bool] = {}


def _plain_key(key: str) -> bool:
    """Whether an unquoted key reads back as that same string (cached: keys repeat)."""
    ok = _KEY_OK.get(key)
    if ok is None:
        ok = _KEY_OK[key] = scalars.resolve_plain(key) == key
    return ok


class _Bail(Exception):
    """The input is not in the canonical layout; use the full parser."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _scalar(text: str) -> Node:
    if text.startswith("ENC["):
        # Shape only: the value codec validates every field when it decrypts.
        if not text.endswith("]") or " " in text or "#" in text:
            raise _Bail
        return text
    if text == "null":
        return None
    if text == "{}":
        return Mapping()
    if text == "[]":
        return Sequence()
    if text[:1] == '"':  # _PLAIN never matches a leading quote
        m = _DQ.fullmatch(text)
        if m is None:
            raise _Bail
        return m.group(1)
    if _PLAIN.fullmatch(text) is None or text.endswith(":"):
        raise _Bail
    try:
        value = scalars.resolve_plain(text)
    except Exception as exc:  # e.g. an out-of-range integer: let the full parser report it
        raise _Bail from exc
    if scalars.is_merge_key(value):
        raise _Bail
    return value  # type: ignore[return-value]


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.i = 0

    def mapping(self, indent: int) -> Mapping:
        # The hot loop of every decrypt: helpers inlined, the ENC[…] value (the
        # common case) taken without a call. Same acceptance as before.
        node = Mapping()
        append = node.entries.append
        seen: set[str] = set()
        lines = self.lines
        count = len(lines)
        key_line = _KEY_LINE.fullmatch
        key_ok = _KEY_OK
        i = self.i
        while i < count:
            line = lines[i]
            if not line:
                raise _Bail
            body = line.lstrip(" ")
            ind = len(line) - len(body)
            if ind < indent:
                break
            if ind > indent:
                raise _Bail
            if body[0] == "#":
                append(Comment(body[1:]))
                i += 1
                continue
            m = key_line(body)
            if m is None:
                raise _Bail
            key, rest = m.groups()
            if key in seen or not (key_ok[key] if key in key_ok else _plain_key(key)):
                raise _Bail
            seen.add(key)
            i += 1
            if rest is None or rest == "|":
                self.i = i
                value = self.nested(indent) if rest is None else self.literal(indent)
                i = self.i
            elif rest.startswith("ENC[") and rest[-1] == "]" and " " not in rest:
                if "#" in rest:
                    raise _Bail
                value = rest
            else:
                value = _scalar(rest)
            append((key, value))
        self.i = i
        return node

    def nested(self, indent: int) -> Node:
        """The block under ``key:``: a mapping or a sequence, more indented."""
        if indent > 4 * 100:
            raise _Bail  # very deep: let the full parser refuse it with a proper error
        j = self.i
        lines = self.lines
        while j < len(lines) and lines[j].lstrip(" ").startswith("#"):
            j += 1
        if j >= len(lines) or not lines[j]:
            raise _Bail
        child = _indent(lines[j])
        if child <= indent:
            raise _Bail
        if lines[j][child:].startswith("- "):
            if _indent(lines[self.i]) != child:
                raise _Bail  # comments not at the dash column
            return self.sequence(child)
        return self.mapping(child)

    def sequence(self, indent: int) -> Sequence:
        seq = Sequence()
        lines = self.lines
        while self.i < len(lines):
            line = lines[self.i]
            if not line:
                raise _Bail
            ind = _indent(line)
            if ind < indent:
                break
            if ind > indent:
                raise _Bail
            body = line[ind:]
            if body[0] == "#":
                seq.append(Comment(body[1:]))
                self.i += 1
                continue
            if not body.startswith("- "):
                raise _Bail
            item = body[2:]
            if _KEY_LINE.fullmatch(item) is not None:
                # "- key: value": a mapping whose keys sit at dash + 2
                self.lines[self.i] = " " * (indent + 2) + item
                seq.append(self.mapping(indent + 2))
                continue
            if item.startswith(("- ", "#")) or item == "|":
                raise _Bail
            seq.append(_scalar(item))
            self.i += 1
        return seq

    def literal(self, indent: int) -> str:
        """A ``|`` block (clip chomping): the lines more indented than the key."""
        lines = self.lines
        if self.i >= len(lines) or not lines[self.i]:
            raise _Bail
        block = _indent(lines[self.i])
        if block <= indent:
            raise _Bail
        out = []
        while self.i < len(lines):
            line = lines[self.i]
            if not line or _indent(line) < block:
                break
            out.append(line[block:])
            self.i += 1
        return "\n".join(out) + "\n"


def load_canonical(text: str) -> list[Mapping] | None:
    """Documents of a canonical-layout file, or None when the full parser is needed."""
    if not text.endswith("\n") or "\t" in text or "\r" in text or "&" in text or "*" in text:
        return None
    docs: list[Mapping] = []
    try:
        for chunk in text[:-1].split("\n---\n") if not text.startswith("---") else [None]:
            if chunk is None:
                return None
            lines = chunk.split("\n")
            reader = _Reader(lines)
            doc = reader.mapping(0)
            if reader.i != len(lines) or len(doc) == 0:
                return None
            docs.append(doc)
    except (_Bail, IndexError, RecursionError):
        return None
    return docs
