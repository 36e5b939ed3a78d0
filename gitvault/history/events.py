"""Per-key events of one commit's change to one vault file (the body of ``log``/``due``).

Compared key by key, by each value's identity (its decoded bytes,
:func:`gitvault.trust.values.value_id`), never by its spelling: re-spelt
base64 or a re-quoted timestamp is not a rotation.

* a key only on the new side is **added**, only on the old side **removed**;
* a key whose value identity changed is **rotated** — gitvault re-encrypts
  minimally, so under one data key a value's bytes change only when the value
  does;
* when *every* encrypted value changed and the wrapped data key changed too,
  that is what a **re-key** looks like, and also what rotating every value at
  once under a new key looks like: decided per key by decrypting both sides
  when an identity can (``basis: "decrypted"``), else by the commit's
  trailers (``"trailers"``), else ``rekeyed`` with ``value_changed=None``;
* a changed recipient list is a **recipients** event on the file.

Merges are compared with their first parent (:mod:`gitvault.trust.walk`);
what a merge's version holds exactly as one of its other parents had it was
made on that branch, whose commits report it: only the rest is the merge's.

Keeps no decrypted value: values become keyed hashes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord, FileChange
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers
from gitvault.trust.values import Decryptor, ValueHasher, all_ids, is_encrypted

ADDED, ROTATED, REMOVED, REKEYED, RECIPIENTS = (
    "added",
    "rotated",
    "removed",
    "rekeyed",
    "recipients",
)
REKEY_ACTIONS = frozenset({"rekey", "offboard", "recipients"})


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


@dataclass(frozen=True, slots=True)
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


Entry = tuple[VaultView, dict[str, Hashable]]

# Versions of one path kept parsed: a newest-first walk needs a change's new
# version only until it has compared it with its old one, which the next
# (older) change of that path needs in turn; a merge also reads its other
# parents' versions. So memory follows the number of files, not of versions.
KEEP_PER_PATH = 3


@dataclass
class Cache:
    """Each blob parsed once while it can still be needed, decrypted at most once.

    Entries are dropped per path (:data:`KEEP_PER_PATH` most recently used), and
    blobs are read without the repository's own cache: a walk over 5,000
    commits must not hold every version of every file.
    """

    repo: Repository
    parse: Parser
    decrypt: Decryptor | None
    views: dict[str, Entry | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    hasher: ValueHasher = field(init=False)
    # How blob bytes are read (a ``git cat-file --batch`` reader in a walk);
    # default: the repository, without keeping them in its cache.
    read: Callable[[str], bytes] | None = None
    _kept: dict[str, list[str]] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hasher = ValueHasher(self.decrypt)

    def view(self, blob: str | None, path: str, commit: str) -> VaultView | None:
        got = self.entry(blob, path, commit)
        return None if got is None else got[0]

    def entry(self, blob: str | None, path: str, commit: str) -> Entry | None:
        if blob is None:
            return None
        if blob not in self.views:
            try:
                view = self.parse(self._bytes(blob), path)
                self.views[blob] = _compact(view)
            except GitvaultError as exc:
                self.views[blob] = None
                problem = f"{path} at {commit[:12]}: {exc.message}"
                if problem not in self._reported:  # parsed again after being dropped
                    self._reported.add(problem)
                    self.problems.append(problem)
        self._keep(path, blob)
        return self.views[blob]

    def _keep(self, path: str, blob: str) -> None:
        """Mark ``blob`` as just used for ``path``; drop what that path no longer needs."""
        kept = self._kept.setdefault(path, [])
        if blob in kept:
            kept.remove(blob)
        kept.append(blob)
        while len(kept) > KEEP_PER_PATH:
            old = kept.pop(0)
            self.views.pop(old, None)
            self.hasher.forget(old)

    def value_hashes(self, blob: str, path: str) -> dict[str, bytes] | None:
        return self.hasher.hashes(blob, lambda: self._bytes(blob), path)

    def _bytes(self, blob: str) -> bytes:
        return self.read(blob) if self.read is not None else self.repo.read_blob(blob, keep=False)


ENCRYPTED_MARK = "ENC[]"  # what a compact view keeps of an encrypted leaf's text


@dataclass(frozen=True, slots=True)
class CompactView:
    """What the comparison needs of a version, in a fraction of its parsed size.

    ``leaves`` keeps an unencrypted leaf's text but only :data:`ENCRYPTED_MARK`
    for an encrypted one (the comparison asks only *whether* it is encrypted;
    the value identities are kept as digests beside it), and the data-key
    wrapping is kept as a digest: it is compared, never read.
    """

    leaves: Mapping[str, str]
    recipients: tuple[str, ...]
    data_key_wrapping: str


def _compact(view: VaultView) -> Entry:
    """The view and value identities of one version, as digests (equality only)."""
    import hashlib
    import sys

    leaves = {
        sys.intern(k): ENCRYPTED_MARK if is_encrypted(v) else v for k, v in view.leaves.items()
    }
    ids: dict[str, Hashable] = {
        sys.intern(k): hashlib.sha256(repr(i).encode()).digest()
        for k, i in all_ids(view.leaves).items()
    }
    wrapping = hashlib.sha256(view.data_key_wrapping.encode("utf-8", "surrogateescape")).hexdigest()
    compact = CompactView(leaves, tuple(sys.intern(r) for r in view.recipients), wrapping)
    return compact, ids


def event(record: CommitRecord, path: str, key: str | None, kind: str, **kw: Any) -> KeyEvent:
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


def file_events(
    record: CommitRecord, change: FileChange, claims: VaultTrailers, cache: Cache
) -> list[KeyEvent]:
    """The events of one commit's change to one file (a merge: only its own part)."""
    events = _compared(record, change, claims, cache)
    if record.is_merge and events:
        events = _own_part(record, change, events, cache)
    return events


def _compared(
    record: CommitRecord, change: FileChange, claims: VaultTrailers, cache: Cache
) -> list[KeyEvent]:
    path = change.path
    old_entry = cache.entry(change.old_blob, path, record.id)
    new_entry = cache.entry(change.new_blob, path, record.id)
    if old_entry is None and new_entry is None:
        return []
    if old_entry is None:
        assert new_entry is not None
        return [
            event(record, path, k, ADDED, encrypted=is_encrypted(v))
            for k, v in new_entry[0].leaves.items()
        ]
    if new_entry is None:
        return [
            event(record, path, k, REMOVED, encrypted=is_encrypted(v))
            for k, v in old_entry[0].leaves.items()
        ]
    (old, before), (new, after) = old_entry, new_entry
    texts = new.leaves
    events = [
        event(record, path, k, ADDED, encrypted=is_encrypted(texts[k]))
        for k in after
        if k not in before
    ]
    events += [
        event(record, path, k, REMOVED, encrypted=is_encrypted(v))
        for k, v in old.leaves.items()
        if k not in after
    ]
    common = [k for k in after if k in before]
    changed = [k for k in common if after[k] != before[k]]
    encrypted_common = [k for k in common if is_encrypted(texts[k])]
    rekey_suspected = (
        bool(encrypted_common)
        and all(after[k] != before[k] for k in encrypted_common)
        and old.data_key_wrapping != new.data_key_wrapping
    )
    if rekey_suspected:
        events += _classify_rekey(record, change, changed, claims, cache, texts)
    else:
        events += [
            event(record, path, k, ROTATED, encrypted=is_encrypted(texts[k])) for k in changed
        ]
    if old.recipients != new.recipients:
        gone = [r for r in old.recipients if r not in new.recipients]
        came = [r for r in new.recipients if r not in old.recipients]
        detail = " ".join([f"+{short(r)}" for r in came] + [f"-{short(r)}" for r in gone])
        events.append(event(record, path, None, RECIPIENTS, detail=detail or "reordered"))
    return events


def _own_part(
    record: CommitRecord, change: FileChange, events: list[KeyEvent], cache: Cache
) -> list[KeyEvent]:
    """Drop what a merge's version holds exactly as one of its other parents had it."""
    path = change.path
    entry = cache.entry(change.new_blob, path, record.id)
    mine_ids = entry[1] if entry is not None else {}
    mine_recipients = entry[0].recipients if entry is not None else None
    others = []
    for parent in record.parents[1:]:
        other = cache.entry(cache.repo.blob_id_at(parent, path), path, record.id)
        others.append((other[0].recipients, other[1]) if other is not None else (None, {}))

    def brought(e: KeyEvent) -> bool:
        if e.key is None:
            return any(rec == mine_recipients for rec, _ in others)
        return any(ids.get(e.key) == mine_ids.get(e.key) for _, ids in others)

    return [e for e in events if not brought(e)]


def _classify_rekey(
    record: CommitRecord,
    change: FileChange,
    changed: list[str],
    claims: VaultTrailers,
    cache: Cache,
    after: Mapping[str, str],
) -> list[KeyEvent]:
    """Every encrypted value changed under a new data key: re-key, rotation, or both."""
    import hmac

    path = change.path
    assert change.old_blob is not None and change.new_blob is not None
    old_h = cache.value_hashes(change.old_blob, path)
    new_h = cache.value_hashes(change.new_blob, path)
    out = []
    # A rotation is claimed by a `rotate` commit's keys, and by any key a commit
    # names a generator for (offboard --rotate re-keys and rotates in one commit).
    claimed_rotated = set(claims.keys.get(path, ())) if claims.action == "rotate" else set()
    claimed_rotated |= {k for (p, k) in claims.generators if p == path}
    says_rekey = path in claims.rekeyed or claims.action in REKEY_ACTIONS
    for k in changed:
        enc = is_encrypted(after[k])
        if not enc:
            out.append(event(record, path, k, ROTATED, encrypted=False))
        elif old_h is not None and new_h is not None and k in old_h and k in new_h:
            same = hmac.compare_digest(old_h[k], new_h[k])
            kind = REKEYED if same else ROTATED
            out.append(event(record, path, k, kind, value_changed=not same, basis="decrypted"))
        elif k in claimed_rotated:
            out.append(event(record, path, k, ROTATED, value_changed=True, basis="trailers"))
        elif says_rekey:
            out.append(event(record, path, k, REKEYED, value_changed=False, basis="trailers"))
        else:
            out.append(event(record, path, k, REKEYED, value_changed=None, basis="unknown"))
    return out


def short(recipient: str) -> str:
    return recipient if len(recipient) <= 24 else recipient[:16] + "…" + recipient[-6:]
