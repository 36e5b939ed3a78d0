"""Per-key history from git: who added, rotated, removed or re-keyed what, and when.

For every commit that touched the given vault files (see
:func:`gitvault.git.log.walk` for which commits), each file's old and new
versions are parsed (each blob once) and compared key by key:

* a key only on the new side is **added**, only on the old side **removed**;
* a key whose stored text (ciphertext) changed is **rotated** — gitvault
  re-encrypts minimally, so under one data key a ciphertext changes only when
  the value does;
* when *every* encrypted value changed and the wrapped data key changed too,
  that is what a **re-key** (new data key, values unchanged) looks like, but
  it is also what rotating every value at once under a new key looks like. We
  decide per key by decrypting both sides when an identity can (``basis:
  "decrypted"``), else by the commit's trailers (``"trailers"``), else we
  report ``rekeyed`` with ``value_changed=None`` (unknown) — never a rotation
  that may not have happened;
* a changed recipient list is a **recipients** event on the file.

Each commit's gitvault trailers are compared with what its tree really
changed; disagreements are listed in ``CommitAudit.problems``, because audit
trusts the tree, not the message.

This module never keeps or returns a decrypted value: when it decrypts, it
immediately reduces each value to a keyed hash (random key per process) used
for equality only. It never prints and never writes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord, FileChange, iter_walk, signature_states
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, vault_trailers

SCHEMA = "gitvault.log/v1"
ADDED, ROTATED, REMOVED, REKEYED, RECIPIENTS = (
    "added",
    "rotated",
    "removed",
    "rekeyed",
    "recipients",
)
_REKEY_ACTIONS = frozenset({"rekey", "offboard", "recipients"})


class VaultView(Protocol):
    """What the audit needs from one parsed (still encrypted) vault file."""

    @property
    def leaves(self) -> Mapping[str, str]:
        """Display key path -> stored text (``ENC[…]`` or an unencrypted leaf's text)."""
        ...

    @property
    def recipients(self) -> tuple[str, ...]: ...

    @property
    def data_key_wrapping(self) -> str:
        """Anything that changes when the wrapped data key changes (e.g. the stanzas)."""
        ...


# parse(data, name) -> VaultView; raises GitvaultError for a malformed file.
Parser = Callable[[bytes, str], VaultView]
# decrypt(data, name) -> key path -> value (MAC verified); raises AccessDenied and friends.
Decryptor = Callable[[bytes, str], Mapping[str, Any]]


@dataclass(frozen=True)
class KeyEvent:
    """One change to one key (or, for ``recipients``, to one file)."""

    file: str
    key: str | None  # None for file-level events (recipients)
    kind: str  # added | rotated | removed | rekeyed | recipients
    commit: str
    time: int  # author time, seconds since the epoch: when the value was made
    author: str
    author_email: str
    encrypted: bool = True  # False for an ``_unencrypted`` leaf, whose text is visible
    value_changed: bool | None = None  # for rekeyed: did the value change too? None: unknown
    basis: str = "ciphertext"  # ciphertext | decrypted | trailers | unknown
    detail: str = ""  # e.g. "+age1abc… -age1def…" for recipients


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


@dataclass
class _Cache:
    """Each blob parsed once, decrypted at most once (to keyed hashes)."""

    repo: Repository
    parse: Parser
    decrypt: Decryptor | None
    views: dict[str, VaultView | None] = field(default_factory=dict)
    hashes: dict[str, dict[str, bytes] | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _hash_key: bytes = field(default_factory=lambda: os.urandom(32))

    def view(self, blob: str | None, path: str, commit: str) -> VaultView | None:
        if blob is None:
            return None
        if blob not in self.views:
            try:
                self.views[blob] = self.parse(self.repo.read_blob(blob), path)
            except GitvaultError as exc:
                self.views[blob] = None
                self.problems.append(f"{path} at {commit[:12]}: {exc.message}")
        return self.views[blob]

    def value_hashes(self, blob: str, path: str) -> dict[str, bytes] | None:
        if self.decrypt is None:
            return None
        if blob not in self.hashes:
            try:
                values = self.decrypt(self.repo.read_blob(blob), path)
            except GitvaultError:
                self.hashes[blob] = None  # not readable by us (then or now): use trailers
            else:
                self.hashes[blob] = {
                    k: hmac.digest(self._hash_key, repr(v).encode(), hashlib.sha256)
                    for k, v in values.items()
                }
                del values
        return self.hashes[blob]


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
    repo.require_history()
    records: Iterable[CommitRecord] = iter_walk(
        repo.root, paths, rev=rev, first_parent=first_parent
    )
    if include is not None:
        records = _only_included(records, include)
    scope = _scope(paths, include)
    cache = _Cache(repo, parse, decrypt)
    events: list[KeyEvent] = []
    judged: list[tuple[CommitRecord, VaultTrailers, list[str]]] = []
    # One pass while git is still writing the log; signatures are checked after.
    for record in records:
        claims = vault_trailers(record.trailers)
        commit_events: list[KeyEvent] = []
        for change in record.changes:
            commit_events += _file_events(record, change, claims, cache)
        problems = (
            _disagreements(record, claims, commit_events, scope) if claims.is_gitvault else []
        )
        judged.append((record, claims, problems))
        events += [e for e in commit_events if key is None or e.key in (key, None)]
    signed = repo.signed_commits(r.id for r, _, _ in judged)
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


def _event(record: CommitRecord, path: str, key: str | None, kind: str, **kw: Any) -> KeyEvent:
    return KeyEvent(
        file=path,
        key=key,
        kind=kind,
        commit=record.id,
        time=record.author.time,
        author=record.author.name,
        author_email=record.author.email,
        **kw,
    )


def _is_encrypted(text: str) -> bool:
    return text.startswith("ENC[") and text.endswith("]")


def _file_events(
    record: CommitRecord, change: FileChange, claims: VaultTrailers, cache: _Cache
) -> list[KeyEvent]:
    path = change.path
    old = cache.view(change.old_blob, path, record.id)
    new = cache.view(change.new_blob, path, record.id)
    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        return [
            _event(record, path, k, ADDED, encrypted=_is_encrypted(v))
            for k, v in new.leaves.items()
        ]
    if new is None:
        return [
            _event(record, path, k, REMOVED, encrypted=_is_encrypted(v))
            for k, v in old.leaves.items()
        ]
    events: list[KeyEvent] = []
    before, after = old.leaves, new.leaves
    events += [
        _event(record, path, k, ADDED, encrypted=_is_encrypted(v))
        for k, v in after.items()
        if k not in before
    ]
    events += [
        _event(record, path, k, REMOVED, encrypted=_is_encrypted(v))
        for k, v in before.items()
        if k not in after
    ]
    common = [k for k in after if k in before]
    changed = [k for k in common if after[k] != before[k]]
    encrypted_common = [k for k in common if _is_encrypted(after[k])]
    rekey_suspected = (
        bool(encrypted_common)
        and all(after[k] != before[k] for k in encrypted_common)
        and old.data_key_wrapping != new.data_key_wrapping
    )
    if rekey_suspected:
        events += _classify_rekey(record, change, changed, claims, cache, after)
    else:
        events += [
            _event(record, path, k, ROTATED, encrypted=_is_encrypted(after[k])) for k in changed
        ]
    if old.recipients != new.recipients:
        gone = [r for r in old.recipients if r not in new.recipients]
        came = [r for r in new.recipients if r not in old.recipients]
        detail = " ".join([f"+{_short(r)}" for r in came] + [f"-{_short(r)}" for r in gone])
        events.append(_event(record, path, None, RECIPIENTS, detail=detail or "reordered"))
    return events


def _classify_rekey(
    record: CommitRecord,
    change: FileChange,
    changed: list[str],
    claims: VaultTrailers,
    cache: _Cache,
    after: Mapping[str, str],
) -> list[KeyEvent]:
    """Every encrypted value changed under a new data key: re-key, rotation, or both."""
    path = change.path
    assert change.old_blob is not None and change.new_blob is not None
    old_h = cache.value_hashes(change.old_blob, path)
    new_h = cache.value_hashes(change.new_blob, path)
    out = []
    # A rotation is claimed by a `rotate` commit's keys, and by any key a commit
    # names a generator for (offboard --rotate re-keys and rotates in one commit).
    claimed_rotated = set(claims.keys.get(path, ())) if claims.action == "rotate" else set()
    claimed_rotated |= {k for (p, k) in claims.generators if p == path}
    says_rekey = path in claims.rekeyed or claims.action in _REKEY_ACTIONS
    for k in changed:
        enc = _is_encrypted(after[k])
        if not enc:
            out.append(_event(record, path, k, ROTATED, encrypted=False))
        elif old_h is not None and new_h is not None and k in old_h and k in new_h:
            same = hmac.compare_digest(old_h[k], new_h[k])
            kind = REKEYED if same else ROTATED
            out.append(_event(record, path, k, kind, value_changed=not same, basis="decrypted"))
        elif k in claimed_rotated:
            out.append(_event(record, path, k, ROTATED, value_changed=True, basis="trailers"))
        elif says_rekey:
            out.append(_event(record, path, k, REKEYED, value_changed=False, basis="trailers"))
        else:
            out.append(_event(record, path, k, REKEYED, value_changed=None, basis="unknown"))
    return out


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
    rekeyed = {e.file for e in events if e.kind == REKEYED}
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


def _short(recipient: str) -> str:
    return recipient if len(recipient) <= 24 else recipient[:16] + "…" + recipient[-6:]


def last_changes(log: AuditLog) -> dict[tuple[str, str], int]:
    """When each current key's value last changed (author time), for :mod:`due`.

    Counts ``added`` and ``rotated`` (and ``rekeyed`` whose value is known to
    have changed); a re-key with unchanged or unknown value does not reset the
    clock. Keys whose latest event is ``removed`` are left out.
    """
    latest: dict[tuple[str, str], int] = {}
    gone: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for event in log.events:  # newest first
        if event.key is None:
            continue
        ident = (event.file, event.key)
        if ident in seen:
            continue
        if event.kind == REMOVED:
            seen.add(ident)
            gone.add(ident)
        elif event.kind in (ADDED, ROTATED) or (event.kind == REKEYED and event.value_changed):
            seen.add(ident)
            latest[ident] = event.time
    return {k: v for k, v in latest.items() if k not in gone}
