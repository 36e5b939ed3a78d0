"""Text rendering of the ``offboard`` and ``access`` reports, and ``offboard``'s exit.

Loaded by ``offboard`` and by ``access`` when it prints text, never by
``recipients`` or ``rekey``. Reports on stdout, status lines on stderr as
``gitvault: …``; no value is ever shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitvault.cli.common import echo, hint, say
from gitvault.errors import CheckFailed, GitError, RotationFailed

_WORKTREE = "work tree"


def _short(commit: str) -> str:
    return commit if commit == _WORKTREE else commit[:12]


def render_offboard(report: Any) -> None:
    """What ``offboard`` did: the policy change, the re-keyed files, every exposed key."""
    from gitvault.team import offboard as ob

    if report.policy_changed:
        where = ", ".join([*report.groups, *report.rules])
        say(f"removed {report.name} from {report.policy_file}" + (f" ({where})" if where else ""))
    else:
        say(f"{report.name} is no longer in {report.policy_file}; checked history only")
    for f in report.rekeyed:
        say(f"rekeyed {f} (new data key)")
    echo(f"keys {report.name} could read ({len(report.exposed)}):")
    labels = {
        ob.ROTATED: "rotated",
        ob.NOT_ROTATED: "not rotated (use --rotate)",
        ob.NEEDS_HUMAN: "NEEDS A HUMAN",
        ob.GONE: "gone from the vault",
        ob.FAILED: "ROTATION FAILED (rolled back)",
        ob.ROLLBACK_FAILED: "ROLLBACK FAILED",
    }
    for e in report.exposed:
        span = _short(e.first) if e.first == e.last else f"{_short(e.first)}..{_short(e.last)}"
        line = f"  {e.file}  {e.key}  [{labels.get(e.status, e.status)}]"
        detail = [f"readable in {span}"]
        if e.via != "recipient":
            detail.append("via a data key they held")
        if e.generator:
            detail.append(f"generator {e.generator}")
        if e.reason:
            detail.append(e.reason)
        echo(line + "  (" + "; ".join(detail) + ")")
    for text in report.details:
        echo(text, err=True)
    if report.commit is not None:
        from gitvault.commits import describe_commit

        say(describe_commit(report.commit))
    if report.uncommitted:
        echo(
            "gitvault: error: !!! NOT COMMITTED: the external system may hold the new value of "
            + ", ".join(report.uncommitted),
            err=True,
        )


def offboard_exit(report: Any) -> None:
    """Raise the error that gives ``offboard`` its exit code (1, 6 or 7), if any."""
    from gitvault.team import offboard as ob

    if report.commit_error is not None:
        raise GitError(
            f"offboarding was applied but could not be committed: {report.commit_error}",
            hint="fix that, then commit the policy and vault files by hand",
        )
    failed = report.count(ob.FAILED) + report.count(ob.ROLLBACK_FAILED)
    if failed:
        raise RotationFailed(f"{failed} rotation(s) failed; see above")
    human = report.count(ob.NEEDS_HUMAN) + report.count(ob.NOT_ROTATED)
    if human:
        import shlex

        from gitvault.team.offboard_report import rotate_commands

        if report.commit is None and (report.policy_changed or report.rekeyed):
            hint(
                f"commit the offboarding first: `gitvault offboard {shlex.quote(report.name)} "
                "--commit`"
            )
        commands = rotate_commands(report, Path.cwd())
        for line in commands:
            hint(f"`{line}`")
        more = human - len(commands)
        raise CheckFailed(
            f"{human} key(s) {report.name} could read still hold values they may know",
            hint=(f"{more} more in `--json`; " if more > 0 else "")
            + "run each command above with NEW_VALUE set to the new value (or --generate SPEC "
            "instead of --stdin); keys with a generator: offboard again with --rotate",
        )


def render_access(report: Any, name: str | None) -> None:
    """Who can read which file now (and, with history, who could before)."""
    for f in report.files:
        if f.problem:
            echo(f"{f.file}: {f.problem}")
            continue
        flag = "" if f.ok else "  MISMATCH"
        echo(f"{f.file}  [{f.rule}]{flag}")
        echo("  readers: " + (", ".join(f.readers) or "-"))
        if not f.ok:
            echo("  policy:  " + (", ".join(f.policy) or "-"))
            if f.missing:
                echo("  missing: " + ", ".join(f.missing) + " (run `gitvault rekey`)")
            if f.extra:
                echo("  extra:   " + ", ".join(f.extra) + " (run `gitvault rekey`)")
    if not report.files:
        echo(f"{name or 'nobody'} can read no vault file now")
    if report.history is not None:
        echo("history:")
        for h in report.history:
            until = "now" if h.current else _short(h.last)
            echo(f"  {h.file}  {h.reader}  {_short(h.first)}..{until}  ({h.versions} version(s))")
    if report.mismatches:
        hint(f"{report.mismatches} file(s) differ from the policy: run `gitvault rekey`")
