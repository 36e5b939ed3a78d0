"""The seam between exported variables and an output format.

A format is a small object with a ``name`` and a ``render`` method that turns
the variables (already named and checked for collisions) into the text to
write. Formats are looked up by name and imported only when used, so ``export
--format env`` never pays for the YAML emitter.

A format must never print, and must raise :class:`~gitvault.errors.BadInput`
(naming the key, never the value) for a value it cannot represent.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gitvault.errors import BadInput
from gitvault.export.model import Variable


@dataclass(frozen=True)
class RenderOptions:
    """Options some formats use; the others ignore them.

    ``k8s_*``/``namespace``/``labels``/``merge``/``string_data`` are read by
    the ``k8s`` format; ``output`` (``yaml`` or ``json``) chooses the syntax of
    the ``k8s`` manifest.
    """

    k8s_name: str | None = None
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    merge: bool = False
    string_data: bool = False
    output: str = "yaml"
    # ``dotenv``: "portable" (every common reader) or "python-dotenv" (that parser only).
    dotenv_dialect: str = "portable"


class Format(Protocol):
    """One output format."""

    name: str

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        """Return the complete output text for ``variables``."""
        ...


# name -> module defining ``FORMAT``; one line per format.
FORMATS: dict[str, str] = {
    "env": "gitvault.export.env",
    "dotenv": "gitvault.export.dotenv",
    "json": "gitvault.export.jsonfmt",
    "yaml": "gitvault.export.yamlfmt",
    "k8s": "gitvault.export.k8s",
    "github-env": "gitvault.export.github",
}


def get_format(name: str) -> Format:
    """The format called ``name``; :class:`BadInput` for an unknown name."""
    module_name = FORMATS.get(name)
    if module_name is None:
        raise BadInput(f"unknown export format {name!r}", hint="one of " + ", ".join(FORMATS))
    fmt: Format = importlib.import_module(module_name).FORMAT
    return fmt
