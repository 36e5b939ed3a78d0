"""Compatibility names for the history checks, which live in :mod:`gitvault.trust`.

``verify``, ``review`` and older callers import these from here; new code
imports from :mod:`gitvault.trust.freshness`, :mod:`gitvault.trust.authorship`
and :mod:`gitvault.trust.model` directly.
"""

from __future__ import annotations

from gitvault.trust.authorship import (
    BAD,
    FOREIGN,
    UNCHECKED,
    UNSIGNED,
    VERIFIED,
    CommitTrust,
    TrustFn,
    classify,
    commit_trust,
    parent_policy,
)
from gitvault.trust.freshness import analyze
from gitvault.trust.model import ROLLBACK, SCHEMA, SUBSTITUTION, Finding, FreshnessReport
from gitvault.trust.substitution import RECORDED_REKEY_ACTIONS

__all__ = [
    "BAD",
    "FOREIGN",
    "RECORDED_REKEY_ACTIONS",
    "ROLLBACK",
    "SCHEMA",
    "SUBSTITUTION",
    "UNCHECKED",
    "UNSIGNED",
    "VERIFIED",
    "CommitTrust",
    "Finding",
    "FreshnessReport",
    "TrustFn",
    "analyze",
    "classify",
    "commit_trust",
    "parent_policy",
]
