"""The version of a vault file from before a key's latest rotation (grace periods).

During a rollover, deploy-time commands may offer the previous value of a key
rotated recently (e.g. as ``DB_PASSWORD_PREVIOUS``), so consumers accept old and
new. :func:`previous_version` finds, from history, the key's latest value change
and returns the *encrypted* file as it was just before it, if that change is
within the grace period. The caller decrypts it with the same identities and
extracts the key, exactly as for ``decrypt --rev``.

This module never decrypts; it returns encrypted bytes and metadata only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gitvault.git.log import walk
from gitvault.git.repo import Repository
from gitvault.git.trailers import vault_trailers
from gitvault.history.audit import Parser
from gitvault.trust.values import value_id


@dataclass(frozen=True)
class PreviousVersion:
    """The encrypted file before the rotation of ``key`` at ``commit``."""

    file: str
    key: str
    commit: str  # the rotating commit
    rotated_at: int  # its author time, seconds since the epoch
    data: bytes  # the whole encrypted file as of the rotating commit's first parent


def previous_version(
    repo: Repository,
    path: str,
    key: str,
    *,
    parse: Parser,
    now: int,
    grace: timedelta,
    rev: str = "HEAD",
) -> PreviousVersion | None:
    """The file before ``key``'s latest value change, if that change is within ``grace``.

    Returns None when the key was never rotated (only added), when its latest
    change is older than the grace period, or when the key no longer exists.
    A re-key (every ciphertext and the wrapped data key changed) is not a value
    change and is skipped, unless the commit's trailers claim a rotation of ``key``.
    """
    for record in walk(repo.root, [path], rev=rev):
        if now - record.author.time > grace.total_seconds():
            return None
        change = next((c for c in record.changes if c.path == path), None)
        if change is None:
            continue
        if change.new_blob is None or change.old_blob is None:
            return None  # removed (nothing current) or added here (nothing previous)
        new = parse(repo.read_blob(change.new_blob), path)
        old_data = repo.read_blob(change.old_blob)
        old = parse(old_data, path)
        if key not in new.leaves or key not in old.leaves:
            return None  # the key is gone now, or was added here
        if value_id(old.leaves[key]) == value_id(new.leaves[key]):
            continue  # this commit did not touch the key (at most re-spelt it)
        rekey = old.data_key_wrapping != new.data_key_wrapping and all(
            value_id(old.leaves[k]) != value_id(v) for k, v in new.leaves.items() if k in old.leaves
        )
        claims = vault_trailers(record.trailers)
        claimed = claims.action == "rotate" and key in claims.keys.get(path, ())
        if rekey and not claimed:
            continue  # same value under a new data key: look further back
        return PreviousVersion(path, key, record.id, record.author.time, old_data)
    return None
