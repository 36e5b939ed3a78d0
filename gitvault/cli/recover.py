"""``recover``: see, finish or undo an operation a crash interrupted (its journal).

Parses, calls :mod:`gitvault.rotate.recover`, renders its report. Human lines go
to stderr, ``--json`` to stdout; no value is ever printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitvault.cli.common import echo, emit_json, identity_option, load_ids, say
from gitvault.errors import UsageError


@click.command()
@click.option(
    "--finish", is_flag=True, help="Commit what was applied (re-verifying what is unsure)."
)
@click.option(
    "--undo", is_flag=True, help="Restore the old values, if no system may hold new ones."
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="With --finish: take the new value of unsure keys without running verify.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --undo: restore old values even where apply ran (you checked the system).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@identity_option
def recover(
    finish: bool, undo: bool, no_verify: bool, force: bool, as_json: bool, identity: Path | None
) -> None:
    """Finish or undo a rotate/offboard --rotate that was interrupted.

    \b
    rotate and offboard --rotate keep an encrypted journal in .git/gitvault/
    while they run. If the process is killed (or a rollback fails), the journal
    stays and every gitvault command says so. Without options, list what is
    pending (exit 1 when something is).

    \b
    --finish  keys that rotated keep the new value; keys whose outcome is unsure
              (a command was running, or the rollback failed) are checked with
              their verify command and keep the new value when it passes; the
              rest keep the old value; the result is committed
    --undo    put the old values back, only if no apply command ran (or its
              rollback succeeded); --force after checking the system by hand

    \b
    Example:
      gitvault recover
      gitvault recover --finish
      gitvault recover --undo --json
    """
    from gitvault.rotate import recover as engine

    if finish and undo:
        raise UsageError("use either --finish or --undo, not both")
    if no_verify and not finish:
        raise UsageError("--no-verify goes with --finish")
    if force and not undo:
        raise UsageError("--force goes with --undo")
    if finish:
        report = engine.finish(Path.cwd(), load_ids(identity), no_verify=no_verify)
    elif undo:
        report = engine.undo(Path.cwd(), load_ids(identity), force=force)
    else:
        report = engine.status(Path.cwd())
    if as_json:
        emit_json(report.to_json())
    _render(report)
    if report.action == "list" and report.operations:
        raise click.exceptions.Exit(1)


def _render(report: Any) -> None:
    from gitvault.commits import describe_commit

    if not report.operations:
        say("nothing to recover")
        return
    for op in report.operations:
        verb = {"list": "interrupted", "finish": "finished", "undo": "undone"}[report.action]
        say(f"{verb}: {op.describe()}")
        if report.action == "list":
            for k in op.keys:
                echo(f"  {k.file}:{k.key}  {k.phase}", err=True)
    if report.kept_new:
        say("new value kept: " + ", ".join(report.kept_new))
    if report.kept_old and report.action == "undo":
        say("old value restored: " + ", ".join(report.kept_old))
    for note in report.notes:
        say(note)
    if report.commit is not None:
        say(describe_commit(report.commit))
    if report.action == "list":
        say("hint: `gitvault recover --finish` commits what was applied; `--undo` reverts")
