"""Rollback: an older version of a file, or older values, committed again.

Old passwords come back; an offboarded recipient's stanza comes back. Every
such version is a perfectly valid SOPS file, so only history can tell.
A commit's new version of a file is a rollback when it equals a version of
the same file that an *earlier* commit (an ancestor) had replaced:

* ``content`` — the same blob;
* ``mac`` — the same encrypted MAC, decoded (the file was re-formatted or
  re-spelt: quotes, base64 padding bits, key order);
* ``ciphertext`` — encrypted values whose decoded bytes equal replaced ones of
  the same keys (IVs are random, so a value's bytes are unique);
* weaker: ``lastmodified`` earlier than the version it replaces (may also be
  a skewed clock), compared as timestamps whatever the quoting.

Identity is always :mod:`gitvault.trust.values`' decoded bytes, never text.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitvault.trust.values import timestamp

if TYPE_CHECKING:
    from gitvault.sops.view import ParsedVault

# is_ancestor(commits, commit): whether any of ``commits`` is ``commit`` or an ancestor of it.
Ancestry = Callable[[Iterable[str], str], bool]


@dataclass
class Version:
    """One distinct version (blob) of a file, as first seen in history."""

    blob: str
    commit: str  # first commit seen with this content
    view: ParsedVault
    ids: dict[str, Hashable]  # key -> value identity (encrypted leaves)
    mac: Hashable | None
    replaced_at: list[str] = field(default_factory=list)


@dataclass
class FileState:
    """Everything history has shown of one file so far."""

    by_blob: dict[str, Version] = field(default_factory=dict)
    by_mac: dict[Hashable, Version] = field(default_factory=dict)
    # key -> value identity -> commits that replaced it
    replaced: dict[str, dict[Hashable, list[str]]] = field(default_factory=dict)
    deleted: Version | None = None  # the last version, when the file is deleted
    # (key, value identity) -> commit of the rollback finding that brought it back
    reported: dict[tuple[str, Hashable], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rollback:
    basis: str  # content | mac | ciphertext | lastmodified | copied
    reason: str
    keys: tuple[str, ...]
    matches: str | None  # the commit that made the older version


def remember(state: FileState, version: Version) -> None:
    state.by_blob.setdefault(version.blob, version)
    if version.mac is not None:
        state.by_mac.setdefault(version.mac, version)


def replaced(state: FileState, old: Version, new_ids: dict[str, Hashable], commit: str) -> None:
    """Record that ``commit`` replaced ``old`` (``new_ids``: what the keys hold after)."""
    old.replaced_at.append(commit)
    for key, ident in old.ids.items():
        if new_ids.get(key) != ident:
            state.replaced.setdefault(key, {}).setdefault(ident, []).append(commit)


def detect(
    state: FileState,
    path: str,
    commit: str,
    prior: Version | None,
    new: Version,
    fresh: bool,
    ancestor: Ancestry,
    merge: bool = False,
) -> Rollback | None:
    """The rollback ``commit`` makes by writing ``new`` over ``prior``, if any.

    A merge that brings in old values a commit of its branch already brought
    back is not reported again: that finding stays current while the values do.
    """
    before = prior.ids if prior is not None else {}
    differing = tuple(k for k, v in new.ids.items() if before.get(k) != v)
    found = _whole_version(state, new, fresh, commit, ancestor)
    if found is not None:
        basis, matched = found
        what = "re-commits" if basis == "content" else "carries the MAC of"
        keys = differing
        reason = f"{what} the version of {path} from {matched.commit[:12]}"
        out = Rollback(basis, reason, keys, matched.commit)
    else:
        reverted = []
        for key in differing:
            commits = state.replaced.get(key, {}).get(new.ids[key])
            if commits and ancestor(commits, commit):
                reverted.append(key)
        if reverted:
            reason = f"brings back replaced ciphertext of {len(reverted)} key(s)"
            out = Rollback("ciphertext", reason, tuple(reverted), None)
        elif prior is not None and _earlier(new.view.lastmodified, prior.view.lastmodified):
            reason = "lastmodified goes back in time (a rolled-back file, or a skewed clock)"
            out = Rollback("lastmodified", reason, (), None)
        else:
            return None
    marks = [(k, new.ids[k]) for k in out.keys if k in new.ids]
    earlier = [state.reported.get(m) for m in marks]
    if merge and marks and all(c is not None and ancestor([c], commit) for c in earlier):
        return None
    for m in marks:
        state.reported.setdefault(m, commit)
    return out


def retyped(prior: Version | None, new: Version) -> tuple[str, ...]:
    """Keys whose encrypted bytes stayed the same while their ``type:`` tag changed.

    SOPS does not authenticate the tag (the MAC hashes the re-encoded value), so
    ``type:str`` -> ``type:int`` still verifies and changes what ``json``/``yaml``
    exports and schemas see. Every writer with the key re-encrypts a value whose
    type changes (a new IV), so equal bytes under another tag were re-tagged by
    hand, by someone who did not need the key.
    """
    if prior is None:
        return ()
    out = []
    for key, text in new.view.leaves.items():
        before = prior.view.leaves.get(key)
        if before is None or prior.ids.get(key) != new.ids.get(key):
            continue
        if _tag(before) != _tag(text):
            out.append(key)
    return tuple(out)


def _tag(text: str) -> str | None:
    start = text.rfind(",type:")
    return text[start + 6 : -1] if start >= 0 and text.endswith("]") else None


def _whole_version(
    state: FileState, new: Version, fresh: bool, commit: str, ancestor: Ancestry
) -> tuple[str, Version] | None:
    same = state.by_blob.get(new.blob)
    if not fresh and same is not None and ancestor(same.replaced_at, commit):
        return "content", same
    if new.mac is not None and new.mac in state.by_mac:
        other = state.by_mac[new.mac]
        if other.blob != new.blob and ancestor(other.replaced_at, commit):
            return "mac", other
    return None


def _earlier(now_text: str, then_text: str) -> bool:
    now, then = timestamp(now_text), timestamp(then_text)
    return now is not None and then is not None and now < then


@dataclass
class Superseded:
    """Versions and values of *every* path that a later version replaced (not deletions).

    A new file that is such a version (same blob or decoded MAC), or holds such
    values (same key path and decoded bytes: the AAD binds a value to its key
    path, not to its file), brings old values back under another name. A
    deletion is not counted, so a rename (in one commit or two) is not a rollback.
    """

    blobs: dict[str, list[str]] = field(default_factory=dict)
    macs: dict[Hashable, list[str]] = field(default_factory=dict)
    values: dict[tuple[str, Hashable], list[str]] = field(default_factory=dict)

    def add(self, old: Version, new_ids: dict[str, Hashable], commit: str) -> None:
        self.blobs.setdefault(old.blob, []).append(commit)
        if old.mac is not None:
            self.macs.setdefault(old.mac, []).append(commit)
        for key, ident in old.ids.items():
            if new_ids.get(key) != ident:
                self.values.setdefault((key, ident), []).append(commit)

    def detect(self, new: Version, commit: str, ancestor: Ancestry) -> Rollback | None:
        """The rollback a new file ``new`` made by ``commit`` is, if any.

        Only replacements by an earlier commit on its ancestry count (a commit that
        both changes a file and copies its old version elsewhere made that copy
        from the version it had).
        """

        def earlier(commits: list[str] | None) -> bool:
            older = [c for c in commits or () if c != commit]
            return bool(older) and ancestor(older, commit)

        if earlier(self.blobs.get(new.blob)) or (
            new.mac is not None and earlier(self.macs.get(new.mac))
        ):
            reason = "is a copy of a version of another vault file that was replaced"
            return Rollback("copied", reason, tuple(new.ids), None)
        keys = tuple(k for k, v in new.ids.items() if earlier(self.values.get((k, v))))
        if keys:
            reason = f"brings back replaced ciphertext of {len(keys)} key(s) of another vault file"
            return Rollback("copied", reason, keys, None)
        return None
