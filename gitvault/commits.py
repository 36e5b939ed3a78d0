"""Write a vault file and commit it with gitvault trailers, or change nothing.

The committing writes (``edit --commit``, ``set --commit``, ``unset --commit``,
``rotate``) share one sequence:

1. :func:`prepare` checks the repository *before* anything is written: a
   complete history (no shallow clone), a branch checked out (no detached
   HEAD), no merge or rebase in progress, no unrelated staged changes (unless
   allowed), and no uncommitted changes to the file itself, which would ride
   along in a commit whose trailers claim a single change;
2. the caller computes the new bytes;
3. :func:`write_and_commit` writes them atomically and commits through
   :func:`gitvault.git.commit.commit_paths` (the real ``git commit``: hooks,
   identity and signing apply). If the commit fails, the previous bytes are
   put back, so a refused commit leaves the work tree as it was.

``Gitvault-Keys`` is computed from the stored texts (ciphertexts) of HEAD's
version and the new version: gitvault re-encrypts minimally, so a key's
ciphertext changes only when its value does, and the trailer names exactly the
keys the commit really changes.

This module never sees plaintext: it moves encrypted bytes and key paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitvault import fsutil
from gitvault.errors import GitError, GitvaultError
from gitvault.git.commit import CommitResult, commit_paths
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, build_vault_message

_SHALLOW_HINT = "run `git fetch --unshallow` first: gitvault commits are audit records"


@dataclass(frozen=True)
class Target:
    """A vault file that passed the pre-commit checks."""

    repo: Repository
    path: Path  # as the user named it
    relpath: str  # relative to the repository root, POSIX
    head: bytes | None  # the file as HEAD has it (None: not in HEAD)


def check_repository(repo: Repository, paths: Sequence[str], *, allow_staged: bool) -> None:
    """Raise :class:`GitError` unless a commit of exactly ``paths`` is safe now."""
    from gitvault.git.indexsync import heal

    heal(repo)  # a commit killed before its index update looks like an uncommitted change
    state = repo.state()
    if state.is_shallow:
        raise GitError(
            "shallow clone: refusing to commit on incomplete history", hint=_SHALLOW_HINT
        )
    repo.require_can_commit(paths, allow_other_staged=allow_staged)


def prepare(path: Path, *, allow_staged: bool = False, must_be_tracked: bool = False) -> Target:
    """Check that ``path`` can be committed on its own; nothing is written."""
    from gitvault.git.worktree import uncommitted

    start = path.absolute().parent
    while not start.is_dir() and start != start.parent:
        start = start.parent  # a new file in a folder the write will create
    repo = Repository.discover(start)
    relpath = repo.relpath(path)
    check_repository(repo, [relpath], allow_staged=allow_staged)
    head = _head_bytes(repo, relpath)
    if must_be_tracked and head is None:
        raise GitError(
            f"{relpath} is not committed yet: refusing to rotate a value with no history",
            hint="commit the file first, so the previous value stays readable from history",
        )
    if head is not None:
        change = uncommitted(repo, relpath)
        if change is not None:
            raise GitError(
                f"{relpath} has uncommitted changes ({change}): refusing to commit them unseen",
                hint="commit or discard them first, or run without --commit",
            )
    return Target(repo=repo, path=path, relpath=relpath, head=head)


def _head_bytes(repo: Repository, relpath: str) -> bytes | None:
    if repo.state().is_empty:
        return None
    blob = repo.blob_id_at("HEAD", relpath)
    return None if blob is None else repo.read_blob(blob)


def leaves_of(data: bytes | None, name: str) -> dict[str, str]:
    """Display key path -> stored text of an encrypted file ({} for None or unreadable)."""
    if data is None:
        return {}
    from gitvault.sops.file import parse_vault

    try:
        return parse_vault(data, name).leaves()
    except GitvaultError:
        return {}


def changed_keys(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[str, ...]:
    """Keys added, removed, or whose stored text changed; new order first, then removed."""
    changed = [k for k, v in after.items() if before.get(k) != v]
    changed += [k for k in before if k not in after]
    return tuple(changed)


def split_message(message: str | None, default: str) -> tuple[str, str]:
    """(subject, body) from a user's ``-m`` text, or the default subject."""
    text = (message or "").strip()
    if not text:
        return default, ""
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def commit_message(
    action: str,
    relpath: str,
    keys: Sequence[str],
    *,
    message: str | None = None,
    default_subject: str,
) -> str:
    """A commit message with ``Gitvault-Action``, ``-File`` and ``-Keys`` trailers."""
    subject, body = split_message(message, default_subject)
    trailers = VaultTrailers(
        action=action,
        files=(relpath,),
        keys={relpath: tuple(keys)} if keys else {},
    )
    return build_vault_message(subject, trailers, body)


def write_and_commit(
    target: Target, data: bytes, message: str, *, allow_staged: bool = False
) -> CommitResult:
    """Write ``data`` to the file and commit it; on failure restore the previous bytes."""
    path = target.repo.root / target.relpath
    # The old bytes, kept to restore on failure: capped and never through a link
    # out of the repository (a dangling link is refused, not taken for "new").
    exists = path.exists() or path.is_symlink()
    before = fsutil.read_input(path, root=target.repo.root) if exists else None
    fsutil.atomic_write(path, data)
    try:
        return commit_paths(target.repo, [target.relpath], message, allow_other_staged=allow_staged)
    except BaseException:
        restore(path, before)
        raise


def restore(path: Path, before: bytes | None) -> None:
    """Put ``path`` back as it was (remove it when it did not exist)."""
    if before is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        fsutil.atomic_write(path, before)


def short(commit: str) -> str:
    return commit[:12]


def describe_commit(result: CommitResult) -> str:
    """``committed 0123456789ab on main (signed)`` — no values, ever."""
    where = f" on {result.branch}" if result.branch else ""
    signed = " (signed)" if result.signed else ""
    return f"committed {short(result.id)}{where}{signed}"
