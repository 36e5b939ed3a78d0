"""Write the gitvault model as YAML, byte for byte as sops 3.11 (go-yaml v3) does.

The layout is sops's: 4-space indentation, sequences indented under their key
with entries at dash column + 2, no line wrapping, multi-line strings as
literal blocks, comments on their own lines, documents separated by ``---``.
Scalar styles follow go-yaml v3's encoder and libyaml's scalar analysis, so a
file written here and re-written by sops differs only where values changed.

Pure text generation; this module does not import a YAML library.
"""

from __future__ import annotations

import re

from gitvault.model import Comment, Mapping, Node, Timestamp
from gitvault.records import record
from gitvault.yamlio import scalars

INDENT = 4

_BREAKS = "\n\r\x85\u2028\u2029"
_ESCAPES = {
    "\x00": "0",
    "\x07": "a",
    "\x08": "b",
    "\t": "t",
    "\n": "n",
    "\x0b": "v",
    "\x0c": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


# libyaml's printable set as go-yaml implements it: "\n", 0x20-0x7E, 0xA0-0xD7FF,
# 0xE000-0xFEFE (0xFEFF, the BOM, is tested apart), 0xFF00-0xFFFD; no astral planes.
# Checked with comparisons, not a Unicode-class regex: compiling one of those
# costs ~10 ms, paid by every write (its metadata has a non-simple string).
_ASCII_SPECIAL = re.compile(r"[^\t\n\x20-\x7e]")


def _in_printable_class(c: str) -> bool:
    o = ord(c)
    if o < 0x80:
        return o == 0x0A or 0x20 <= o <= 0x7E
    return 0xA0 <= o <= 0xD7FF or 0xE000 <= o <= 0xFEFE or 0xFF00 <= o <= 0xFFFD


def _has_special(value: str) -> bool:
    """Whether ``value`` holds a character libyaml calls special (not printable, not a tab)."""
    if value.isascii():
        return _ASCII_SPECIAL.search(value) is not None
    return any(c != "\t" and not _in_printable_class(c) for c in value)


_BREAK_CLASS = "[\n\r\x85\u2028\u2029]"
_BREAK_SPACE = re.compile(_BREAK_CLASS + " ")
_SPACE_BREAK = re.compile(" " + _BREAK_CLASS)
_ANY_BREAK = re.compile(_BREAK_CLASS)
# ": " or ":" at the end, and "#" after a blank: both end a plain scalar early.
_INNER_INDICATOR = re.compile(r":(?:[ \t]|$)|[ \t\n\r\x85\u2028\u2029]#")


def _printable(c: str) -> bool:
    """libyaml's is_printable as go-yaml implements it (no astral planes, no BOM)."""
    return _in_printable_class(c) and c != "\ufeff"


def _analyze(value: str) -> tuple[bool, bool, bool]:
    """libyaml's scalar analysis: (block_plain_allowed, single_quoted_allowed, block_allowed).

    Done with regular expressions so long values cost C time, not a Python loop.
    """
    if not value:
        return True, True, False
    first = value[0]
    followed_ws = len(value) == 1 or value[1] in " \t"
    block_ind = (
        value.startswith(("---", "..."))
        or first in "#,[]{}&*!|>'\"%@`"
        or (first in "?:-" and followed_ws)
        or _INNER_INDICATOR.search(value, 1) is not None
    )
    special = _has_special(value) or "\ufeff" in value
    tabs = "\t" in value
    line_breaks = _ANY_BREAK.search(value) is not None
    last = value[-1]
    leading = first == " " or first in _BREAKS
    trailing_space = last == " "
    trailing = trailing_space or last in _BREAKS
    break_space = line_breaks and _BREAK_SPACE.search(value) is not None
    space_break = line_breaks and _SPACE_BREAK.search(value) is not None
    plain = not (
        leading
        or trailing
        or break_space
        or space_break
        or tabs
        or special
        or line_breaks
        or block_ind
    )
    single = not (break_space or space_break or tabs or special)
    block = not (trailing_space or space_break or special)
    return plain, single, block


def _double_quoted(value: str) -> str:
    out = ['"']
    for c in value:
        if c in _ESCAPES and (c in '"\\' or not _printable(c) or c in _BREAKS or c == "\ufeff"):
            out.append("\\" + _ESCAPES[c])
        elif not _printable(c) or c == "\ufeff" or c in _BREAKS:
            o = ord(c)
            if o <= 0xFF:
                out.append(f"\\x{o:02X}")
            elif o <= 0xFFFF:
                out.append(f"\\u{o:04X}")
            else:
                out.append(f"\\U{o:08X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _literal(value: str, indent: int, step: int = INDENT) -> str:
    """A ``|`` block: header plus indented lines; the caller's line ends after it."""
    header = "|"
    # go-yaml adds the indentation indicator only for a leading space or break;
    # a leading tab needs it too, or no YAML parser can read the block back
    # (go-yaml's own round trip fails there, which is why sops prints null).
    if value[0] in " \t" + _BREAKS:
        header += str(step)
    if value[-1] not in _BREAKS:
        header += "-"
    elif len(value) == 1 or value[-2] in _BREAKS:
        header += "+"
    body = value[:-1] if value[-1] == "\n" else value
    pad = " " * indent
    lines = [pad + line if line else "" for line in body.split("\n")]
    return header + "\n" + "\n".join(lines)


# Strings made only of these characters (no leading/trailing space, no ": " or
# " #") are plain-allowed by libyaml's analysis; only their typing needs checking.
_SIMPLE = re.compile(r"[A-Za-z0-9_./=+][A-Za-z0-9 _./=+@-]*")
_ENC_SHAPE = re.compile(r"ENC\[AES256_GCM,[A-Za-z0-9+/=:,]*\]")


def format_string(value: str, block_indent: int, key: bool = False, step: int = INDENT) -> str:
    """Choose plain, single-quoted, double-quoted or literal style as go-yaml does.

    ``step`` is the document's indent (a literal block with a leading space
    carries it as its indentation indicator).
    """
    if value.startswith("ENC[AES256_GCM,") and _ENC_SHAPE.fullmatch(value):
        return value  # every encrypted value is plain-safe
    if _SIMPLE.fullmatch(value) and not value.endswith(" ") and scalars.is_plain_safe(value):
        return value
    if "\n" in value and not key:
        plain, single, block = _analyze(value)
        if block and not any(c in value for c in "\r\x85\u2028\u2029"):
            return _literal(value, block_indent, step)
        return _double_quoted(value)
    if scalars.is_plain_safe(value):
        plain, single, _ = _analyze(value)
        if any(c in value for c in _BREAKS):
            return _double_quoted(value)
        if plain:
            return value
        if single:
            return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def format_scalar(value: object, block_indent: int, step: int = INDENT) -> str:
    """The YAML text of one scalar value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return scalars.format_float_g(value)
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, str):
        return format_string(value, block_indent, step=step)
    raise TypeError(f"cannot write a value of type {type(value).__name__}")


_KEYS: dict[str, str] = {}


def _key(key: str) -> str:
    """A mapping key's text (cached: the same keys recur across a file)."""
    text = _KEYS.get(key)
    if text is None:
        text = "!!merge <<" if key == "<<" else format_string(key, 0, key=True)
        if len(_KEYS) < 65536:
            _KEYS[key] = text
    return text


def _next_indent(indent: int, step: int) -> int:
    """go-yaml's rule: nested blocks align to the next multiple of the indent."""
    return step * ((indent + step) // step)


def _is_empty_collection(node: Node) -> bool:
    if isinstance(node, Mapping):
        return len(node) == 0
    if isinstance(node, list):
        return not any(not isinstance(v, Comment) for v in node)
    return False


def _inline_scalar(node: Node, block_indent: int, step: int) -> str | None:
    """Text that follows ``key:`` / ``-`` on the same line, or None for a block."""
    if isinstance(node, Mapping):
        return "{}" if len(node) == 0 else None
    if isinstance(node, list):
        return "[]" if _is_empty_collection(node) else None
    return format_scalar(node, block_indent, step)


@record(frozen=True, slots=True)
class _Style:
    """How a document is laid out: the indent step and where inline comments go."""

    step: int = INDENT
    # sops >= 3.13 writes a comment that stood at the end of a value's line back
    # there (``key: value #note``); older sops put every comment on its own line.
    inline_comments: bool = True


def _emit_mapping(
    node: Mapping,
    indent: int,
    out: list[str],
    style: _Style,
    first_prefix: str | None = None,
) -> None:
    """Entries at ``indent``; ``first_prefix`` is the ``- `` line start of a list item.

    Own-line comments are written where they stand. Inline comments wait for
    the next entry and go at the end of its value's line (sops 3.13 makes them
    the value node's line comment); with none to follow, or before a block
    collection, they get their own line (see docs/sops-interop.md).
    """
    pad = " " * indent
    prefix = first_prefix
    # Comments before the first key of a list item go before its dash, at the
    # dash's column (go-yaml writes the first key's head comment there).
    head_pad = " " * (indent - 2) if first_prefix is not None else pad
    pending: list[Comment] = []
    for entry in node.entries:
        if isinstance(entry, Comment):
            if entry.inline and style.inline_comments:
                pending.append(entry)
            else:
                out.append(f"{head_pad if prefix is not None else pad}#{entry.text}\n")
            continue
        key, value = entry
        note = _take_note(pending, value, head_pad if prefix is not None else pad, out)
        start = prefix if prefix is not None else pad
        prefix = None
        _emit_entry(start + _key(key) + ":", value, indent, out, style, note)
    for c in pending:
        out.append(f"{pad}#{c.text}\n")


def _take_note(pending: list[Comment], value: Node, pad: str, out: list[str]) -> str:
    """The `` #text`` that ends the next value's line; other pending comments get own lines.

    Only a single-line value can carry it (a scalar, ``{}`` or ``[]``); go-yaml
    would hang it on the end of a block collection, which gitvault does not
    reproduce, so the comment goes on its own line before the entry instead.
    """
    if not pending:
        return ""
    single = not isinstance(value, Mapping | list) or _is_empty_collection(value)
    keep = pending[-1] if single and len(pending) == 1 else None
    for c in pending:
        if c is not keep:
            out.append(f"{pad}#{c.text}\n")
    pending.clear()
    return f" #{keep.text}" if keep is not None else ""


def _with_note(inline: str, note: str) -> str:
    """A value's text with its line comment: after a literal block's header, else at the end."""
    if note and inline.startswith("|"):
        header, _, body = inline.partition("\n")
        return f"{header}{note}\n{body}"
    return inline + note


def _emit_entry(
    head: str, value: Node, indent: int, out: list[str], style: _Style, note: str = ""
) -> None:
    """Write ``head`` (``key:`` or ``-``) followed by ``value`` nested under ``indent``."""
    if type(value) is str and value.startswith("ENC[AES256_GCM,") and _ENC_SHAPE.fullmatch(value):
        # Nearly every entry of a vault file: plain-safe as it is (format_string's answer).
        out.append(f"{head} {value}{note}\n")
        return
    nested = _next_indent(indent, style.step)
    inline = _inline_scalar(value, nested, style.step)
    if inline is not None:
        out.append(f"{head} {_with_note(inline, note)}\n")
        return
    out.append(head + "\n")
    if isinstance(value, Mapping):
        _emit_mapping(value, nested, out, style)
    else:
        assert isinstance(value, list)
        _emit_sequence(value, nested, out, style)


def _emit_sequence(node: list[Node | Comment], indent: int, out: list[str], style: _Style) -> None:
    pad = " " * indent
    pending: list[Comment] = []
    for item in node:
        if isinstance(item, Comment):
            if item.inline and style.inline_comments:
                pending.append(item)
            else:
                out.append(f"{pad}#{item.text}\n")
            continue
        note = _take_note(pending, item, pad, out)
        _emit_item(item, indent, pad + "- ", out, style, note)
    for c in pending:
        out.append(f"{pad}#{c.text}\n")


def _emit_item(
    item: Node, indent: int, prefix: str, out: list[str], style: _Style, note: str = ""
) -> None:
    """One sequence item whose ``- `` starts ``prefix``; content sits at dash + 2."""
    inner = indent + 2
    inline = _inline_scalar(item, inner, style.step)
    if inline is not None:
        out.append(prefix + _with_note(inline, note) + "\n")
    elif isinstance(item, Mapping):
        _emit_mapping(item, inner, out, style, first_prefix=prefix)
    else:
        assert isinstance(item, list)
        first = True
        pending: list[Comment] = []
        pad = " " * inner
        for sub in item:
            if isinstance(sub, Comment):
                if sub.inline and style.inline_comments:
                    pending.append(sub)
                else:
                    out.append(f"{pad}#{sub.text}\n")
                continue
            sub_note = _take_note(pending, sub, pad, out)
            _emit_item(sub, inner, (prefix + "- ") if first else pad + "- ", out, style, sub_note)
            first = False
        for c in pending:
            out.append(f"{pad}#{c.text}\n")


def emit_documents(
    docs: list[Mapping], *, indent: int = INDENT, inline_comments: bool = True
) -> str:
    """The whole file: each document's mapping, ``---`` between documents.

    ``indent`` is the indent step (sops's ``stores.yaml.indent``, default 4);
    ``inline_comments`` False writes every comment on its own line, as sops
    before 3.13 did.
    """
    if indent < 1:
        raise ValueError("the YAML indent must be at least 1")
    style = _Style(indent, inline_comments)
    out: list[str] = []
    for n, doc in enumerate(docs):
        if n:
            out.append("---\n")
        if len(doc) == 0 and not doc.entries:
            out.append("{}\n")
            continue
        _emit_mapping(doc, 0, out, style)
    return "".join(out)


def dump_plain(data: object) -> str:
    """Plain Python data (dicts, lists, scalars) as YAML in sops's layout."""
    from gitvault.model import from_python

    node = from_python(data)
    if isinstance(node, Mapping):
        return emit_documents([node])
    out: list[str] = []
    if isinstance(node, list):
        if node:
            _emit_sequence(node, 0, out, _Style())
        else:
            out.append("[]\n")
    else:
        out.append(format_scalar(node, INDENT) + "\n")
    return "".join(out)
