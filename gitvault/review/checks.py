"""The state of the range's vault files: freshness, rotation ages, ``verify``'s file checks.

Freshness (:func:`gitvault.history.freshness.analyze`) judges the range's
commits by the base's policy; the file checks judge HEAD's files by the head's
policy (is the file what the proposed policy says) and by the base's selection
rule (a pull request cannot make its own plaintext acceptable). No plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord
from gitvault.review.context import Collector, walk_dirs
from gitvault.review.model import FileCheck, FreshnessNote, KeyAge

if TYPE_CHECKING:
    from gitvault.history.audit import AuditLog
    from gitvault.history.freshness import CommitTrust
    from gitvault.policy import Policy


def freshness_notes(
    c: Collector,
    changed: list[str],
    trust: Callable[[CommitRecord], Policy | None],
    trusts: dict[str, CommitTrust],
    range_ids: set[str],
) -> list[FreshnessNote]:
    """Rollbacks and substitutions the range's commits make (judged by the base's policy)."""
    from gitvault.history.freshness import analyze
    from gitvault.sops.view import decryptor_for

    wanted = frozenset(changed)
    report = analyze(
        c.repo,
        paths=walk_dirs(changed),
        include=wanted.__contains__,
        policies=c.policies,
        rev=c.rng.head,
        since=c.rng.base,
        trust=trust,
        signatures=False,
        known=trusts,
        parse=c.parse,
        # With the reviewer's identity a re-key is proven by its values, as in verify.
        decrypt=decryptor_for(c.ids) if c.ids is not None else None,
    )
    c.problems.extend(report.problems)
    out = []
    for f in report.findings:
        if f.commit not in range_ids:
            continue
        out.append(
            FreshnessNote(
                kind=f.kind,
                file=f.file,
                commit=f.commit,
                author=f.author,
                basis=f.basis,
                reason=f.reason,
                keys=f.keys,
                writer=f.writer,
                current=f.current,
            )
        )
        c.find(f.kind, f"{f.file} in {f.commit[:12]}: {f.reason}", file=f.file, commit=f.commit)
    return out


def key_ages(c: Collector, changed: list[str], log: AuditLog) -> list[KeyAge]:
    """How old each key of the changed files is at HEAD, against its rotation period."""
    from gitvault.history.audit import last_changes
    from gitvault.history.due import due_report
    from gitvault.history.schedule import key_settings, seconds

    last = last_changes(log)
    out: list[KeyAge] = []
    periods = []
    plain: list[tuple[str, str]] = []
    for path in changed:
        _blob, view = c.view(c.rng.head, path)
        if view is None:
            continue
        # Rotation periods as the base has them: a range cannot lengthen its own.
        rule = c.policies.rule(c.trusted_pol, path) or c.policies.rule(c.head_pol, path)
        for key in view.leaves:
            period = key_settings(rule, key).rotate_after if rule is not None else None
            if period:
                try:
                    periods.append((path, key, seconds(period)))
                    continue
                except GitvaultError:
                    pass
            plain.append((path, key))
    open_ = _exposed(c, changed, log)
    plain = [pk for pk in plain if pk not in open_]
    report = due_report(c.now, periods, last, within=timedelta(days=7), exposed=open_)
    for item in report.items:
        out.append(
            KeyAge(
                file=item.file,
                key=item.key,
                last_change=int(item.last_change.timestamp()) if item.last_change else None,
                age_seconds=int(item.age.total_seconds()) if item.age is not None else None,
                period_seconds=int(item.period.total_seconds()),
                status=item.status,
                exposed=item.exposed,
            )
        )
        if item.status == "overdue":
            why = (
                f"was exposed (leaked; recorded in {item.exposed[:12]}) and is not rotated since"
                if item.exposed
                else "is overdue for rotation"
            )
            c.find("overdue", f"{item.file}:{item.key} {why}", file=item.file, key=item.key)
    now = int(c.now.timestamp())
    for path, key in plain:
        when = last.get((path, key))
        out.append(
            KeyAge(path, key, when, now - when if when is not None else None, None, "no-period")
        )
    return out


def _exposed(c: Collector, changed: list[str], log: AuditLog) -> dict[tuple[str, str], str]:
    """Keys of the changed files still exposed at HEAD (see :mod:`gitvault.history.exposed`)."""
    from gitvault.history.audit import last_changes
    from gitvault.history.exposed import ChangeLog, exposing_commits, still_exposed

    wanted = set(changed)
    current = last_changes(log)
    exposures = {
        k: e for k, e in exposing_commits(c.repo.root, c.rng.head).items() if k[0] in wanted
    }
    if not exposures:
        return {}
    watch = ChangeLog(exposures)
    for event in log.events:
        watch(event)
    open_ = still_exposed(c.repo.root, exposures, watch.commits, c.rng.head)
    for file, key in sorted(k for k in open_ if k not in current):
        # Removing a leaked value is not rotating it: it may still work where it is used.
        c.find(
            "overdue",
            f"{file}:{key} was exposed (leaked) and is removed without a rotation",
            file=file,
            key=key,
        )
    return {k: e.commit for k, e in open_.items() if k in current}


def file_checks(c: Collector, changed: list[str]) -> list[FileCheck]:
    """``verify``'s checks of each file at HEAD by the head's policy, plus the base's selection."""
    from gitvault.verify import check_file

    out: list[FileCheck] = []
    pol = c.head_pol
    for path in changed:
        rel = c.policies.rel(path)
        if rel is None:
            continue
        if pol is None or pol.rule_for(rel) is None:
            _uncovered(c, path, rel, out)
            continue
        blob = c.repo.blob_id_at(c.rng.head, path)
        if blob is None:
            continue
        data = c.repo.read_blob(blob)
        report = check_file(pol, rel, data, c.ids)
        out.append(FileCheck(path, dict(report.checks), tuple(report.problems)))
        for problem in report.problems:
            kind = _KINDS.get(report.kinds.get(problem, ""), "recipients")
            c.find(kind, f"{path}: {problem}", file=path)
        if report.checks.get("structure") not in ("plaintext", "invalid"):
            _base_selection(c, path, data)
    return out


def _uncovered(c: Collector, path: str, rel: str, out: list[FileCheck]) -> None:
    """A file the base's policy covers and the head's no longer does, checked by the base.

    Otherwise a range could narrow a rule and put plaintext in the path it gave
    up: at HEAD it is not a vault file at all. The key-less checks of the base's
    rule apply (structure, selection, plaintext values, recipients).
    """
    from gitvault.verify import check_file

    base = c.base_pol
    if base is None or c.policies.rule(base, path) is None:
        return
    blob = c.repo.blob_id_at(c.rng.head, path)
    if blob is None:
        return
    report = check_file(base, rel, c.repo.read_blob(blob), None, structure_only=True)
    out.append(FileCheck(path, dict(report.checks), tuple(report.problems)))
    for problem in report.problems:
        kind = _KINDS.get(report.kinds.get(problem, ""), "recipients")
        c.find(
            kind, f"{path}: {problem} (the base's rule; the range un-covers this file)", file=path
        )


# verify's check names -> review's finding kinds.
_KINDS = {
    "structure": "plaintext",
    "plaintext": "plaintext",
    "selection": "selection",
    "recipients": "recipients",
    "mac": "mac",
    "schema": "schema",
}


def _base_selection(c: Collector, path: str, data: bytes) -> None:
    """Plaintext the base's rule would encrypt, when the range changes what the rule encrypts.

    A pull request that loosens its rule's selection and commits a file to
    match passes the head's checks; the base's rule is what the reviewer trusts.
    """
    from gitvault.selection import plaintext_problems
    from gitvault.sops.file import parse_vault

    base_rule = c.policies.rule(c.base_pol, path)
    head_rule = c.policies.rule(c.head_pol, path)
    if base_rule is None or (head_rule is not None and head_rule.selection == base_rule.selection):
        return
    try:
        vault = parse_vault(data, path)
    except GitvaultError:
        return
    for problem in plaintext_problems(base_rule, vault):
        c.find(
            "plaintext",
            f"{path}: {problem} (the base's rule; the range changes what it encrypts)",
            file=path,
        )
