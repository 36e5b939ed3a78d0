"""The rotation schedule: which keys have a period, and what is due, for one repository.

Joins three things: the policy (periods, grace, generators, per key or per
rule), the current vault files (which keys exist), and history (when each value
last changed, from :func:`gitvault.history.audit.stream_last_changes`). ``due`` and
``rotate --due`` both start here.

Per-key settings (periods, grace, generators) come from
:mod:`gitvault.policy.keys`; their names are re-exported here for callers.

This module never decrypts a value unless given a decryptor, which the audit
reduces to keyed hashes at once; it never prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitvaultError
from gitvault.fsutil import read_input
from gitvault.history.audit import Decryptor, stream_last_changes
from gitvault.history.due import DueReport, due_report
from gitvault.policy.keys import KeySettings, key_settings, seconds
from gitvault.policy.keys import key_path as normalize_key
from gitvault.sops.view import parse_for_history
from gitvault.trust.policies import policy_prefix

__all__ = [
    "KeySettings",
    "Schedule",
    "ScheduledKey",
    "due_for",
    "key_settings",
    "normalize_key",
    "policy_prefix",
    "schedule",
    "seconds",
    "settings_index",
    "unique",
]

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.policy import Policy


@dataclass(frozen=True)
class ScheduledKey:
    """A key with a rotation period, and where it lives."""

    file: str  # relative to the repository root (what history uses)
    key: str
    period: timedelta
    settings: KeySettings


@dataclass(frozen=True)
class Schedule:
    """Every key with a period, plus the files that could not be read."""

    keys: tuple[ScheduledKey, ...]
    problems: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k.file for k in self.keys))


def schedule(pol: Policy, repo_root: Path) -> Schedule:
    """Every current key with a rotation period, from the work tree's vault files."""
    from gitvault.verify import covered_files

    prefix = policy_prefix(pol, repo_root)
    keys: list[ScheduledKey] = []
    problems: list[str] = []
    for rel in covered_files(pol):
        rule = pol.rule_for(rel)
        if rule is None:
            continue
        if not rule.rotate_after and not any(k.rotate_after for k in rule.keys.values()):
            continue
        try:
            view = parse_for_history(read_input(pol.root / rel, root=pol.root), rel)
        except (GitvaultError, OSError) as exc:
            problems.append(f"{rel}: {getattr(exc, 'message', None) or 'cannot be read'}")
            continue
        for key in view.leaves:
            settings = key_settings(rule, key)
            if settings.rotate_after:
                keys.append(
                    ScheduledKey(prefix + rel, key, seconds(settings.rotate_after), settings)
                )
    return Schedule(tuple(keys), tuple(problems))


def due_for(
    repo: Repository,
    plan: Schedule,
    *,
    now: datetime | None = None,
    within: timedelta = timedelta(days=7),
    decrypt: Decryptor | None = None,
    rev: str = "HEAD",
) -> DueReport:
    """The due report of ``plan``'s keys, from the history up to ``rev``.

    Keys marked exposed (``Gitvault-Exposed``) and not changed since are
    overdue whatever their age, with or without a period
    (:mod:`gitvault.history.exposed`).
    """
    from gitvault.history.exposed import ChangeLog, exposing_commits, still_exposed

    repo.require_history()
    now = now or datetime.now(tz=UTC)
    changes: Mapping[tuple[str, str], int] = {}
    exposures = exposing_commits(repo.root, rev)
    files = set(plan.files) | {f for f, _ in exposures}
    watch = ChangeLog(exposures)
    if files:
        # One walk over the files' directories, keeping only the files themselves:
        # git is faster with a few directory pathspecs than with hundreds of files.
        wanted = frozenset(files)
        dirs = sorted({f.rpartition("/")[0] for f in wanted})
        # Streamed: one state per key, not every event of every version (memory).
        changes, _unreadable = stream_last_changes(
            repo,
            [] if "" in dirs else dirs,
            parse=parse_for_history,
            decrypt=decrypt,
            rev=rev,
            include=wanted.__contains__,
            observe=watch if exposures else None,
        )
    # A key removed from the vault while exposed stays listed (last change None):
    # removing a leaked value is not rotating it; it may still work where it is used.
    open_ = still_exposed(repo.root, exposures, watch.commits, rev)
    return due_report(
        now,
        [(k.file, k.key, k.period) for k in plan.keys],
        changes,
        within=within,
        exposed={k: e.commit for k, e in open_.items()},
    )


def settings_index(plan: Schedule) -> dict[tuple[str, str], ScheduledKey]:
    return {(k.file, k.key): k for k in plan.keys}


def unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
