"""``--format dotenv``: a ``.env`` file, following python-dotenv's parser rules.

Quoting, chosen per value so every value reads back exactly:

* a value with a carriage return or another escapable control character
  (``\\r \\t \\a \\b \\f \\v``) is double-quoted, with ``\\\\``, ``\\"`` and
  those characters escaped (``\\n`` too), because a ``.env`` opened in text
  mode turns a raw ``\\r`` into ``\\n``;
* every other value is single-quoted; a backslash is written ``\\\\`` and a
  single quote ``\\'``, newlines stay raw (multi-line values are allowed);
* a value ending in a backslash cannot be quoted in python-dotenv (the final
  ``\\'`` or ``\\"`` reads as an escaped quote); it is written unquoted when it
  has no whitespace, ``#`` at the start or leading quote, else refused.

Values without a backslash or a quote are therefore plain ``'…'``, which
docker compose, godotenv and Node's dotenv read literally too. Caveat, also in
docs/ci.md: python-dotenv expands ``${NAME}`` in every value (quoted or not)
unless read with ``interpolate=False``; a lone ``$`` or ``$NAME`` is kept.

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


def dotenv_quote(text: str, origin: str) -> str:
    """Quote one value (see the module docstring); ``origin`` names it in errors."""
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
    """``NAME='value'`` per variable."""

    name = "dotenv"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        require_env_safe(variables)
        return "".join(f"{v.name}={dotenv_quote(v.text, v.origin)}\n" for v in variables)


FORMAT = DotenvFormat()
