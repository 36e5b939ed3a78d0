"""The body of ``gitvault verify``, without click.

:mod:`gitvault.cli.verify` declares the command (options, help) and calls
:func:`run_verify`; the entry point's fast path calls it too for the plain
forms (``gitvault verify [--json] [--structure-only] [PATH...]``), which then
skip importing click. One body, so both routes print and exit the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gitvault.errors import AccessDenied, BadInput, CheckFailed


def echo(text: str) -> None:
    """One report line on stdout, terminal controls escaped (as ``cli.common.echo``)."""
    from gitvault.safetext import printable_lines

    sys.stdout.write(printable_lines(text) + "\n")
    sys.stdout.flush()


def emit_json(payload: object) -> None:
    """``payload`` as JSON on stdout (as ``cli.common.emit_json``)."""
    import json

    from gitvault.safetext import json_text

    sys.stdout.write(json_text(json.dumps(payload, indent=2, ensure_ascii=False)) + "\n")
    sys.stdout.flush()


def run_verify(
    paths: tuple[Path, ...],
    identity: Path | None,
    as_json: bool,
    freshness: bool | None,
    require_signed: bool,
    since: str | None,
    structure_only: bool,
) -> None:
    """``gitvault verify`` (see :func:`gitvault.cli.verify.verify`)."""
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
