"""``log`` and ``due``: the audit trail and the rotation schedule, read from git history.

Each command calls one function of :mod:`gitvault.history.query` and renders
the result as a text table or as its versioned JSON model (``gitvault.log/v1``,
``gitvault.due/v1``). No value is ever shown: events carry key paths only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gitvault.cli.common import emit_json, identity_option, load_ids, write_report
from gitvault.errors import CheckFailed


def _date(epoch: int | float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))


def _table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _signature(commit: Any) -> str:
    if not commit.signed:
        return "unsigned"
    if commit.verified:
        return "verified"
    return f"signed ({commit.signature})"


def _event_kind(event: Any) -> str:
    if event.kind == "rekeyed" and event.value_changed is None:
        return "rekeyed?"  # every ciphertext changed; no identity or trailer to tell more
    return str(event.kind)


def render_log(log: Any) -> str:
    commits = {c.commit: c for c in log.commits}
    rows: list[tuple[str, ...]] = [
        ("DATE (UTC)", "COMMIT", "EVENT", "KEY", "AUTHOR", "SIGNATURE", "TRAILERS")
    ]
    for e in log.events:
        c = commits[e.commit]
        what = f"{e.file}:{e.key}" if e.key is not None else f"{e.file} ({e.detail})"
        agree = {None: "-", True: "ok", False: "MISMATCH"}[c.trailers_agree]
        rows.append(
            (_date(e.time), e.commit[:12], _event_kind(e), what, e.author, _signature(c), agree)
        )
    out = _table(rows) if len(rows) > 1 else "no vault changes in history\n"
    mismatched = [c for c in log.commits if c.problems]
    if mismatched:
        out += "\ntrailers that disagree with the tree:\n"
        for c in mismatched:
            for problem in c.problems:
                out += f"  {c.commit[:12]}: {problem}\n"
    if log.problems:
        out += "\nunreadable versions:\n" + "".join(f"  {p}\n" for p in log.problems)
    return out


@click.command()
@click.argument("target", required=False, metavar="[PATH[:KEY]]")
@click.option("--rev", default="HEAD", show_default=True, help="Read history up to this revision.")
@click.option("--json", "as_json", is_flag=True, help="The gitvault.log/v1 JSON model.")
@click.option(
    "--no-signatures",
    is_flag=True,
    help="Do not verify commit signatures (faster; 'signed' is still reported).",
)
@identity_option
def log(
    target: str | None, rev: str, as_json: bool, no_signatures: bool, identity: Path | None
) -> None:
    """Per-key history: added, rotated, removed, re-keyed, recipients changed.

    For each event: when, which commit, who, whether the commit is signed and
    the signature verifies, and whether its Gitvault-* trailers agree with
    what the commit really changed (MISMATCH otherwise). With an identity that
    can decrypt, re-keys are told apart from rotations by value; without one,
    by the trailers ("rekeyed?" when neither can tell). Every commit is compared
    with its first parent; what a merge only brought in from its other parent is
    credited to the commits of that branch. Values are compared by their decoded
    bytes, so a re-spelt file is not a rotation. No value is shown.

    \b
    Example:
      gitvault log
      gitvault log secrets/prod/db.yaml:db.password
      gitvault log secrets/prod --json --rev v1.4.0
    """
    from gitvault.history.query import vault_log

    identities = load_ids(identity)
    result = vault_log(
        Path.cwd(), target, identities=identities, rev=rev, check_signatures=not no_signatures
    )
    if as_json:
        emit_json(result.to_json())
    else:
        write_report(render_log(result))


def render_due(report: Any, problems: tuple[str, ...]) -> str:
    from gitvault.history.due import format_period

    rows: list[tuple[str, ...]] = [("STATUS", "KEY", "PERIOD", "LAST CHANGE (UTC)", "AGE", "DUE")]
    for i in report.items:
        if i.exposed and i.last_change is None:
            where = f"exposed in {i.exposed[:12]}, removed since: rotate at its source"
            rows.append((i.status, f"{i.file}:{i.key}", "-", "removed", "-", where))
            continue
        if i.last_change is None:
            rows.append((i.status, f"{i.file}:{i.key}", format_period(i.period), "never", "-", "-"))
            continue
        left = i.due_at - report.now
        due = (
            f"in {format_period(left)}"
            if left.total_seconds() > 0
            else (f"{format_period(-left)} ago")
        )
        if i.exposed:
            rows.append(
                (
                    i.status,
                    f"{i.file}:{i.key}",
                    format_period(i.period) if i.period else "-",
                    i.last_change.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                    format_period(i.age),
                    f"exposed in {i.exposed[:12]}: rotate now",
                )
            )
            continue
        rows.append(
            (
                i.status,
                f"{i.file}:{i.key}",
                format_period(i.period),
                i.last_change.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                format_period(i.age),
                due,
            )
        )
    out = _table(rows) if len(rows) > 1 else "no key has a rotation period in the policy\n"
    counts = {s: sum(1 for i in report.items if i.status == s) for s in ("overdue", "due-soon")}
    out += (
        f"\n{counts['overdue']} overdue, {counts['due-soon']} due soon, {len(report.items)} keys\n"
    )
    if problems:
        out += "\nunreadable files:\n" + "".join(f"  {p}\n" for p in problems)
    return out


@click.command()
@click.option(
    "--within",
    default="7d",
    show_default=True,
    metavar="D",
    help="Report keys due within D as due-soon (e.g. 14d, 12h).",
)
@click.option("--json", "as_json", is_flag=True, help="The gitvault.due/v1 JSON model.")
@click.option("--fail", is_flag=True, help="Exit 1 when any key is overdue (for scheduled CI).")
@identity_option
def due(within: str, as_json: bool, fail: bool, identity: Path | None) -> None:
    """What is overdue or due soon for rotation, computed from history.

    Every key with a period counts: a rule's rotate_after covers every key of
    every file it matches, a key's own rotate_after overrides it. The last
    change is the author date of the newest commit that changed the value (a
    re-key does not count; a merge counts only for values it made itself). Keys
    never committed are "unknown". Keys marked exposed by `migrate import`
    (leaked values) are overdue whatever their age or period, until a later
    commit changes the value (docs/migration.md).

    \b
    Example:
      gitvault due
      gitvault due --within 14d --json
      gitvault due --fail        # in a scheduled CI job
    """
    from gitvault.history.query import due as due_query
    from gitvault.history.schedule import seconds

    span = seconds(within)
    result = due_query(Path.cwd(), within=span, identities=load_ids(identity), now=_now())
    if as_json:
        payload = result.report.to_json()
        payload["problems"] = list(result.problems)
        emit_json(payload)
    else:
        write_report(render_due(result.report, result.problems))
    overdue = len(result.report.overdue)
    if fail and overdue:
        raise CheckFailed(
            f"{overdue} key(s) overdue for rotation",
            hint="gitvault rotate --due rotates those with a generator",
        )


def _now() -> datetime:
    return datetime.now(tz=UTC)
