"""``gitvault verify``: the CI gate for vault files."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import echo, emit_json, identity_option, json_option
from gitvault.errors import AccessDenied, BadInput, CheckFailed


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
    # Under --structure-only no identity is read at all (nothing is decrypted).
    ids = None if structure_only else load_identities(identity)
    report = core.verify(pol, rels or None, ids, structure_only=structure_only)
    mode = {None: "auto", True: "on", False: "off"}[freshness]
    report.history = core.check_history(
        pol, report, mode=mode, since=since, require_signed=require_signed, ids=ids
    )
    if as_json:
        emit_json(report.to_json())
    else:
        for f in report.files:
            status = "ok" if f.ok else "FAIL"
            details = ", ".join(f"{k}: {v}" for k, v in f.checks.items())
            echo(f"{status:4}  {f.file}  ({details})")
            for w in f.warnings:
                echo(f"      warning: {w}")
            for problem in f.problems:
                echo(f"      problem: {problem}")
        if not report.files:
            echo("no vault files found")
        if structure_only and report.files:
            echo("structure only: no MAC or schema was checked (--structure-only)")
        _echo_history(report.history)
    if report.nothing_decrypted:
        raise AccessDenied(_nothing_opened(report), hint=_NO_KEY_HINT)
    if not report.ok:
        bad = sum(1 for f in report.files if not f.ok)
        history = report.history.problems if report.history is not None else []
        if bad:
            raise CheckFailed(f"{bad} of {len(report.files)} vault file(s) failed verification")
        raise CheckFailed(f"{len(history)} history problem(s) found")


_NO_KEY_HINT = (
    "give an identity that can (--identity, GITVAULT_AGE_KEY), "
    "or pass --structure-only for a check without keys"
)


def _nothing_opened(report: object) -> str:
    """The exit-3 message: which file could not be opened, and who could open it."""
    from gitvault.verify import VerifyReport

    assert isinstance(report, VerifyReport)
    first = next(f for f in report.files if f.file in report.unchecked)
    others = len(report.unchecked) - 1
    more = f" or the {others} other file(s)" if others else ""
    if not first.readers:
        return f"no MAC was checked: no identity found to open {first.file}{more}"
    return (
        f"no MAC was checked: none of your identities can open {first.file} "
        f"(readable by: {first.readers}){more}"
    )


def _echo_history(history: object) -> None:
    from gitvault.verify import HistoryReport

    assert isinstance(history, HistoryReport)
    if not history.checked:
        if history.reason and not history.reason.startswith("disabled"):
            echo(f"history: not checked ({history.reason})")
        return
    scope = f"since {history.since}" if history.since else "all history"
    signed = ", signatures required" if history.require_signed else ""
    echo(f"history: freshness checked ({scope}{signed})")
    for problem in history.problems:
        echo(f"      problem: {problem}")
    for note in history.notes:
        echo(f"      note: {note}")
