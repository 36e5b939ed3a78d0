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
