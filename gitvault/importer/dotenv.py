"""A strict dotenv reader for ``import``: every value a string, every mistake an error.

Accepted (the common ground of docker compose, python-dotenv and dotenvx):

- ``KEY=value`` lines; blanks around ``=`` are ignored; an optional ``export ``
  prefix; blank lines and ``#`` comment lines are skipped;
- unquoted values are trimmed, and ``␠#…`` starts a comment;
- ``'single quoted'`` values are literal (no escapes, as a shell, Node's dotenv
  and compose read them; python-dotenv alone would decode ``\\\\`` and ``\\'``)
  and may span lines;
- ``"double quoted"`` values understand ``\\n \\r \\t \\a \\b \\f \\v \\" \\\\ \\$``
  (python-dotenv's and compose's escapes) and may span lines; other
  backslashes are kept as written;
- after a closing quote only blanks and a ``#`` comment may follow.

Never done: variable expansion (``${OTHER}`` is kept literally: a vault stores
values, not templates), command substitution, reading other files.

Refused with one line naming the file and line, never the value: a line that is
not ``KEY=value``, a key outside ``[A-Za-z_][A-Za-z0-9_.-]*``, a key given
twice, an unterminated quote, a NUL byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitvault.errors import BadInput

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Escapes inside double quotes: python-dotenv's and docker compose's common set.
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    '"': '"',
    "\\": "\\",
    "$": "$",
}


@dataclass(frozen=True)
class Entry:
    """One ``KEY=value`` with the 1-based line its key is on."""

    key: str
    value: str
    line: int

    def __repr__(self) -> str:  # never show the value
        return f"Entry({self.key!r}, line {self.line})"


def parse(text: str, name: str) -> list[Entry]:
    """Parse dotenv text; raises :class:`BadInput` naming ``name:line``."""
    if "\x00" in text:
        raise BadInput(f"{name}: contains a NUL byte (not a dotenv text file)")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").split("\n")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    i = 0
    while i < len(lines):
        number = i + 1
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export") :].lstrip()
        key, sep, rest = stripped.partition("=")
        key = key.strip()
        if not sep:
            raise BadInput(f"{name}:{number}: not a KEY=value line")
        if not _KEY.fullmatch(key):
            # The text is not echoed: a malformed line may be a value (a pasted token).
            raise BadInput(
                f"{name}:{number}: not a valid variable name before '='",
                hint="names are letters, digits, '_', '.' and '-', not starting with a digit",
            )
        rest = rest.lstrip(" \t")
        if rest[:1] in ("'", '"'):
            value, i = _quoted(rest, lines, i, name, number)
        else:
            value = _unquoted(rest)
        if key in seen:
            raise BadInput(f"{name}:{number}: duplicate key {key!r} (first on line {seen[key]})")
        seen[key] = number
        entries.append(Entry(key, value, number))
    return entries


def _unquoted(rest: str) -> str:
    """An unquoted value: up to a `` #`` comment, trimmed."""
    for j, ch in enumerate(rest):
        if ch == "#" and (j == 0 or rest[j - 1] in " \t"):
            return rest[:j].strip()
    return rest.strip()


def _quoted(rest: str, lines: list[str], i: int, name: str, number: int) -> tuple[str, int]:
    """A quoted value starting at ``rest`` (which begins with the quote), maybe multi-line.

    Returns the value and the index of the next line to read.
    """
    quote = rest[0]
    buf: list[str] = []
    text = rest[1:]
    while True:
        j = 0
        while j < len(text):
            ch = text[j]
            if ch == quote:
                _check_tail(text[j + 1 :], name, number)
                return "".join(buf), i
            if ch == "\\" and quote == '"' and j + 1 < len(text):
                nxt = text[j + 1]
                if nxt in _ESCAPES:
                    buf.append(_ESCAPES[nxt])
                    j += 2
                    continue
            buf.append(ch)
            j += 1
        if i >= len(lines):
            raise BadInput(f"{name}:{number}: unterminated {quote} quote")
        buf.append("\n")
        text = lines[i]
        i += 1


def _check_tail(tail: str, name: str, number: int) -> None:
    tail = tail.strip(" \t")
    if tail and not tail.startswith("#"):
        raise BadInput(f"{name}:{number}: unexpected text after the closing quote")
