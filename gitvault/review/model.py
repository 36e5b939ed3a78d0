"""The review of a range of commits as data: what changed in the vault, who can read it, is it safe.

Frozen dataclasses only; :mod:`gitvault.review.collect` builds a
:class:`Review`, :mod:`gitvault.review.render_markdown` and
:mod:`gitvault.review.render_json` turn it into text. Nothing here holds a
value: keys are key paths, people are policy names, commits are ids, leak
findings keep the scanner's fingerprint but not its preview.

Finding kinds (what ``--fail-on`` selects) are listed in :data:`KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA = "gitvault.review/v1"

# Every kind of finding a review can report, with a one-line meaning.
KINDS: dict[str, str] = {
    "leak": "the scanner found a secret in a line the range adds",
    "plaintext": "a file a policy rule covers is not a valid vault file at HEAD, or holds "
    "plaintext where its rule (at HEAD or at the base) encrypts",
    "selection": "a vault file's sops selection metadata is not its policy rule's",
    "recipients": "a vault file at HEAD is not encrypted to exactly the policy's readers",
    "access-expansion": "someone gains read access (policy or file recipients) or a signing key",
    "freshness": "a rollback or substitution in the range (see rollback, substitution)",
    "rollback": "a file or values go back to an older version",
    "substitution": "a new data key not made by a recorded re-key of a recipient",
    "unsigned": "a commit that changes a vault file or the policy is not signed",
    "bad-signature": "a signature that does not verify against the policy's signing keys",
    "trailer-mismatch": "Gitvault-* trailers claim more or less than the commit changed",
    "mac": "a vault file at HEAD fails its MAC check (needs an identity)",
    "schema": "a vault file at HEAD fails its JSON Schema (needs an identity)",
    "overdue": "a key changed or kept by the range is overdue for rotation at HEAD",
    "policy": "the range changes the policy (the review judges it by the base's policy)",
}
# What fails a review when --fail-on is not given: things that are wrong, not
# merely worth a look (access expansions and unsigned commits are often intended).
DEFAULT_FAIL_ON = (
    "leak",
    "plaintext",
    "selection",
    "recipients",
    "freshness",
    "bad-signature",
    "trailer-mismatch",
    "mac",
    "schema",
)


@dataclass(frozen=True)
class Finding:
    """One thing the reviewer must look at; ``kind`` is one of :data:`KINDS`."""

    kind: str
    message: str  # one line, no value
    file: str | None = None
    key: str | None = None
    commit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "key": self.key,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class KeyChange:
    """One change of one key in one commit of the range."""

    file: str
    key: str
    change: str  # added | rotated | removed | rekeyed
    commit: str
    author: str
    time: int
    value_changed: bool | None = None  # rekeyed: did the value change too? None: unknown
    basis: str = "ciphertext"  # ciphertext | decrypted | trailers | unknown
    encrypted: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "key": self.key,
            "change": self.change,
            "commit": self.commit,
            "author": self.author,
            "time": self.time,
            "value_changed": self.value_changed,
            "basis": self.basis,
            "encrypted": self.encrypted,
        }


@dataclass(frozen=True)
class FileSummary:
    """A vault file the range changed, compared between the base and HEAD."""

    path: str
    status: str  # added | removed | modified | unchanged (changed and changed back)
    readers_base: tuple[str, ...]  # from the file's sops.age recipients, by policy name
    readers_head: tuple[str, ...]
    gained: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    keys_added: int = 0
    keys_rotated: int = 0
    keys_removed: int = 0
    keys_rekeyed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "readers_base": list(self.readers_base),
            "readers_head": list(self.readers_head),
            "gained": list(self.gained),
            "lost": list(self.lost),
            "keys": {
                "added": self.keys_added,
                "rotated": self.keys_rotated,
                "removed": self.keys_removed,
                "rekeyed": self.keys_rekeyed,
            },
        }


@dataclass(frozen=True)
class PolicyChange:
    """One difference between the policy at the base and at HEAD."""

    what: str  # recipient-added | recipient-removed | recipient-key | signing-keys | email |
    # group-added | group-removed | group-members | rule-added | rule-removed | rule-changed |
    # policy-added | policy-removed
    subject: str  # the recipient, group or rule path it is about
    detail: str = ""
    expansion: bool = False  # someone gains read access or a trusted signing key

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "subject": self.subject,
            "detail": self.detail,
            "expansion": self.expansion,
        }


@dataclass(frozen=True)
class AccessChange:
    """Someone gains or loses read access to a path."""

    name: str
    change: str  # gained | lost
    scope: str  # a rule's path glob, or a file path
    source: str  # policy (the rules say so) | file (the file's recipients say so)
    files: tuple[str, ...] = ()  # vault files at HEAD (or base, for lost) affected

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "change": self.change,
            "scope": self.scope,
            "source": self.source,
            "files": list(self.files),
        }


@dataclass(frozen=True)
class CommitSummary:
    """A commit of the range, its signature in the policy's terms and its trailers."""

    commit: str
    subject: str
    author: str
    author_email: str
    time: int
    signature: str  # verified | unsigned | foreign | bad | unchecked
    signer: str | None  # policy name of the signing key
    key: str  # signing key fingerprint ("" when unsigned)
    writer: str | None
    writer_basis: str | None
    vault: bool  # changes a vault file or the policy
    action: str | None  # Gitvault-Action
    trailers_agree: bool | None  # None: no gitvault trailers
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "subject": self.subject,
            "author": self.author,
            "author_email": self.author_email,
            "time": self.time,
            "signature": self.signature,
            "signer": self.signer,
            "key": self.key,
            "writer": self.writer,
            "writer_basis": self.writer_basis,
            "vault": self.vault,
            "action": self.action,
            "trailers_agree": self.trailers_agree,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class KeyAge:
    """How long ago a key of a changed file last changed its value, as of HEAD."""

    file: str
    key: str
    last_change: int | None  # epoch seconds; None when history does not say
    age_seconds: int | None
    period_seconds: int | None  # the policy's rotate_after, None when it has none
    status: str  # ok | due-soon | overdue | unknown | no-period
    exposed: str | None = None  # commit that marked the value leaked (overdue until rotated)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "key": self.key,
            "last_change": self.last_change,
            "age_seconds": self.age_seconds,
            "period_seconds": self.period_seconds,
            "status": self.status,
            "exposed": self.exposed,
        }


@dataclass(frozen=True)
class FreshnessNote:
    """A rollback or substitution in the range (see :mod:`gitvault.history.freshness`)."""

    kind: str  # rollback | substitution
    file: str
    commit: str
    author: str
    basis: str
    reason: str
    keys: tuple[str, ...] = ()
    writer: str | None = None
    current: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "commit": self.commit,
            "author": self.author,
            "basis": self.basis,
            "reason": self.reason,
            "keys": list(self.keys),
            "writer": self.writer,
            "current": self.current,
        }


@dataclass(frozen=True)
class Leak:
    """A scanner finding in the range, without its preview."""

    rule: str
    description: str
    path: str
    line: int
    commit: str | None
    fingerprint: str
    key_path: str | None = None  # for a vault value found in plaintext

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "description": self.description,
            "path": self.path,
            "line": self.line,
            "commit": self.commit,
            "fingerprint": self.fingerprint,
            "key_path": self.key_path,
        }


@dataclass(frozen=True)
class FileCheck:
    """``verify``'s checks of a changed vault file at HEAD (MAC and schema need an identity)."""

    file: str
    checks: dict[str, str]
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "checks": dict(self.checks), "problems": list(self.problems)}


@dataclass(frozen=True)
class Review:
    """Everything ``gitvault review`` reports about one range."""

    base: str
    head: str
    merge_base: str
    base_name: str
    head_name: str
    now: int  # when the ages were computed (epoch seconds)
    identity: bool  # whether an identity was available (MAC, schema, vault values)
    commits: tuple[CommitSummary, ...] = ()
    files: tuple[FileSummary, ...] = ()
    keys: tuple[KeyChange, ...] = ()
    policy: tuple[PolicyChange, ...] = ()
    access: tuple[AccessChange, ...] = ()
    freshness: tuple[FreshnessNote, ...] = ()
    leaks: tuple[Leak, ...] = ()
    ages: tuple[KeyAge, ...] = ()
    checks: tuple[FileCheck, ...] = ()
    findings: tuple[Finding, ...] = ()
    scanned: bool = True
    problems: tuple[str, ...] = field(default_factory=tuple)  # what could not be read
    schema: str = SCHEMA

    def failing(self, kinds: frozenset[str]) -> tuple[Finding, ...]:
        """The findings whose kind is in ``kinds`` (``freshness`` covers both of its kinds)."""
        wanted = set(kinds)
        if "freshness" in wanted:
            wanted |= {"rollback", "substitution"}
        return tuple(f for f in self.findings if f.kind in wanted)
