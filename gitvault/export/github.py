"""GitHub Actions: log masks for decrypted values, and the ``$GITHUB_ENV`` format.

Masks. Under ``GITHUB_ACTIONS=true`` the runner hides every string registered
with ``::add-mask::VALUE`` from the rest of the job's log. :func:`mask_commands`
builds those lines; callers print them to **stdout** before anything else (the
runner reads workflow commands there), and never to stderr. Per value we
register: the value itself; each line of a multi-line value (the runner masks
line by line, so a whole multi-line mask would never match a log line); and its
base64 form (which the ``k8s`` format prints). Empty and whitespace-only lines
are skipped, since a mask that matches nothing visible only adds noise.

Escaping: the text after ``::add-mask::`` is workflow-command data, which the
runner un-escapes with ``%25`` -> ``%``, ``%0D`` -> CR, ``%0A`` -> LF (the
same rule as ``escapeData`` in @actions/core). We escape exactly those three,
``%`` first, so a value containing ``%0A`` literally is registered as itself.

``--format github-env`` writes ``NAME<<DELIMITER`` blocks for the
``$GITHUB_ENV`` file (multi-line safe); the delimiter is random and checked
not to occur in the value, so a value cannot end its block early and inject
other variables.

This module must never write anything itself: it returns text.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping, Sequence

from gitvault.export.base import RenderOptions
from gitvault.export.model import Variable, require_env_safe


def under_github_actions(environ: Mapping[str, str]) -> bool:
    """True when running as a GitHub Actions step (``GITHUB_ACTIONS=true``)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """Escape workflow-command data: ``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def mask_strings(values: Iterable[str]) -> list[str]:
    """Every string to register for ``values`` (see the module docstring), deduplicated."""
    result: dict[str, None] = {}
    for value in values:
        candidates = [value, *value.splitlines()]
        if value:
            candidates.append(base64.b64encode(value.encode("utf-8", "surrogatepass")).decode())
        for candidate in candidates:
            if candidate.strip() and "\n" not in candidate and "\r" not in candidate:
                result[candidate] = None
    return list(result)


def mask_commands(values: Iterable[str]) -> str:
    """``::add-mask::…`` lines for ``values``, ready to print to stdout first."""
    return "".join(f"::add-mask::{escape_data(s)}\n" for s in mask_strings(values))


def _delimiter(value: str) -> str:
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if delimiter not in value:
            return delimiter


class GithubEnvFormat:
    """``NAME<<DELIM`` … ``DELIM`` blocks for ``$GITHUB_ENV`` (or ``$GITHUB_OUTPUT``)."""

    name = "github-env"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        require_env_safe(variables)
        blocks = []
        for variable in variables:
            delimiter = _delimiter(variable.text)
            blocks.append(f"{variable.name}<<{delimiter}\n{variable.text}\n{delimiter}\n")
        return "".join(blocks)


FORMAT = GithubEnvFormat()
