"""Options and small helpers shared by the CLI command modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

# One body each for the click commands and the click-free fast paths.
from gitvault.cli.writes import load_ids as load_ids
from gitvault.cli.writes import say as say
from gitvault.cli.writes import write_stdout as write_stdout

F = TypeVar("F", bound=Callable[..., Any])


def identity_option(func: F) -> F:
    return click.option(
        "-i",
        "--identity",
        "identity",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Use only this identity file (age key file or unencrypted SSH private key).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(
        func
    )


def hint(message: str) -> None:
    """A ``hint:`` line on stderr, terminal controls escaped."""
    from gitvault.safetext import printable_lines

    click.echo(f"gitvault: hint: {printable_lines(message)}", err=True)


def echo(text: str, *, err: bool = False) -> None:
    """A line of a human report: names from vault files, the policy or commits
    may hold terminal escapes, so every control but the line break is escaped.
    Never use it for data (decrypted values, exports): those go out verbatim."""
    from gitvault.safetext import printable_lines

    click.echo(printable_lines(text), err=err)


def emit_json(payload: Any) -> None:
    """``payload`` as JSON on stdout; no raw control character (see ``json_text``)."""
    from gitvault.safetext import json_text

    click.echo(json_text(json.dumps(payload, indent=2, ensure_ascii=False)))


def write_report(text: str) -> None:
    """A human report on stdout with terminal controls escaped (see :func:`echo`)."""
    from gitvault.safetext import printable_lines

    write_stdout(printable_lines(text))
