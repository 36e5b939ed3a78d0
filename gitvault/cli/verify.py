"""``gitvault verify``: the CI gate for vault files."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import identity_option, json_option


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@identity_option
@json_option
@click.option(
    "--freshness/--no-freshness",
    "freshness",
    default=None,
    help="Check history for rollbacks and substitutions "
    "[default: on in a git repository with full history, skipped (with a note) otherwise].",
)
@click.option(
    "--require-signed",
    is_flag=True,
    help="Fail on any change to a checked vault file or the policy in a commit without a good "
    "signature by a signing key the policy lists.",
)
@click.option(
    "--structure-only",
    is_flag=True,
    help="Check without keys: structure, selection metadata, plaintext, recipients (and history). "
    "No MAC or schema is checked and no identity is read. Without this flag, a file whose MAC "
    "no identity could check fails.",
)
@click.option(
    "--since",
    metavar="REV",
    default=None,
    help="Judge only the commits after REV (history before it is still read; default: all).",
)
def verify(
    paths: tuple[Path, ...],
    identity: Path | None,
    as_json: bool,
    freshness: bool | None,
    require_signed: bool,
    since: str | None,
    structure_only: bool,
) -> None:
    """Check vault files: structure, recipients vs policy, MAC, schema, freshness.

    With no PATHS, every file a policy rule covers is checked. The structure
    includes the rule's encryption selection: a file whose sops metadata
    selects other values than the rule, or that holds plaintext where the rule
    encrypts, fails. The MAC and schema need an identity that can open the
    file: a file none of yours opens fails (exit 3 when none opened any file),
    unless --structure-only asks for a check without keys. In a git
    repository with full history, the files' history is checked too: a file
    whose current content goes back to an older version (rollback), or whose
    data key was replaced outside a recorded re-key or by someone who was not
    a recipient (substitution), is a problem; earlier ones that were
    superseded are warnings. --require-signed also checks every commit that
    changed those files or the policy against the policy's signing keys.
    Exits 1 when any problem is found, 3 when no identity could open any file.

    \b
    Example:
      gitvault verify
      GITVAULT_AGE_KEY="$CI_KEY" gitvault verify secrets/production --json
      gitvault verify --require-signed --since v1.0
      gitvault verify --structure-only      # a CI job that holds no key
    """
    from gitvault.cli.verifyrun import run_verify

    run_verify(paths, identity, as_json, freshness, require_signed, since, structure_only)
