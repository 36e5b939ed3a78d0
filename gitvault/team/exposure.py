"""Who could read which version of which vault file: the recipients recorded in history.

A vault file records its readers in every version (the age stanzas of its
``sops:`` block). Walking every version of every vault file therefore answers
"who could read this key, and when" without decrypting anything: a person could
read a version when one of their public keys is among its recipients.

One refinement needs an identity: removing a recipient without a new data key
(``sops updatekeys``, ``rekey --recipients-only``) leaves the old data key in
the removed person's hands, so every later version under that same data key is
readable by them too (they can fetch its ciphertext from git). When the caller
passes identities that can unwrap the data keys, versions are grouped by a
fingerprint of their data key and that exposure is reported as ``data key``.

Names come from the policy's history: a key is named by the newest version of
``.gitvault.yaml`` that lists it, so a person whose key changed is still found
under every key they ever had.

This module never returns or keeps a value or a data key: only key paths,
recipients, commit ids and a SHA-256 fingerprint of each data key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import GitvaultError
from gitvault.policy import POLICY_FILE, normalize_key

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.identities import Identities

WORKTREE = "work tree"
RECIPIENT = "recipient"
DATA_KEY = "data key"


@dataclass(frozen=True)
class Version:
    """One version of a vault file as history recorded it (no plaintext)."""

    file: str  # relative to the repository root
    commit: str  # commit id, or WORKTREE
    time: int  # author time (0 for the work tree)
    recipients: frozenset[str]  # normalized public keys
    keys: tuple[str, ...]  # encrypted leaf key paths (display form)
    data_key: str | None = None  # fingerprint of the data key, when it could be unwrapped


@dataclass(frozen=True)
class PolicyVersion:
    commit: str
    recipients: dict[str, str]  # name -> normalized public key
    globs: tuple[str, ...]


@dataclass
class Exposure:
    """A key someone could read: the oldest and newest version they could read it in."""

    file: str
    key: str
    first: str  # commit id or WORKTREE
    last: str
    via: str  # RECIPIENT, or DATA_KEY (a version under a data key they once held)
    versions: int = 0


@dataclass
class Span:
    """When one reader was a recipient of one file (oldest and newest version)."""

    file: str
    recipient: str  # normalized public key
    first: str
    first_time: int
    last: str
    last_time: int
    current: bool = False  # a recipient of the work-tree version
    versions: int = 0


@dataclass
class History:
    """Every version of the vault files, and the policy's versions (newest first)."""

    versions: list[Version] = field(default_factory=list)
    policies: list[PolicyVersion] = field(default_factory=list)

    def names(self) -> dict[str, str]:
        """Normalized public key -> recipient name (the newest policy naming it wins)."""
        out: dict[str, str] = {}
        for pv in self.policies:
            for name, key in pv.recipients.items():
                out.setdefault(key, name)
        return out

    def keys_of(self, name: str) -> set[str]:
        """Every public key the policy ever gave ``name``."""
        return {pv.recipients[name] for pv in self.policies if name in pv.recipients}


# ----------------------------------------------------------------- reading history


def _policy_data(data: bytes) -> Any:
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    docs = load_documents(data.decode("utf-8"), POLICY_FILE)
    return to_python(docs[0]) if len(docs) == 1 else None


def _policy_version(commit: str, data: bytes) -> PolicyVersion | None:
    try:
        raw = _policy_data(data)
    except (GitvaultError, UnicodeDecodeError):
        return None  # a broken past policy names nobody
    if not isinstance(raw, dict):
        return None
    recipients: dict[str, str] = {}
    for name, value in (raw.get("recipients") or {}).items():
        key = value.get("key") if isinstance(value, dict) else value
        if isinstance(key, str):
            recipients[str(name)] = normalize_key(key)
    globs = tuple(
        str(r["path"]) for r in (raw.get("rules") or []) if isinstance(r, dict) and r.get("path")
    )
    return PolicyVersion(commit, recipients, globs)


def policy_versions(
    repo: Repository, policy_rel: str, worktree: Path | None
) -> list[PolicyVersion]:
    """The work-tree policy (when given) then every committed version, newest first."""
    from gitvault.git.log import walk

    out: list[PolicyVersion] = []
    if worktree is not None and worktree.is_file():
        from gitvault.fsutil import MAX_POLICY_BYTES, read_input

        pv = _policy_version(WORKTREE, read_input(worktree, limit=MAX_POLICY_BYTES))
        if pv is not None:
            out.append(pv)
    if repo.state().is_empty:
        return out
    for record in walk(repo.root, [policy_rel]):
        for change in record.changes:
            if change.path == policy_rel and change.new_blob is not None:
                pv = _policy_version(record.id, repo.read_blob(change.new_blob))
                if pv is not None:
                    out.append(pv)
    return out


def pathspecs(globs: Iterable[str], prefix: str) -> list[str]:
    """Directories that hold every path the globs can match ([] means the whole tree)."""
    dirs: set[str] = set()
    for glob in globs:
        cut = min((glob.find(c) for c in "*?[" if c in glob), default=len(glob))
        static = glob[:cut]
        directory = static.rpartition("/")[0] if cut < len(glob) else static
        full = (prefix + directory).rstrip("/")
        if not full:
            return []
        dirs.add(full)
    # Drop directories inside another listed directory.
    return sorted(d for d in dirs if not any(d.startswith(o + "/") for o in dirs if o != d))


class _Reader:
    """Parses blobs once each; unwraps data keys when identities are given."""

    def __init__(self, identities: Identities | None) -> None:
        self.keys = identities.keys if identities is not None and identities.items else []
        self.cache: dict[str, tuple[frozenset[str], tuple[str, ...], str | None] | None] = {}

    def read(self, blob: str, data: bytes, name: str) -> Any:
        if blob in self.cache:
            return self.cache[blob]
        from gitvault.history.sources import parse_for_history

        try:
            view = parse_for_history(data, name)
        except GitvaultError:
            self.cache[blob] = None
            return None
        keys = tuple(k for k, v in view.leaves.items() if v.startswith("ENC["))
        recipients = frozenset(normalize_key(r) for r in view.recipients)
        entry = (recipients, keys, self._fingerprint(data, name))
        self.cache[blob] = entry
        return entry

    def _fingerprint(self, data: bytes, name: str) -> str | None:
        if not self.keys:
            return None
        from gitvault.sops.file import data_key_for, parse_vault

        try:
            key = data_key_for(parse_vault(data, name), self.keys)
        except GitvaultError:
            return None
        return hashlib.sha256(b"gitvault data key fingerprint\0" + key).hexdigest()


def file_versions(
    repo: Repository,
    wanted: Callable[[str], bool],
    specs: Sequence[str],
    worktree: Sequence[tuple[str, Path]] = (),
    identities: Identities | None = None,
) -> list[Version]:
    """Every version of every vault file ``wanted`` accepts, newest first.

    ``worktree`` adds the current files (repository-relative name, path) as
    versions at :data:`WORKTREE`. Files that do not parse as vault files are
    skipped: plaintext names no reader.
    """
    from gitvault.fsutil import read_input
    from gitvault.git.log import walk

    reader = _Reader(identities)
    out: list[Version] = []
    now = int(time.time())
    for rel, path in worktree:
        try:
            data = read_input(path)  # capped; no device, no link out of the repository
        except (GitvaultError, OSError):
            continue  # `verify` reports such a file; it held nothing anyone could read
        entry = reader.read(hashlib.sha1(data).hexdigest() + ":wt", data, rel)  # noqa: S324
        if entry is not None:
            out.append(Version(rel, WORKTREE, now, *entry))
    if repo.state().is_empty:
        return out
    for record in walk(repo.root, list(specs)):
        for change in record.changes:
            if change.new_blob is None or not wanted(change.path):
                continue
            entry = reader.read(change.new_blob, repo.read_blob(change.new_blob), change.path)
            if entry is not None:
                out.append(Version(change.path, record.id, record.author.time, *entry))
    return out


# ----------------------------------------------------------------- questions


def exposure(versions: Sequence[Version], person: set[str]) -> list[Exposure]:
    """Every (file, key) a holder of one of the ``person`` keys could read, oldest first."""
    held = {v.data_key for v in versions if v.data_key and v.recipients & person}
    found: dict[tuple[str, str], Exposure] = {}
    for v in reversed(versions):  # oldest first
        if v.recipients & person:
            via = RECIPIENT
        elif v.data_key is not None and v.data_key in held:
            via = DATA_KEY
        else:
            continue
        for key in v.keys:
            item = found.get((v.file, key))
            if item is None:
                found[(v.file, key)] = Exposure(v.file, key, v.commit, v.commit, via, 1)
            else:
                item.last = v.commit
                item.versions += 1
                if via == RECIPIENT:
                    item.via = RECIPIENT
    return sorted(found.values(), key=lambda e: (e.file, e.key))


def spans(versions: Sequence[Version]) -> list[Span]:
    """For each file and recipient: the oldest and newest version naming them."""
    found: dict[tuple[str, str], Span] = {}
    for v in reversed(versions):  # oldest first
        for r in v.recipients:
            item = found.get((v.file, r))
            if item is None:
                item = found[(v.file, r)] = Span(v.file, r, v.commit, v.time, v.commit, v.time)
            item.last, item.last_time = v.commit, v.time
            item.versions += 1
            if v.commit == WORKTREE:
                item.current = True
    return sorted(found.values(), key=lambda s: (s.file, s.first_time, s.recipient))
