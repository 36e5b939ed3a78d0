"""GitHub Actions: log masks for decrypted values, and the ``$GITHUB_ENV`` format.

Masks. Under ``GITHUB_ACTIONS=true`` the runner hides every string registered
with ``::add-mask::VALUE`` from the rest of the job's log. :func:`mask_commands`
builds those lines; callers print them to **stdout** before anything else (the
runner reads workflow commands there), and never to stderr.

The runner masks what a log line *contains*, byte for byte, and line by line.
A value is rarely printed as itself: ``--format env`` writes ``'`` as
``'\\''``, JSON writes a tab as ``\\t``, YAML doubles single quotes or
escapes a double-quoted scalar, dotenv escapes backslashes, ``k8s`` prints
base64, and a multi-line value spans several log lines. So per value we
register every spelling gitvault can print (:func:`spellings`: the raw text,
the shell, dotenv, JSON (UTF-8 and ASCII-escaped) and YAML forms, base64) and,
for each spelling that spans lines, each of its lines with and without the
indentation around it. Empty and whitespace-only candidates are skipped, since
a mask that matches nothing visible only adds noise. ``textconv`` (``git diff``
under Actions) uses the same helper for the YAML it prints.

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
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions
from gitvault.export.model import Variable, require_env_safe


def under_github_actions(environ: Mapping[str, str]) -> bool:
    """True when running as a GitHub Actions step (``GITHUB_ACTIONS=true``)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """Escape workflow-command data: ``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def spellings(value: str) -> list[str]:
    """Every way gitvault's outputs can print ``value`` (each may span lines).

    One entry per output syntax, from the same functions the formats use, so a
    new escaping rule there is a new spelling here without a second copy.
    """
    from gitvault.export.dotenv import dotenv_quote
    from gitvault.export.env import shell_quote
    from gitvault.yamlio.emit import format_string

    forms = [value, shell_quote(value)[1:-1]]
    try:
        quoted = dotenv_quote(value, "value")
    except BadInput:
        pass  # dotenv refuses this value, so it is never printed that way
    else:
        forms.append(quoted[1:-1] if quoted[:1] in "'\"" and len(quoted) > 1 else quoted)
    forms.append(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.append(json.dumps(value, ensure_ascii=True)[1:-1])
    forms.append(format_string(value, 0))
    if value:
        forms.append(base64.b64encode(value.encode("utf-8", "surrogatepass")).decode())
    return forms


def mask_strings(values: Iterable[str]) -> list[str]:
    """Every string to register for ``values`` (see the module docstring), deduplicated."""
    result: dict[str, None] = {}
    for value in values:
        for form in spellings(value):
            for line in [form, *form.splitlines()]:
                for candidate in (line, line.strip()):
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
