"""``--format dotenv``: a ``.env`` file every common reader reads back exactly.

The readers a ``.env`` meets disagree on quoting, so the default (*portable*)
output uses only forms on which all of them agree, value by value:

* a POSIX shell (``set -a; . ./.env``): single quotes are literal; double
  quotes give ``$ ` \\ "`` a meaning;
* python-dotenv: decodes ``\\\\`` and ``\\'`` inside single quotes and more inside
  double quotes, and expands ``${NAME}`` in *every* value unless told not to;
* Node's ``dotenv`` (npm): keeps backslashes, except ``\\n``/``\\r`` inside double
  quotes; turns every CR into LF;
* docker compose (compose-go): single quotes literal except ``\\'``; double
  quotes expand escapes and ``$NAME``.

Hence: ``'value'`` when the value has no ``'``, no ``\\\\``, no ``${…}``, does not
end in a backslash and has no CR; else ``"value"`` when it has no ``"``,
backtick, CR, ``$`` that starts an expansion or backslash that starts an escape
in any of them; else the value is refused by key name (one
line, exit 5) with the alternatives: ``--format env`` for a shell, ``json`` or
``yaml``, or ``--dotenv-dialect python-dotenv`` when only python-dotenv reads it.
Newlines are written raw inside the quotes (all four accept multi-line values).

The ``python-dotenv`` dialect follows that parser's rules alone (escapes in
double quotes, ``\\'`` in single quotes) and can carry almost any value.

This module must never print; errors name the key, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions
from gitvault.export.model import Variable, require_env_safe

_DOUBLE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}
_NEEDS_DOUBLE = re.compile(r"[\r\t\a\b\f\v]")
# What python-dotenv keeps intact without quotes: no whitespace at all (it
# strips "  # comment" and trailing space), not empty, no leading quote or #.
_UNQUOTED_SAFE = re.compile(r"""[^\s'"#][^\s]*""")


DIALECTS = ("portable", "python-dotenv")


def portable_quote(text: str, origin: str) -> str:
    """Quote one value so shell, python-dotenv, Node's dotenv and compose agree on it."""
    if _single_ok(text):
        return "'" + text + "'"
    if _double_ok(text):
        return '"' + text + '"'
    raise BadInput(
        f"{origin}: the value cannot be written so that every .env reader (shell, "
        f"python-dotenv, node dotenv, docker compose) reads it back exactly ({_why(text)})",
        hint="use --format env (a shell), json or yaml, or --dotenv-dialect python-dotenv",
    )


# python-dotenv expands ``${NAME}`` / ``${NAME:-default}`` even inside single quotes.
_PY_EXPANSION = re.compile(r"\$\{[^}:]*(?::-[^}]*)?\}")
# Inside double quotes a ``$`` followed by one of these starts an expansion in a
# shell (parameters, ``$(``, ``${``, special parameters) or in compose (``$$``).
_DOLLAR_EXPANDS = re.compile(r"\$[A-Za-z0-9_{(?$!#*@-]")


def _single_ok(text: str) -> bool:
    return not (
        "'" in text
        or "\\\\" in text
        or text.endswith("\\")
        or "\r" in text
        or "\0" in text
        or _PY_EXPANSION.search(text)
    )


# A backslash inside double quotes is kept by every reader unless it ends the
# value or precedes a character one of them treats as an escape (shell: $ ` " \\
# newline; python-dotenv: \\ ' " a b f n r t v; node: n r; compose: a b c f n r t
# v $ " \\ and 0 for octal).
_BACKSLASH_ESCAPES = re.compile(r"\\(?:[$`\"\\\n'abcfnrtv0]|$)")


def _double_ok(text: str) -> bool:
    return not (
        any(c in text for c in ('"', "`", "\r", "\0"))
        or _BACKSLASH_ESCAPES.search(text)
        or _DOLLAR_EXPANDS.search(text)
        or _PY_EXPANSION.search(text)
    )


def _why(text: str) -> str:
    """Which characters made the value unportable (names of characters, never the value)."""
    if "\r" in text or "\0" in text:
        return "it holds a carriage return or NUL"
    if _PY_EXPANSION.search(text):
        return "it holds ${…}, which python-dotenv expands"
    if "'" in text:
        return "it holds a single quote and a double quote, backslash, backtick or $ expansion"
    return "it holds two backslashes in a row or ends with one"


def dotenv_quote(text: str, origin: str) -> str:
    """Quote one value by python-dotenv's rules alone; ``origin`` names it in errors."""
    if text.endswith("\\"):
        if _UNQUOTED_SAFE.fullmatch(text):
            return text
        raise BadInput(
            f"{origin} ends with a backslash and has spaces or quotes, which dotenv "
            "cannot represent",
            hint="use --format env, json or yaml",
        )
    if _NEEDS_DOUBLE.search(text):
        return '"' + "".join(_DOUBLE_ESCAPES.get(c, c) for c in text) + '"'
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DotenvFormat:
    """``NAME='value'`` per variable, in the dialect the options name."""

    name = "dotenv"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        require_env_safe(variables)
        quote = dotenv_quote if options.dotenv_dialect == "python-dotenv" else portable_quote
        return "".join(f"{v.name}={quote(v.text, v.origin)}\n" for v in variables)


FORMAT = DotenvFormat()
