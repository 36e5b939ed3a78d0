"""``--format json``: one JSON object ``{"NAME": value, …}`` in export order.

Values keep their type (string, number, boolean, null), so ``json.load`` gives
back exactly the decrypted scalars. JSON has no NaN or infinity: such a value
is refused, naming its key.

This module must never print; errors name the key, never the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions
from gitvault.export.model import Scalar, Variable


def as_mapping(variables: Sequence[Variable]) -> dict[str, Scalar]:
    """``{name: value}``, refusing non-finite floats (JSON cannot hold them)."""
    result: dict[str, Scalar] = {}
    for variable in variables:
        if isinstance(variable.value, float) and not math.isfinite(variable.value):
            raise BadInput(f"{variable.origin} is not a finite number, which json cannot hold")
        if isinstance(variable.value, str) and not is_unicode_text(variable.value):
            # A value holding bytes that are not UTF-8 decrypts with surrogate escapes:
            # JSON and YAML would write text no reader (nor a UTF-8 stream) accepts.
            raise BadInput(f"{variable.origin} holds bytes that are not UTF-8 text")
        result[variable.name] = variable.value
    return result


def is_unicode_text(value: str) -> bool:
    """False for strings with lone surrogates (undecodable bytes kept by surrogateescape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class JsonFormat:
    """A single JSON object."""

    name = "json"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        return json.dumps(as_mapping(variables), indent=2, ensure_ascii=False) + "\n"


FORMAT = JsonFormat()
