"""Per-key policy settings: what a rule and its ``keys:`` entries say about one key.

Rules of the schedule (documented in docs/history.md):

* a rule with ``rotate_after`` gives that period to **every leaf key** of every
  file it covers; a key entry under ``keys:`` with its own ``rotate_after``
  overrides it (and gives a period to that key when the rule has none);
* ``grace`` follows the same rule (per key, else the rule's);
* ``generate``, ``apply``, ``verify`` and ``timeout`` are per key only.

Used by rotation, ``due``, ``review`` and offboarding; imports nothing of
theirs (it lived in ``history/schedule.py``, which ``verify`` imported back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from gitvault.errors import BadInput

if TYPE_CHECKING:
    from gitvault.policy import Rule


@dataclass(frozen=True)
class KeySettings:
    """What the policy says about one key (rule defaults merged with the key's entry)."""

    rotate_after: str | None = None
    grace: str | None = None
    generate: str | None = None
    apply: str | None = None
    verify: str | None = None
    timeout: str | None = None


def key_path(text: str) -> str:
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
            entries[key_path(written)] = entry
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
