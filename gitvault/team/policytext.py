"""Targeted text edits of ``.gitvault.yaml`` that keep its comments and layout.

``recipients add/remove`` and ``offboard`` change a few lines of the policy.
Re-emitting the whole file in sops's layout would re-indent every line and move
comments, so these functions edit only the lines concerned, in the block layout
``gitvault init`` writes and people write by hand (flow lists such as
``[alice, bob]`` included). They return None whenever the file uses a
construct they do not handle (flow mappings, anchors, lists spanning lines in
flow style …).

Correctness does not rest on this module: :mod:`gitvault.team.recipients`
re-parses every result and compares it with the policy data it expects, and
re-emits the whole document (comments kept, sops layout) when they differ. A
mistake here can cost layout, never a wrong policy.

Pure text functions; no I/O.
"""

from __future__ import annotations

import re

from gitvault.yamlio import format_scalar

_KEY_LINE = re.compile(
    r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s'"#:\-\[\]{}][^:#]*?|-[^\s:#][^:#]*?))"""
    r"""[ \t]*:(?:[ \t]+(.*?))?[ \t]*$"""
)
_FLOW = re.compile(r"\[([^\[\]{}#]*)\]([ \t]*#.*)?$")
_ITEM = re.compile(r"""-[ \t]+("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"][^#]*?)[ \t]*(#.*)?$""")


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _skip(line: str) -> bool:
    """Blank lines and comment lines carry no structure."""
    text = line.strip()
    return not text or text.startswith("#")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _scalar(text: str) -> str:
    return format_scalar(text, 4)


def _eol(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _top_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """(line of ``key:``, end of its indented content) for a top-level block key."""
    pattern = re.compile(rf"{re.escape(key)}:[ \t]*(#.*)?$")
    start = next((i for i, ln in enumerate(lines) if pattern.match(_body(ln))), None)
    if start is None:
        return None
    end = start + 1
    for j in range(start + 1, len(lines)):
        line = _body(lines[j])
        if line.strip() and not line.startswith((" ", "\t")) and not line.startswith("#"):
            break
        if line.strip() and line.startswith(" "):
            end = j + 1
    return start, end


def _entries(lines: list[str], start: int, end: int) -> tuple[int, list[list[object]]] | None:
    """The child indent and ``[key, first line, end line, value]`` of a block mapping."""
    indent: int | None = None
    out: list[list[object]] = []
    for i in range(start + 1, end):
        line = _body(lines[i])
        if _skip(line):
            continue
        ind = _indent(line)
        if indent is None:
            indent = ind
        if ind < indent:
            return None
        if ind == indent:
            m = _KEY_LINE.match(line[ind:])
            if m is None:
                return None
            key = m.group(1) if m.group(1) is not None else None
            if key is not None:
                key = re.sub(r"\\(.)", r"\1", key)
            elif m.group(2) is not None:
                key = m.group(2).replace("''", "'")
            else:
                key = m.group(3)
            out.append([key, i, i + 1, m.group(4) or ""])
        elif out:
            out[-1][2] = i + 1
        else:
            return None
    if indent is None:
        return None
    return indent, out


def _flow_items(value: str) -> tuple[list[str], str] | None:
    m = _FLOW.match(value.strip())
    if m is None:
        return None
    inner = m.group(1).strip()
    items = [_unquote(part) for part in inner.split(",")] if inner else []
    if any(not i for i in items):
        return None
    return items, m.group(2) or ""


def _rewrite_flow(line: str, items: list[str], comment: str, eol: str) -> str:
    prefix = _body(line)[: _body(line).index("[")]
    text = prefix + "[" + ", ".join(_scalar(i) for i in items) + "]"
    return text + comment + eol


def _block_items(lines: list[str], first: int, end: int) -> list[tuple[int, str]] | None:
    """``(line, item)`` of a block list of scalars below the line ``first``."""
    out = []
    for i in range(first + 1, end):
        line = _body(lines[i])
        if _skip(line):
            continue
        m = _ITEM.match(line.strip())
        if m is None:
            return None
        out.append((i, _unquote(m.group(1))))
    return out


def _entry_lines(name: str, value: str | dict[str, object], indent: int, eol: str) -> list[str]:
    """``name: key``, or a block mapping (key, email, signing_keys) one level deeper."""
    pad = " " * indent
    if isinstance(value, str):
        return [f"{pad}{_scalar(name)}: {_scalar(value)}{eol}"]
    inner = pad + " " * (indent or 2)
    lines = [f"{pad}{_scalar(name)}:{eol}"]
    for field, item in value.items():
        if isinstance(item, list):
            lines.append(f"{inner}{field}:{eol}")
            lines.extend(f"{inner}  - {_scalar(str(k))}{eol}" for k in item)
        else:
            lines.append(f"{inner}{field}: {_scalar(str(item))}{eol}")
    return lines


def add_recipient(
    text: str, name: str, key: str | dict[str, object], group: str | None
) -> str | None:
    """``text`` with ``name: key`` under ``recipients:`` (and ``name`` in ``group``).

    ``key`` may be a mapping (``key``, ``email``, ``signing_keys``): the entry
    is then written as a block mapping under the name.
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += _eol(lines)
    eol = _eol(lines)
    block = _top_block(lines, "recipients")
    if block is None:
        return None
    parsed = _entries(lines, *block)
    if parsed is None:
        return None
    indent, entries = parsed
    if any(e[0] == name for e in entries):
        return None
    insert_at = int(entries[-1][2]) if entries else block[1]  # type: ignore[call-overload]
    lines[insert_at:insert_at] = _entry_lines(name, key, indent, eol)
    if group is not None and not _add_to_group(lines, group, name, indent, eol):
        return None
    return "".join(lines)


def _add_to_group(lines: list[str], group: str, name: str, default_indent: int, eol: str) -> bool:
    block = _top_block(lines, "groups")
    if block is None:
        rec = _top_block(lines, "recipients")
        assert rec is not None
        lines[rec[1] : rec[1]] = [
            f"groups:{eol}",
            f"{' ' * default_indent}{_scalar(group)}: [{_scalar(name)}]{eol}",
        ]
        return True
    parsed = _entries(lines, *block)
    if parsed is None:
        # ``groups:`` with nothing under it (or ``groups: {}``) is not handled here.
        return False
    indent, entries = parsed
    entry = next((e for e in entries if e[0] == group), None)
    if entry is None:
        at = int(entries[-1][2]) if entries else block[1]  # type: ignore[call-overload]
        lines.insert(at, f"{' ' * indent}{_scalar(group)}: [{_scalar(name)}]{eol}")
        return True
    _key, first, end, value = entry
    assert isinstance(first, int) and isinstance(end, int) and isinstance(value, str)
    flow = _flow_items(value)
    if flow is not None:
        items, comment = flow
        lines[first] = _rewrite_flow(lines[first], [*items, name], comment, eol)
        return True
    if value.strip() and not value.strip().startswith("#"):
        return False
    block_items = _block_items(lines, first, end)
    if not block_items:
        return False
    last = block_items[-1][0]
    item_indent = _indent(lines[last])
    lines.insert(last + 1, f"{' ' * item_indent}- {_scalar(name)}{eol}")
    return True


def remove_recipient(text: str, name: str) -> str | None:
    """``text`` without the recipient ``name`` and without it in any group or rule."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += _eol(lines)
    eol = _eol(lines)
    block = _top_block(lines, "recipients")
    if block is None:
        return None
    parsed = _entries(lines, *block)
    if parsed is None:
        return None
    entry = next((e for e in parsed[1] if e[0] == name), None)
    if entry is None:
        return None
    start, end = int(entry[1]), int(entry[2])  # type: ignore[call-overload]
    del lines[start:end]
    groups = _top_block(lines, "groups")
    if groups is not None and not _drop_from_lists(lines, groups, name, eol, key=None):
        return None
    rules = _top_block(lines, "rules")
    if rules is not None and not _drop_from_lists(lines, rules, name, eol, key="recipients"):
        return None
    return "".join(lines)


_LIST_KEY = re.compile(r"^(\s*(?:-[ \t]+)?)([A-Za-z0-9_.@-]+)[ \t]*:[ \t]*(.*)$")


def _drop_from_lists(
    lines: list[str], block: tuple[int, int], name: str, eol: str, *, key: str | None
) -> bool:
    """Remove ``name`` from the lists in ``block`` (all of them, or those under ``key:``)."""
    start, end = block
    i = start + 1
    while i < end:
        line = _body(lines[i])
        m = _LIST_KEY.match(line)
        if m is None or (key is not None and m.group(2) != key):
            i += 1
            continue
        value = m.group(3)
        flow = _flow_items(value)
        if flow is not None:
            items, comment = flow
            if name in items:
                kept = [x for x in items if x != name]
                lines[i] = _rewrite_flow(lines[i], kept, comment, eol)
            i += 1
            continue
        if value.strip() and not value.strip().startswith("#"):
            i += 1
            continue
        # A block list: the following lines deeper than the key's column.
        column = len(m.group(1))
        j = i + 1
        while j < end and (_skip(_body(lines[j])) or _indent(_body(lines[j])) > column):
            j += 1
        block_items = _block_items(lines, i, j)
        if block_items is None:
            return False
        doomed = [ln for ln, item in block_items if item == name]
        for ln in reversed(doomed):
            del lines[ln]
        end -= len(doomed)
        i = j - len(doomed)
    return True
