"""Per-key history from git: who added, rotated, removed or re-keyed what, and when.

For every commit that touched the given vault files — every commit, merges
included, each by what it changes against its first parent
(:mod:`gitvault.trust.walk`) — each file's old and new versions are parsed
(each blob once) and compared key by key by :mod:`gitvault.history.events`
(added, removed, rotated, re-keyed, recipients; by decoded bytes, never by
spelling; a merge is credited only with what equals neither parent).

Each commit's gitvault trailers are compared with what its tree really
changed; disagreements are listed in ``CommitAudit.problems``, because audit
trusts the tree, not the message.

This module never keeps or returns a decrypted value: when it decrypts, it
immediately reduces each value to a keyed hash (random key per process) used
for equality only. It never prints and never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitvault.git.batch import BlobReader
from gitvault.git.log import CommitRecord, iter_walk, signature_states
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, vault_trailers
from gitvault.history.events import (
    ADDED,
    RECIPIENTS,
    REKEYED,
    REMOVED,
    ROTATED,
    Cache,
    KeyEvent,
    Parser,
    VaultView,
    file_events,
)
from gitvault.trust.values import Decryptor

__all__ = [
    "ADDED",
    "RECIPIENTS",
    "REKEYED",
    "REMOVED",
    "ROTATED",
    "AuditLog",
    "CommitAudit",
    "Decryptor",
    "KeyEvent",
    "LastChanges",
    "Parser",
    "VaultView",
    "audit",
    "last_changes",
    "stream_last_changes",
]

SCHEMA = "gitvault.log/v1"


@dataclass(frozen=True)
class CommitAudit:
    """One commit's metadata, signature state and what its trailers claim."""

    commit: str
    subject: str
    author: str
    author_email: str
    time: int
    committer: str
    signed: bool
    verified: bool | None  # None when signatures were not checked
    signature: str  # "good", "bad", "unsigned", … (git's %G? in words)
    claims: VaultTrailers
    trailers_agree: bool | None  # None for a commit without gitvault trailers
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditLog:
    """Events newest first, plus the commits they came from."""

    events: tuple[KeyEvent, ...]
    commits: tuple[CommitAudit, ...]
    problems: tuple[str, ...] = ()  # files that could not be read at some commit
    schema: str = SCHEMA

    def for_key(self, file: str, key: str) -> tuple[KeyEvent, ...]:
        return tuple(e for e in self.events if e.file == file and e.key == key)

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON model (``gitvault.log/v1``); text output renders the same."""
        by_id = {c.commit: c for c in self.commits}
        return {
            "schema": self.schema,
            "events": [
                {
                    "file": e.file,
                    "key": e.key,
                    "kind": e.kind,
                    "commit": e.commit,
                    "time": e.time,
                    "author": e.author,
                    "author_email": e.author_email,
                    "encrypted": e.encrypted,
                    "value_changed": e.value_changed,
                    "basis": e.basis,
                    "detail": e.detail,
                    "signed": by_id[e.commit].signed,
                    "verified": by_id[e.commit].verified,
                    "trailers_agree": by_id[e.commit].trailers_agree,
                }
                for e in self.events
            ],
            "commits": [
                {
                    "commit": c.commit,
                    "subject": c.subject,
                    "author": c.author,
                    "author_email": c.author_email,
                    "time": c.time,
                    "committer": c.committer,
                    "signed": c.signed,
                    "verified": c.verified,
                    "signature": c.signature,
                    "action": c.claims.action,
                    "trailers_agree": c.trailers_agree,
                    "problems": list(c.problems),
                }
                for c in self.commits
            ],
            "problems": list(self.problems),
        }


def audit(
    repo: Repository,
    paths: Sequence[str],
    *,
    parse: Parser,
    decrypt: Decryptor | None = None,
    rev: str = "HEAD",
    key: str | None = None,
    check_signatures: bool = True,
    first_parent: bool = False,
    include: Callable[[str], bool] | None = None,
) -> AuditLog:
    """Build the per-key history of ``paths`` (vault files or directories) up to ``rev``.

    ``parse`` turns bytes into a :class:`VaultView`; ``decrypt`` (optional)
    tells re-keys from rotations when an identity can read both sides. ``key``
    limits events to one key path (commits are still all audited). ``include``
    (optional) keeps only the changed paths it accepts, e.g. the files a policy
    rule covers inside a walked directory; commits left with no change drop out.

    Trailers are compared with the tree only for paths inside this scope: a
    commit that also changed a file outside ``paths`` is not blamed for it.
    """
    events: list[KeyEvent] = []
    judged: list[tuple[CommitRecord, VaultTrailers, list[str]]] = []
    # One pass while git is still writing the log; signatures are checked after.
    with BlobReader(repo.root) as reader:
        cache = Cache(repo, parse, decrypt, read=reader.read)
        for record, claims, commit_events, problems in _audited(
            repo, paths, cache, rev=rev, first_parent=first_parent, include=include
        ):
            # Only what the report shows is kept: no parsed version, no file's bytes.
            judged.append((_slim(record), claims, problems))
            events += [e for e in commit_events if key is None or e.key in (key, None)]
        signed = frozenset(r.id for r, _, _ in judged if reader.is_signed(r.id))
    states = signature_states(repo.root, signed) if check_signatures else {}
    commits: list[CommitAudit] = []
    for record, claims, problems in judged:
        state = states.get(record.id)
        commits.append(
            CommitAudit(
                commit=record.id,
                subject=record.subject,
                author=record.author.name,
                author_email=record.author.email,
                time=record.author.time,
                committer=record.committer.name,
                signed=record.id in signed,
                verified=(state.verified if state else False) if check_signatures else None,
                signature=state.status
                if state
                else ("unsigned" if record.id not in signed else "not checked"),
                claims=claims,
                trailers_agree=(not problems) if claims.is_gitvault else None,
                problems=tuple(problems),
            )
        )
    return AuditLog(events=tuple(events), commits=tuple(commits), problems=tuple(cache.problems))


def _audited(
    repo: Repository,
    paths: Sequence[str],
    cache: Cache,
    *,
    rev: str,
    first_parent: bool,
    include: Callable[[str], bool] | None,
) -> Iterator[tuple[CommitRecord, VaultTrailers, list[KeyEvent], list[str]]]:
    """Each commit's events and trailer problems, as ``git log`` writes them (newest first)."""
    repo.require_history()
    records: Iterable[CommitRecord] = iter_walk(
        repo.root, paths, rev=rev, first_parent=first_parent, merges="first-parent"
    )
    if include is not None:
        records = _only_included(records, include)
    scope = _scope(paths, include)
    for record in records:
        claims = vault_trailers(record.trailers)
        commit_events: list[KeyEvent] = []
        for change in record.changes:
            commit_events += file_events(record, change, claims, cache)
        problems = (
            _disagreements(record, claims, commit_events, scope) if claims.is_gitvault else []
        )
        yield record, claims, commit_events, problems


def _slim(record: CommitRecord) -> CommitRecord:
    """The record without its list of changed files (the audit's commits do not show it)."""
    return replace(record, changes=()) if record.changes else record


def _only_included(
    records: Iterable[CommitRecord], include: Callable[[str], bool]
) -> Iterator[CommitRecord]:
    for record in records:
        changes = tuple(c for c in record.changes if include(c.path))
        if changes:
            yield record if changes == record.changes else replace(record, changes=changes)


def _scope(paths: Sequence[str], include: Callable[[str], bool] | None) -> Callable[[str], bool]:
    """Whether a path named in trailers is inside what this audit walked."""
    prefixes = tuple(p.rstrip("/") for p in paths)

    def inside(path: str) -> bool:
        if prefixes and not any(path == p or path.startswith(p + "/") for p in prefixes):
            return False
        return include is None or include(path)

    return inside


def _disagreements(
    record: CommitRecord,
    claims: VaultTrailers,
    events: Iterable[KeyEvent],
    in_scope: Callable[[str], bool] = lambda _path: True,
) -> list[str]:
    """What the trailers claim that the tree does not show, and the reverse."""
    problems = list(claims.problems)
    events = list(events)
    touched = {c.path for c in record.changes}
    for path in claims.files:
        if path not in touched and in_scope(path):
            problems.append(f"trailers name {path} but the commit does not change it")
    for path in sorted(touched - set(claims.files)):
        if claims.files:
            problems.append(f"the commit changes {path} but its trailers do not name it")
    rotated = {(e.file, e.key) for e in events if e.kind == ROTATED}
    # A new data key re-keys the file even when every value also rotated with it
    # (offboard --rotate): those events are classified against the new key
    # (basis decrypted/trailers/unknown), never by plain ciphertext.
    rekeyed = {e.file for e in events if e.kind == REKEYED or e.basis != "ciphertext"}
    if claims.action == "rotate":
        for path, keys in claims.keys.items():
            if not in_scope(path):
                continue
            for k in keys:
                if (path, k) not in rotated:
                    problems.append(
                        f"trailers claim a rotation of {path}:{k} the commit did not make"
                    )
    lists_keys = bool(claims.keys) or claims.action == "rotate"
    for path, changed_key in sorted(rotated, key=lambda pk: (pk[0], pk[1] or "")):
        if lists_keys and changed_key not in claims.keys.get(path, ()):
            problems.append(
                f"the commit changes {path}:{changed_key} but its trailers do not name the key"
            )
    for path in claims.rekeyed:
        if path not in rekeyed and in_scope(path):
            problems.append(f"trailers claim a re-key of {path} the commit did not make")
    return problems


class LastChanges:
    """When each key's value last changed, fed events newest first (the state of ``due``).

    Counts ``added`` and ``rotated`` (and ``rekeyed`` whose value is known to
    have changed); a re-key with unchanged or unknown value does not reset the
    clock. A key whose latest event is ``removed`` is left out. Holds one entry
    per key, whatever the length of history.
    """

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], int] = {}
        self._seen: set[tuple[str, str]] = set()

    def add(self, event: KeyEvent) -> None:
        if event.key is None:
            return
        ident = (event.file, event.key)
        if ident in self._seen:
            return  # a newer event already decided this key
        if event.kind == REMOVED:
            self._seen.add(ident)
        elif event.kind in (ADDED, ROTATED) or (event.kind == REKEYED and event.value_changed):
            self._seen.add(ident)
            self._latest[ident] = event.time

    def result(self) -> dict[tuple[str, str], int]:
        return dict(self._latest)


def last_changes(log: AuditLog) -> dict[tuple[str, str], int]:
    """When each current key's value last changed (author time), for :mod:`due`."""
    state = LastChanges()
    for event in log.events:  # newest first
        state.add(event)
    return state.result()


def stream_last_changes(
    repo: Repository,
    paths: Sequence[str],
    *,
    parse: Parser,
    decrypt: Decryptor | None = None,
    rev: str = "HEAD",
    include: Callable[[str], bool] | None = None,
    observe: Callable[[KeyEvent], None] | None = None,
) -> tuple[dict[tuple[str, str], int], tuple[str, ...]]:
    """:func:`last_changes` of :func:`audit`, without keeping the audit.

    The same walk and the same events, each folded into :class:`LastChanges`
    as soon as it is made: memory follows the number of keys and files, not
    of commits or versions (``due`` over thousands of commits). Returns the
    last changes and the versions that could not be read. ``observe`` (optional)
    sees every event too (exposures need the commits that changed a value).
    """
    state = LastChanges()
    with BlobReader(repo.root) as reader:
        cache = Cache(repo, parse, decrypt, read=reader.read)
        for _record, _claims, events, _problems in _audited(
            repo, paths, cache, rev=rev, first_parent=False, include=include
        ):
            for event in events:
                state.add(event)
                if observe is not None:
                    observe(event)
    return state.result(), tuple(cache.problems)
