"""Read YAML into the gitvault model, typed and commented as sops 3.11 reads it.

PyYAML's C parser gives fast events with positions; scalars are then typed by
:mod:`gitvault.yamlio.scalars` (go-yaml v3 rules, not PyYAML's YAML 1.1 ones).
PyYAML drops comments, so they are recovered from the source text between the
events and placed where sops 3.11 puts them: a comment on its own line goes
before the next entry of the collection it is indented into (or at the end of
that collection), and a comment at the end of a line goes just before the
entry that line belongs to.

Untrusted input is expected here: duplicate keys, non-string keys, alias
bombs, non-mapping documents and malformed YAML all raise :class:`BadInput`
with a one-line message that names a line, never a value.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitvault.errors import BadInput
from gitvault.model import Comment, Mapping, Node, Sequence
from gitvault.yamlio import scalars

try:  # the C parser is ~10× faster; fall back for exotic builds
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Expanding aliases can make a small file huge ("billion laughs"); refuse
# documents whose expanded size passes this many nodes.
MAX_EXPANDED_NODES = 2_000_000
# Deeper documents are refused rather than risking the interpreter's recursion limit
# in the walks that follow (encryption, decryption, output).
MAX_DEPTH = 100


@dataclass(slots=True)
class _SourceComment:
    pos: int  # character index of '#'
    line: int
    column: int
    text: str  # after '#'
    inline: bool  # something other than blanks precedes it on its line


@dataclass(slots=True)
class _Frame:
    node: Mapping | Sequence
    column: int  # column of the entries (keys or dashes); -1 for flow collections
    seen: set[str] = field(default_factory=set)


def _start(ev: Any) -> Any:
    """An event's start mark (typed loosely: the C and Python parsers differ)."""
    return ev.start_mark


def _end(ev: Any) -> Any:
    return ev.end_mark


def _find_comments(text: str, spans: list[tuple[int, int]]) -> list[_SourceComment]:
    """Every ``#`` comment in ``text`` that is not inside a scalar span."""
    out: list[_SourceComment] = []
    if "#" not in text:
        return out
    starts = [s for s, _ in spans]
    pos = text.find("#")
    while pos != -1:
        if pos == 0 or text[pos - 1] in " \t\n\r":
            i = bisect.bisect_right(starts, pos) - 1
            inside = i >= 0 and spans[i][0] <= pos < spans[i][1]
            if not inside:
                line_start = text.rfind("\n", 0, pos) + 1
                line_end = text.find("\n", pos)
                if line_end == -1:
                    line_end = len(text)
                body = text[pos + 1 : line_end].rstrip("\r")
                before = text[line_start:pos]
                out.append(
                    _SourceComment(
                        pos=pos,
                        line=text.count("\n", 0, pos),
                        column=pos - line_start,
                        text=body,
                        inline=bool(before.strip(" \t")),
                    )
                )
                pos = text.find("#", line_end)
                continue
        pos = text.find("#", pos + 1)
    return out


def _add_comment(node: Mapping | Sequence, text: str) -> None:
    if isinstance(node, Mapping):
        node.entries.append(Comment(text))
    else:
        node.append(Comment(text))


class _Builder:
    """Turns one stream of events into documents (one Mapping per document)."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.comments: list[_SourceComment] = []
        self.next_comment = 0
        self.anchors: dict[str, Node] = {}
        self.anchor_sizes: dict[str, int] = {}
        self.depth = 0
        self.expanded = 0
        # (id of a Mapping, key) -> 1-based line of the key, when asked for
        # (``import`` names the source line of every key it plans to write).
        self.key_lines: dict[tuple[int, str], int] | None = None

    def fail(self, message: str, line: int | None = None) -> BadInput:
        where = f"{self.name}:{line + 1}" if line is not None else self.name
        return BadInput(f"{where}: {message}")

    # -- comments ---------------------------------------------------------------

    def _take_until(self, pos: int) -> list[_SourceComment]:
        taken = []
        while self.next_comment < len(self.comments) and self.comments[self.next_comment].pos < pos:
            taken.append(self.comments[self.next_comment])
            self.next_comment += 1
        return taken

    def _inline_after(self, end_pos: int, line: int, also: str = "") -> _SourceComment | None:
        """The end-of-line comment right after a value ending at ``end_pos``, if any."""
        if self.next_comment < len(self.comments):
            c = self.comments[self.next_comment]
            if c.line == line and c.inline and c.pos >= end_pos:
                between = self.text[end_pos : c.pos]
                if between.strip(" \t" + also) == "":
                    self.next_comment += 1
                    return c
        return None

    # -- building ---------------------------------------------------------------

    def build(self, events: list[yaml.Event]) -> list[Mapping]:
        spans = [
            (_start(e).index, _end(e).index) for e in events if isinstance(e, yaml.ScalarEvent)
        ]
        self.comments = _find_comments(self.text, spans)
        docs: list[Mapping] = []
        i = 0
        n = len(events)
        while i < n:
            ev = events[i]
            if isinstance(ev, yaml.DocumentStartEvent):
                doc, i = self._document(events, i + 1)
                if doc is not None:
                    docs.append(doc)
                continue
            i += 1
        return docs

    def _document(self, events: list[yaml.Event], i: int) -> tuple[Mapping | None, int]:
        ev = events[i]
        if isinstance(ev, yaml.MappingStartEvent):
            root, i = self._collection(events, i)
            assert isinstance(root, Mapping)
        elif (
            isinstance(ev, yaml.ScalarEvent)
            and ev.value == ""
            and ev.style in (None, "")
            and ev.tag is None
        ):
            root, i = None, i + 1  # "---" with nothing after it: an empty document
        elif isinstance(ev, yaml.SequenceStartEvent):
            raise self.fail(
                "a document that is a list is not supported (sops needs a mapping)",
                _start(ev).line,
            )
        else:
            raise self.fail(
                "a document that is a single value is not supported (sops needs a mapping)",
                _start(ev).line,
            )
        end = events[i]
        assert isinstance(end, yaml.DocumentEndEvent)
        # Comments left at the end of the document trail the top-level mapping.
        tail = [
            Comment(c.text)
            for c in self._take_until(_end(end).index if end.end_mark else len(self.text))
        ]
        if root is not None:
            root.entries.extend(tail)
        elif tail:
            root = Mapping(list(tail))
        self.anchors.clear()
        return root, i + 1

    def _collection(self, events: list[yaml.Event], i: int) -> tuple[Node, int]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nested more than {MAX_DEPTH} levels deep", _start(events[i]).line)
            return self._collection_body(events, i)
        finally:
            self.depth -= 1

    def _collection_body(self, events: list[yaml.Event], i: int) -> tuple[Node, int]:
        start = events[i]
        flow = bool(getattr(start, "flow_style", False))
        is_map = isinstance(start, yaml.MappingStartEvent)
        node: Mapping | Sequence = Mapping() if is_map else Sequence()
        # Own-line comments indented at least to this column belong to the collection.
        frame = _Frame(node=node, column=-1 if flow else _start(start).column)
        anchor = getattr(start, "anchor", None)
        first_nodes = self.expanded
        i += 1
        while True:
            ev = events[i]
            if isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                # Own-line comments indented into this collection trail it.
                while self.next_comment < len(self.comments):
                    c = self.comments[self.next_comment]
                    if c.pos >= _start(ev).index:
                        break
                    if frame.column >= 0 and c.column < frame.column:
                        break
                    self.next_comment += 1
                    _add_comment(node, c.text)
                i += 1
                break
            # Comments before this entry are head comments of it.
            for c in self._take_until(_start(ev).index):
                _add_comment(node, c.text)
            if is_map:
                assert isinstance(node, Mapping)
                key_ev = ev
                if not isinstance(key_ev, yaml.ScalarEvent):
                    raise self.fail("complex mapping keys are not supported", _start(ev).line)
                key = scalars.resolve(key_ev.value, key_ev.tag, key_ev.style in (None, ""))
                if scalars.is_merge_key(key):
                    key = "<<"
                if not isinstance(key, str):
                    raise self.fail(
                        f"mapping key {key_ev.value[:40]!r} is not a string; "
                        "sops only supports string keys",
                        _start(ev).line,
                    )
                if key in frame.seen:
                    raise self.fail(f"duplicate key {key[:60]!r}", _start(ev).line)
                frame.seen.add(key)
                if self.key_lines is not None:
                    self.key_lines[(id(node), key)] = _start(ev).line + 1
                entry_at = len(node.entries)
                value_ev = events[i + 1]
                if isinstance(value_ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                    # "key:   # note" above a block collection: the note goes before the entry.
                    key_note = self._inline_after(self._end_of(key_ev), _end(key_ev).line, ":")
                    if key_note is not None:
                        node.entries.append(Comment(key_note.text))
                        entry_at += 1
                value, i = self._value(events, i + 1)
                inline = self._inline_after(self._end_of(events[i - 1]), _end(events[i - 1]).line)
                node.entries.append((key, value))
                if inline is not None:
                    node.entries.insert(entry_at, Comment(inline.text))
            else:
                assert isinstance(node, Sequence)
                entry_at = len(node)
                value, i = self._value(events, i)
                if isinstance(value, Mapping) and isinstance(ev, yaml.MappingStartEvent):
                    # go-yaml hangs comments at the top of a "- key: value" item on the
                    # item itself, so sops keeps them in the list, before the item.
                    while value.entries and isinstance(value.entries[0], Comment):
                        node.append(value.entries.pop(0))
                        entry_at += 1
                inline = self._inline_after(self._end_of(events[i - 1]), _end(events[i - 1]).line)
                node.append(value)
                if inline is not None:
                    node.insert(entry_at, Comment(inline.text))
        if anchor is not None:
            self.anchors[anchor] = node
            self.anchor_sizes[anchor] = max(1, self.expanded - first_nodes)
        self.expanded += 1
        return node, i

    @staticmethod
    def _end_of(ev: yaml.Event) -> int:
        return int(_end(ev).index)

    def _value(self, events: list[yaml.Event], i: int) -> tuple[Node, int]:
        ev = events[i]
        if isinstance(ev, yaml.ScalarEvent):
            self.expanded += 1
            plain = ev.style in (None, "") and ev.implicit[0]
            value = scalars.resolve(ev.value, ev.tag, plain)
            if scalars.is_merge_key(value):
                value = "<<"
            if ev.anchor is not None:
                self.anchors[ev.anchor] = value  # type: ignore[assignment]
                self.anchor_sizes[ev.anchor] = 1
            return value, i + 1  # type: ignore[return-value]
        if isinstance(ev, yaml.AliasEvent):
            if ev.anchor not in self.anchors:
                raise self.fail("an alias (*name) refers to no anchor", _start(ev).line)
            self.expanded += self.anchor_sizes[ev.anchor]
            if self.expanded > MAX_EXPANDED_NODES:
                raise self.fail(
                    "too many aliases: the document expands beyond a safe size (alias bomb?)"
                )
            return self.anchors[ev.anchor], i + 1
        if isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            # A comment on the key's line ("key: # note") goes before the entry.
            return self._collection(events, i)
        raise self.fail("unexpected YAML structure", _start(ev).line)


def load_documents(text: str, name: str = "<input>") -> list[Mapping]:
    """Parse a YAML stream into one :class:`Mapping` per document.

    Raises :class:`BadInput` for anything sops would refuse or misread.
    """
    return _load(text, name, None)


def load_with_lines(text: str, name: str = "<input>") -> tuple[list[Mapping], KeyLines]:
    """Like :func:`load_documents`, plus the source line of every mapping key.

    The table is keyed by ``(id(mapping), key)``: valid while the returned
    documents are alive (``import`` walks them right away).
    """
    lines: KeyLines = {}
    return _load(text, name, lines), lines


KeyLines = dict[tuple[int, str], int]


def _load(text: str, name: str, lines: KeyLines | None) -> list[Mapping]:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        events = list(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise BadInput(f"{name}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{name}: invalid YAML: {str(exc).splitlines()[0][:120]}") from None
    builder = _Builder(text, name)
    builder.key_lines = lines
    return builder.build(events)
