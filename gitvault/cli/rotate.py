"""``rotate``: new values, apply/verify elsewhere with rollback, one commit with trailers.

Parses, calls :mod:`gitvault.rotate.engine`, renders its report. Human lines
go to stderr, ``--json`` to stdout; no value is ever printed.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from gitvault.cli.common import echo, emit_json, identity_option, load_ids
from gitvault.errors import RotationFailed, UsageError

PATH = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("path", type=PATH, required=False)
@click.argument("keys", nargs=-1)
@click.option("--due", is_flag=True, help="Rotate every overdue key that has a generator.")
@click.option(
    "--within",
    default=None,
    metavar="D",
    help="With --due: also rotate keys due within D (e.g. 7d).",
)
@click.option(
    "--branch",
    default=None,
    metavar="NAME",
    help="Commit on a new branch NAME (for a pull request).",
)
@click.option(
    "--generate",
    "generator",
    default=None,
    metavar="SPEC",
    help="Generator for the new values, e.g. password:32 (default: the policy's).",
)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the new value of one KEY from stdin."
)
@click.option(
    "--apply", "apply_cmd", default=None, metavar="CMD", help="Install the new value (sh -c)."
)
@click.option(
    "--verify", "verify_cmd", default=None, metavar="CMD", help="Prove the new value works."
)
@click.option(
    "--timeout",
    default=None,
    metavar="T",
    help="Limit for each apply/verify run: seconds or 30s, 2m (default: policy, else 120s).",
)
@click.option("-m", "--message", default=None, help="Commit message (trailers are added).")
@click.option("--allow-staged", is_flag=True, help="Leave other staged changes staged.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@identity_option
def rotate(
    path: Path | None,
    keys: tuple[str, ...],
    due: bool,
    within: str | None,
    branch: str | None,
    generator: str | None,
    from_stdin: bool,
    apply_cmd: str | None,
    verify_cmd: str | None,
    timeout: str | None,
    message: str | None,
    allow_staged: bool,
    as_json: bool,
    identity: Path | None,
) -> None:
    """Rotate secrets: new values, optional apply/verify with rollback, one commit.

    \b
    Values come from --generate SPEC, --stdin, or the key's `generate` in the
    policy. Without KEYs, every key of PATH whose policy entry has `generate`.
    apply/verify commands (flags, or the policy's) get the values in the
    environment only: GITVAULT_NEW_VALUE, GITVAULT_OLD_VALUE,
    GITVAULT_HAS_OLD_VALUE, GITVAULT_FILE, GITVAULT_KEY, GITVAULT_PHASE.

    \b
    apply fails   -> nothing changes, exit 7
    verify fails  -> apply runs again with the old value, nothing committed, exit 7
    success       -> the file is written and committed with Gitvault-* trailers

    \b
    Example:
      gitvault rotate secrets/prod/db.yaml db.password
      gitvault rotate secrets/prod/app.yaml api.token --generate token:sk_live_:32
      printf %s "$NEW" | gitvault rotate secrets/prod/app.yaml smtp.password --stdin
      gitvault rotate --due --branch rotate/$(date +%F)
    """
    from gitvault.rotate import engine, plan

    if due:
        if path is not None or keys:
            raise UsageError("--due rotates what the policy says is overdue: give no PATH or KEY")
        if generator or from_stdin or apply_cmd or verify_cmd:
            raise UsageError(
                "--due uses each key's policy settings: drop --generate/--stdin/--apply/--verify"
            )
    else:
        if path is None:
            raise UsageError("give a vault file PATH (and KEYs), or --due")
        if within is not None:
            raise UsageError("--within goes with --due")
        if generator and from_stdin:
            raise UsageError("use either --generate or --stdin, not both")
    seconds = engine.parse_timeout(timeout) if timeout is not None else None
    identities = load_ids(identity)
    if due:
        span = _within(within)
        report = plan.rotate_due(
            Path.cwd(),
            identities,
            within=span,
            timeout=seconds,
            allow_staged=allow_staged,
            branch=branch,
            message=message,
        )
    else:
        assert path is not None
        source = None
        if generator:
            source = engine.ValueSource.from_spec(generator)
        elif from_stdin:
            source = engine.ValueSource.from_stdin(_read_stdin())
        overrides = engine.Overrides(
            source=source, apply=apply_cmd, verify=verify_cmd, timeout=seconds
        )
        report = plan.rotate_keys(
            path,
            keys,
            identities,
            overrides=overrides,
            allow_staged=allow_staged,
            branch=branch,
            message=message,
        )
    _render(report, as_json=as_json, due=due)


def _within(text: str | None) -> timedelta:
    if text is None:
        return timedelta(0)
    from gitvault.history.schedule import seconds

    return seconds(text)


def _read_stdin() -> str:
    raw = sys.stdin.read()
    if raw.endswith("\n"):
        raw = raw[:-1]
        if raw.endswith("\r"):
            raw = raw[:-1]
    return raw


def _err(text: str) -> None:
    echo(text, err=True)


def _render(report: Any, *, as_json: bool, due: bool) -> None:
    from gitvault.commits import describe_commit
    from gitvault.rotate.engine import NOT_RUN, ROTATED

    if as_json:
        emit_json(report.to_json())
    failed = report.failed
    for r in report.results:
        if r.status == ROTATED:
            steps = ["applied"] if r.applied else []
            steps.append("verified" if r.verified else "no verify command")
            source = "value from stdin" if r.spec == "stdin" else r.spec
            _err(f"gitvault: rotated {r.file}:{r.key} ({source}; {', '.join(steps)})")
        elif r.status == NOT_RUN:
            _err(f"gitvault: skipped {r.file}:{r.key}: {r.message}")
        else:
            if r.details:
                _err(r.details)  # the failed commands' output, values masked as ***
            if len(failed) > 1:
                _err(f"gitvault: failed: {r.message}")
    if report.commit is not None:
        _err(f"gitvault: {describe_commit(report.commit)}")
        if report.branch:
            _err(f"gitvault: hint: open a pull request: git push -u origin {report.branch}")
    if report.uncommitted:
        _err(
            "gitvault: error: !!! NOT COMMITTED: the external system may hold the new value of "
            + ", ".join(report.uncommitted)
            + "; it is written (encrypted) to the work tree, not committed, and journaled"
        )
    for line in report.commit_output:
        _err(f"  {line}")  # what git commit and its hooks said, values masked
    if report.needs_human:
        _err(f"gitvault: {len(report.needs_human)} overdue key(s) need a human:")
        for n in report.needs_human:
            _err(f"  {n.file}:{n.key}: {n.reason}")
    if due and not report.results and not report.needs_human:
        _err("gitvault: nothing is overdue")
    if report.commit_error is not None:
        from gitvault.errors import GitError

        if report.uncommitted:
            raise GitError(
                f"the rotation was applied but could not be committed: {report.commit_error}",
                hint="fix what the lines above say, then `gitvault recover --finish` commits "
                "the new values",
            )
        raise GitError(f"{report.commit_error}; nothing was changed")
    if not failed:
        return
    if len(failed) == 1 and report.commit is None:
        raise RotationFailed(failed[0].message, hint=_hint(failed[0]))
    committed = f"{len(report.rotated)} committed" if report.commit else "nothing was committed"
    raise RotationFailed(
        f"{len(failed)} of {len(report.results)} rotations failed and were not committed; "
        + committed,
        hint=next((_hint(r) for r in failed if _hint(r)), None),
    )


def _hint(result: Any) -> str | None:
    from gitvault.rotate.engine import ROLLBACK_FAILED

    if result.status == ROLLBACK_FAILED:
        return (
            "check the system by hand: the work tree has the new value, HEAD the old one; "
            "then `gitvault recover --finish` (it holds the new value) or `--undo --force`"
        )
    return None
