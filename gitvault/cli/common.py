"""Options and small helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

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


def load_ids(identity: Path | None) -> Any:
    from gitvault.identities import load_identities

    return load_identities(identity)


def say(message: str) -> None:
    """A human message on stderr (data goes to stdout)."""
    click.echo(f"gitvault: {message}", err=True)


def hint(message: str) -> None:
    click.echo(f"gitvault: hint: {message}", err=True)


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
