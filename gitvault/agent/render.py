"""Render an output's bytes: an export format, or a sandboxed template.

``json``, ``dotenv``, ``env`` and ``yaml`` are ``gitvault export``'s own
formats (:mod:`gitvault.export`), so an output holds byte for byte what
``gitvault export --format F`` prints for the same variables.

``template`` uses jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`: a template cannot reach Python internals,
and a name it uses that the output does not deliver is an error, so the
output is never rendered with a hole in it. Rendering happens in memory; a
failure writes nothing. jinja2 is imported only when a template output
exists. Each variable is a top-level name (``{{ DB_PASSWORD }}``) and all of
them are in ``secrets`` (``{% for name, value in secrets|dictsort %}``).

Errors name the output, the template's line and the undefined *name*; the
engine's own exception text is not passed on (it could quote a value).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput

if TYPE_CHECKING:
    from gitvault.agent.config import Output
    from gitvault.export.model import Variable

MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
_UNDEFINED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]{0,100})' is undefined")


def render(out: Output, variables: Sequence[Variable]) -> bytes:
    """The complete bytes of the output (raises before anything is written)."""
    if out.format == "template":
        text = _template(out, variables)
    else:
        from gitvault.export.base import RenderOptions, get_format

        options = RenderOptions(dotenv_dialect=out.dotenv_dialect)
        text = get_format(out.format).render(variables, options)
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_OUTPUT_BYTES:
        raise BadInput(f"output {out.name}: rendered output over {MAX_OUTPUT_BYTES} bytes")
    return data


def _template(out: Output, variables: Sequence[Variable]) -> str:
    from gitvault.fsutil import read_input

    assert out.template is not None
    try:
        source = read_input(out.template, limit=MAX_TEMPLATE_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"output {out.name}: template is not UTF-8 text") from None
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    values: dict[str, Any] = {v.name: v.value for v in variables}
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as err:
        # The message is about the template's own text (a local file), never a value.
        raise BadInput(
            f"output {out.name}: template syntax error at line {err.lineno}: {err.message}"
        ) from None
    try:
        return template.render(**values, secrets=values)
    except jinja2.UndefinedError as err:
        match = _UNDEFINED.search(str(err))
        what = f"{match.group(1)}, which" if match else "a name or attribute that"
        raise BadInput(
            f"output {out.name}: template uses {what} the output does not deliver; nothing rendered"
        ) from None
    except SecurityError:
        raise BadInput(
            f"output {out.name}: template does something the sandbox forbids; nothing rendered"
        ) from None
    except Exception as err:
        raise BadInput(
            f"output {out.name}: template failed ({type(err).__name__}); nothing rendered"
        ) from None
