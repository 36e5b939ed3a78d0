"""``--format yaml``: one YAML mapping ``NAME: value`` in export order.

Emitted by :func:`gitvault.yamlio.dump_plain` (the only YAML library import in
the package), so scalars are typed and quoted the way the vault files are.
Until that emitter exists, JSON is written instead: every JSON document is a
valid YAML document with the same values.

This module must never print; errors name the key, never the value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gitvault.export.base import RenderOptions
from gitvault.export.jsonfmt import as_mapping
from gitvault.export.model import Variable


def dump_yaml(obj: Any) -> str:
    """Plain YAML for ``obj`` through ``gitvault.yamlio``, or JSON (valid YAML) as a fallback."""
    try:
        from gitvault.yamlio import dump_plain  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    text: str = dump_plain(obj)
    return text if text.endswith("\n") else text + "\n"


class YamlFormat:
    """A single YAML mapping."""

    name = "yaml"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        # Non-finite floats are refused like in JSON: consumers differ on .inf/.nan.
        return dump_yaml(as_mapping(variables))


FORMAT = YamlFormat()
