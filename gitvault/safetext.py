"""Make text from untrusted files safe to print on a terminal.

Recipient labels, key names, rule paths and other strings come from files a
key-less writer can change. Printed raw, an ESC or OSC sequence in one of them
would run in the reader's terminal (change the title, hide lines, fake output),
and a bidirectional override would make a name read as another. Every printer
of such text passes it through :func:`printable` first.

This module has no imports beyond the standard library and never raises.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or format character shown as an escape (``\\x1b``).

    Printable characters (any script) pass unchanged, so ordinary names and
    paths look the same; only what a terminal would interpret is neutralized.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        # str.isprintable is False for controls (Cc), format characters (Cf:
        # bidi overrides, zero-width joiners), separators other than space, and
        # unassigned code points: all shown as escapes.
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def printable_lines(text: str, *, keep: str = "\n") -> str:
    """``text`` escaped like :func:`printable`, except the characters in ``keep``.

    For whole human reports (tables, lists) whose own line breaks must stay:
    every other control, including ``\\r`` (which would let a name overwrite the
    start of its line) and ``ESC``/``BEL`` (terminal commands), is escaped.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch in keep or ch.isprintable() else _escape(ch) for ch in text)


def json_text(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with every
    non-printable character written as a ``\\uXXXX`` escape.

    ``json.dumps`` escapes only U+0000..U+001F; DEL, the C1 controls (U+009B is
    a one-byte CSI on some terminals) and bidi overrides would pass raw. Outside
    strings, pretty-printed JSON holds only spaces and line breaks, so escaping
    anything else is always inside a string and decodes to the same value.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\n" or ch.isprintable():
            out.append(ch)
            continue
        code = ord(ch)
        if code > 0xFFFF:  # a surrogate pair, as JSON spells astral characters
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)
