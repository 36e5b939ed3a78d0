"""``gitvault import``: parse the command line, plan, apply, render. No logic of its own."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import emit_json, identity_option, json_option, say, write_report
from gitvault.cli.files import commit_options
from gitvault.errors import UsageError


@click.command(name="import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Put every source's keys into this one vault file.",
)
@click.option(
    "--into",
    "into",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="One vault file per source (DIR/<name>.yaml) or per Kubernetes Secret "
    "(DIR/<namespace>/<name>.yaml).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dotenv", "json", "yaml"]),
    default=None,
    help="Read every source as this format (default: from each file name).",
)
@click.option("--merge", is_flag=True, help="Add the keys to vault files that already exist.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing vault files; with --merge, replace the values of keys they have.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (files, keys, origins); write nothing."
)
@json_option
@identity_option
@commit_options
def import_(
    sources: tuple[Path, ...],
    to: Path | None,
    into: Path | None,
    fmt: str | None,
    merge: bool,
    overwrite: bool,
    dry_run: bool,
    as_json: bool,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """Bring existing secrets into vault files: dotenv, JSON, YAML, Kubernetes Secrets, sops.

    Everything is read and checked before anything is written; then every
    vault file is written, or none (docs/import.md). Recipients come from the
    policy rule of each destination. Values are never printed: the plan
    names files, keys and the source line each key came from.

    \b
    Names: keys are kept as written. With --into DIR a source becomes
    DIR/<file name without leading dot, .env/.json/.yaml/.yml, .sops/.enc>.yaml
    (.env -> env.yaml, prod.env -> prod.yaml, app.sops.yaml -> app.yaml),
    a Kubernetes Secret DIR/<namespace>/<name>.yaml.

    \b
    Example:
      gitvault import .env --to secrets/dev/app.yaml
      gitvault import services/*/.env --into secrets/dev --dry-run
      gitvault import k8s/secrets.yaml --into secrets/prod --commit
      gitvault import old.sops.yaml --to secrets/prod/app.yaml --merge --overwrite
    """
    from gitvault.cli.files import _check_commit_flags
    from gitvault.importer import CommitOptions, ImportOptions, apply_import, plan_import

    _check_commit_flags(do_commit, message, allow_staged)
    if dry_run and do_commit:
        raise UsageError("--dry-run writes nothing: it cannot --commit")
    if (to is None) == (into is None):
        raise UsageError("give exactly one of --to FILE or --into DIR")
    options = ImportOptions(
        to=to, into=into, fmt=fmt, merge=merge, overwrite=overwrite, identity=identity
    )
    if dry_run:
        plan = plan_import(list(sources), options)
        _render(plan.to_json(), as_json, dry_run=True, commit=None)
        return
    from gitvault.locking import tree_lock

    anchor = _existing(to if to is not None else into)
    with tree_lock(anchor, "import"):  # no other writer between the plan and the writes
        plan = plan_import(list(sources), options)
        result = apply_import(
            plan,
            commit=CommitOptions(message, allow_staged) if do_commit else None,
        )
    _render(plan.to_json(), as_json, dry_run=False, commit=result.commit)


def _existing(path: Path | None) -> Path:
    """The nearest existing folder at or above ``path`` (the lock is taken there)."""
    assert path is not None
    current = path.absolute()
    while not current.is_dir() and current != current.parent:
        current = current.parent
    return current


def _render(report: dict, as_json: bool, *, dry_run: bool, commit: str | None) -> None:  # type: ignore[type-arg]
    summary = report["summary"]
    if as_json:
        emit_json({**report, "dry_run": dry_run, "commit": commit})
        return
    lines: list[str] = []
    for f in report["files"]:
        readers = ", ".join(f["recipients"])
        lines.append(f"{f['vault_path']}  ({f['action']}; readers: {readers})")
        if dry_run:
            width = max((len(k["key"]) for k in f["keys"]), default=0)
            for k in f["keys"]:
                verb = "  replaces" if k["action"] == "replace" else ""
                lines.append(f"    {k['key']:<{width}}  from {k['from']}{verb}")
    write_report("\n".join(lines) + "\n")
    what = f"{summary['files']} vault file(s), {summary['keys']} key(s)"
    if dry_run:
        say(f"dry run: would import {what}; nothing written")
    else:
        say(f"imported {what}" + (f"; {commit}" if commit else ""))
