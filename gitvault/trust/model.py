"""What the history checks report: findings (rollback, substitution) and the report around them.

Findings carry paths, key paths, names and commit ids only — never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitvault.trust.authorship import CommitTrust

SCHEMA = "gitvault.freshness/v1"
ROLLBACK, SUBSTITUTION = "rollback", "substitution"


@dataclass(frozen=True)
class Finding:
    """One rollback or substitution of one file in one commit."""

    kind: str  # rollback | substitution
    file: str
    commit: str
    author: str
    author_email: str
    time: int
    # rollback: content | mac | ciphertext | lastmodified;
    # substitution: unrecorded | non-recipient | unknown-writer | unverified-writer
    basis: str
    reason: str  # one line, names and commit ids only
    keys: tuple[str, ...] = ()  # affected key paths
    matches: str | None = None  # rollback: the commit that made the older version
    writer: str | None = None
    current: bool = False  # the file at the checked revision is still affected

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "commit": self.commit,
            "author": self.author,
            "author_email": self.author_email,
            "time": self.time,
            "basis": self.basis,
            "reason": self.reason,
            "keys": list(self.keys),
            "matches": self.matches,
            "writer": self.writer,
            "current": self.current,
        }


@dataclass(frozen=True)
class FreshnessReport:
    """Findings (oldest first), notes, and the trust of every commit that changed a vault file.

    ``notes`` are data-key changes that nothing shows to be wrong but nothing
    could prove right either: a recorded re-key by a writer the policy does not
    identify, when no identity could compare the values ("unverified writer").
    """

    rev: str
    findings: tuple[Finding, ...]
    commits: tuple[CommitTrust, ...]  # newest first, only those in range
    problems: tuple[str, ...] = ()
    notes: tuple[Finding, ...] = ()
    schema: str = SCHEMA

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "rev": self.rev,
            "findings": [f.to_json() for f in self.findings],
            "notes": [f.to_json() for f in self.notes],
            "commits": [c.to_json() for c in self.commits],
            "problems": list(self.problems),
        }
