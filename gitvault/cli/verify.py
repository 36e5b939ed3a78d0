"""``gitvault verify``: the CI gate for vault files."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import emit_json, identity_option, json_option
from gitvault.errors import BadInput, CheckFailed


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@identity_option
@json_option
def verify(paths: tuple[Path, ...], identity: Path | None, as_json: bool) -> None:
    """Check vault files: structure, recipients vs policy, MAC, schema.

    With no PATHS, every file a policy rule covers is checked. The MAC and
    schema are checked when one of your identities can open the file. Exits 1
    when any problem is found.

    \b
    Example:
      gitvault verify
      GITVAULT_AGE_KEY="$CI_KEY" gitvault verify secrets/production --json
    """
    from gitvault import policy
    from gitvault import verify as core
    from gitvault.identities import load_identities

    root = policy.find_root(Path.cwd() if not paths else paths[0].absolute().parent)
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    pol = policy.load(root)
    rels: list[str] = []
    for p in paths:
        absolute = p.absolute().resolve()
        try:
            rel = absolute.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise BadInput(f"{p}: outside the vault repository {root}") from None
        if absolute.is_dir():
            rels.extend(f for f in core.covered_files(pol) if f.startswith(rel + "/") or rel == ".")
        else:
            rels.append(rel)
    if paths and not rels:
        raise BadInput("no vault files under the given paths")
    ids = load_identities(identity)
    report = core.verify(pol, rels or None, ids)
    if as_json:
        emit_json(report.to_json())
    else:
        for f in report.files:
            status = "ok" if f.ok else "FAIL"
            details = ", ".join(f"{k}: {v}" for k, v in f.checks.items())
            click.echo(f"{status:4}  {f.file}  ({details})")
            for w in f.warnings:
                click.echo(f"      warning: {w}")
            for p in f.problems:
                click.echo(f"      problem: {p}")
        if not report.files:
            click.echo("no vault files found")
    if not report.ok:
        bad = sum(1 for f in report.files if not f.ok)
        raise CheckFailed(f"{bad} of {len(report.files)} vault file(s) failed verification")
