"""The rotation schedule: which keys have a period, and what is due, for one repository.

Joins three things: the policy (periods, grace, generators, per key or per
rule), the current vault files (which keys exist), and history (when each value
last changed, from :func:`gitvault.history.audit.last_changes`). ``due`` and
``rotate --due`` both start here.

Rules of the schedule (documented in docs/history.md):

* a rule with ``rotate_after`` gives that period to **every leaf key** of every
  file it covers; a key entry under ``keys:`` with its own ``rotate_after``
  overrides it (and gives a period to that key when the rule has none);
* ``grace`` follows the same rule (per key, else the rule's);
* ``generate``, ``apply``, ``verify`` and ``timeout`` are per key only.

This module never decrypts a value unless given a decryptor, which the audit
reduces to keyed hashes at once; it never prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import BadInput, GitvaultError
from gitvault.history.audit import Decryptor, audit, last_changes
from gitvault.history.due import DueReport, due_report
from gitvault.history.sources import parse_for_history

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.policy import Policy, Rule


@dataclass(frozen=True)
class KeySettings:
    """What the policy says about one key (rule defaults merged with the key's entry)."""

    rotate_after: str | None = None
    grace: str | None = None
    generate: str | None = None
    apply: str | None = None
    verify: str | None = None
    timeout: str | None = None


def normalize_key(text: str) -> str:
    """A key path in the display form ``VaultFile.leaves()`` uses (``db.password``)."""
    from gitvault import keypath
    from gitvault.sops.file import join_path

    out = ""
    for part in keypath.parse(text):
        out = f"{out}[{part}]" if isinstance(part, int) else join_path(out, part)
    return out


def _key_entries(rule: Rule) -> dict[str, object]:
    entries: dict[str, object] = {}
    for written, entry in rule.keys.items():
        try:
            entries[normalize_key(written)] = entry
        except BadInput:
            entries[written] = entry
    return entries


def key_settings(rule: Rule, key: str) -> KeySettings:
    """The merged settings of ``key`` (display form) under ``rule``."""
    entry = _key_entries(rule).get(key)
    return KeySettings(
        rotate_after=getattr(entry, "rotate_after", None) or rule.rotate_after,
        grace=getattr(entry, "grace", None) or rule.grace,
        generate=getattr(entry, "generate", None),
        apply=getattr(entry, "apply", None),
        verify=getattr(entry, "verify", None),
        timeout=getattr(entry, "timeout", None),
    )


def seconds(duration: str) -> timedelta:
    """A policy duration (``90d``, ``12h``, ``30m``, ``45s``) as a timedelta."""
    from gitvault.policy import parse_duration

    return timedelta(seconds=parse_duration(duration))


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


def policy_prefix(pol: Policy, repo_root: Path) -> str:
    """Where the policy's directory sits inside the repository (``""`` at the root)."""
    try:
        rel = pol.root.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        raise BadInput(f"{pol.path}: the policy is outside the git repository") from None
    return "" if rel == "." else rel + "/"


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
            view = parse_for_history((pol.root / rel).read_bytes(), rel)
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
    """The due report of ``plan``'s keys, from the history up to ``rev``."""
    repo.require_history()
    now = now or datetime.now(tz=UTC)
    changes: Mapping[tuple[str, str], int] = {}
    if plan.files:
        # One walk over the files' directories, keeping only the files themselves:
        # git is faster with a few directory pathspecs than with hundreds of files.
        wanted = frozenset(plan.files)
        dirs = sorted({f.rpartition("/")[0] for f in wanted})
        log = audit(
            repo,
            [] if "" in dirs else dirs,
            parse=parse_for_history,
            decrypt=decrypt,
            rev=rev,
            check_signatures=False,
            include=wanted.__contains__,
        )
        changes = last_changes(log)
    return due_report(now, [(k.file, k.key, k.period) for k in plan.keys], changes, within=within)


def settings_index(plan: Schedule) -> dict[tuple[str, str], ScheduledKey]:
    return {(k.file, k.key): k for k in plan.keys}


def unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
