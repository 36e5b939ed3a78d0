"""``--format env``: POSIX shell ``export NAME='value'`` lines, safe for ``eval``.

Every value is single-quoted; a single quote inside is written ``'\\''`` (close,
escaped quote, reopen), the one spelling every POSIX shell reads back
unchanged. Inside single quotes nothing is special, so ``$``, backslashes,
backquotes and newlines survive ``eval "$(gitvault export --format env)"``
exactly. Names come from the naming rule and are always valid shell names.

This module must never print; it refuses (BadInput) a value with a NUL byte.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitvault.export.base import RenderOptions
from gitvault.export.model import Variable, require_env_safe


def shell_quote(text: str) -> str:
    """Quote ``text`` for a POSIX shell: ``'…'`` with ``'`` as ``'\\''``."""
    return "'" + text.replace("'", "'\\''") + "'"


class EnvFormat:
    """``export NAME='value'`` per variable."""

    name = "env"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        require_env_safe(variables)
        return "".join(f"export {v.name}={shell_quote(v.text)}\n" for v in variables)


FORMAT = EnvFormat()
