"""The only package that reads or writes YAML text.

``load_documents`` parses with go-yaml v3 typing and sops's comment placement
(PyYAML's C parser underneath, imported only when needed); ``load_canonical``
reads the canonical layout sops writes without any YAML library;
``emit_documents`` writes sops's exact layout; ``dump_plain`` writes plain
Python data in the same layout (for export formats and reports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitvault.yamlio.emit import dump_plain, emit_documents, format_scalar
from gitvault.yamlio.fast import load_canonical

if TYPE_CHECKING:
    from gitvault.model import Mapping

__all__ = [
    "dump_plain",
    "emit_documents",
    "format_scalar",
    "load_canonical",
    "load_documents",
    "load_with_lines",
]


def load_documents(text: str, name: str = "<input>") -> list[Mapping]:
    """Parse any YAML stream sops accepts (see :mod:`gitvault.yamlio.parse`)."""
    from gitvault.yamlio.parse import load_documents as _load

    return _load(text, name)


def load_with_lines(
    text: str, name: str = "<input>"
) -> tuple[list[Mapping], dict[tuple[int, str], int]]:
    """:func:`load_documents` plus each key's 1-based line, keyed by ``(id(mapping), key)``."""
    from gitvault.yamlio.parse import load_with_lines as _load

    return _load(text, name)
