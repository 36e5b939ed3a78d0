"""Commit vault files with the real ``git commit``, honouring the user's config.

gitvault's writes (``edit --commit``, ``set --commit``, ``rotate``, ``rekey``,
``offboard``) end in :func:`commit_paths`: it stages exactly the given paths and
runs ``git commit --only -F - -- PATHS`` so the user's identity, hooks
(pre-commit, commit-msg, post-commit) and signing (``commit.gpgsign``, including
``gpg.format=ssh``) apply exactly as for a hand-made commit. ``--only`` means
nothing else that happens to be staged can ride along.

Before committing, every staged blob of those paths must look like a SOPS file
(a top-level ``sops:`` mapping with a ``mac:``): a cheap byte check that stops
plaintext from ever being committed by us, even through a clean filter.

This module must never commit a path it was not given, never pass a value on a
command line, and never leave the index changed when it refuses or fails.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from gitvault.errors import BadInput, GitError
from gitvault.git.log import git_env, run_git
from gitvault.git.repo import Repository

_SOPS_BLOCK = re.compile(rb"(?m)^sops:[ \t]*\r?$")
_SOPS_MAC = re.compile(rb"(?m)^[ \t]+mac:[ \t]*\S")


@dataclass(frozen=True)
class CommitResult:
    """The commit that was made."""

    id: str
    branch: str | None
    paths: tuple[str, ...]
    signed: bool


def looks_like_vault_file(data: bytes) -> bool:
    """Cheap check: a top-level ``sops:`` block with a ``mac:`` entry, and no NUL."""
    return b"\0" not in data and bool(_SOPS_BLOCK.search(data)) and bool(_SOPS_MAC.search(data))


def commit_paths(
    repo: Repository,
    paths: Sequence[str],
    message: str,
    *,
    allow_other_staged: bool = False,
    plain: Sequence[str] = (),
) -> CommitResult:
    """Stage ``paths`` (relative to the root; deletions included) and commit them.

    ``plain`` names paths among ``paths`` that are not vault files and may be
    committed as they are (the policy file, which ``offboard`` changes in the
    same commit as the files it re-keys); every other path must be encrypted.

    Raises :class:`GitError` when the repository is in a state we refuse
    (detached HEAD, merge in progress, unrelated staged changes unless
    ``allow_other_staged``) or when ``git commit`` fails (a hook refused, the
    signing key is missing …); raises :class:`BadInput` when a path's staged
    content is not an encrypted vault file. In every failure the index entries of
    ``paths`` are restored to what they were.
    """
    wanted = tuple(dict.fromkeys(paths))
    if not wanted:
        raise BadInput("nothing to commit: no paths given")
    if not message.strip():
        raise BadInput("commit message is empty")
    for path in wanted:
        if path.startswith(("/", "-")) or ".." in path.split("/") or "\0" in path:
            raise BadInput(f"not a path relative to the repository root: {path[:80]}")
    state = repo.require_can_commit(wanted, allow_other_staged=allow_other_staged)
    before = {path: repo.index_blob(path) for path in wanted}

    try:
        run_git(repo.root, ["add", "-A", "--", *wanted])
        for path in wanted:
            staged = repo.index_blob(path)
            if path in plain:
                continue
            if staged is not None and not looks_like_vault_file(staged):
                raise BadInput(f"refusing to commit {path}: it is not an encrypted vault file")
        if not state.is_empty and not _differs_from_head(repo, wanted):
            raise BadInput("nothing to commit: the files are unchanged")
        proc = subprocess.run(
            ["git", "-C", str(repo.root), "commit", "--quiet", "--only", "-F", "-", "--", *wanted],
            input=message.encode(),
            capture_output=True,
            env=git_env(),
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git commit failed: {_last_line(proc.stderr, proc.stdout)}")
    except BaseException:
        _restore_index(repo, wanted, before, empty=state.is_empty)
        raise

    after = repo.state()
    assert after.head is not None
    return CommitResult(
        id=after.head,
        branch=after.branch,
        paths=wanted,
        signed=bool(repo.signed_commits([after.head])),
    )


def _differs_from_head(repo: Repository, paths: Sequence[str]) -> bool:
    return any(repo.index_blob(p) != _head_blob(repo, p) for p in paths)


def _head_blob(repo: Repository, path: str) -> bytes | None:
    blob_id = repo.blob_id_at("HEAD", path)
    return None if blob_id is None else repo.read_blob(blob_id)


def _restore_index(
    repo: Repository, paths: Sequence[str], before: dict[str, bytes | None], *, empty: bool
) -> None:
    """Put the index entries of ``paths`` back as they were before we staged."""
    for path in paths:
        if repo.index_blob(path) == before[path]:
            continue
        try:
            if before[path] is None:
                run_git(repo.root, ["rm", "--cached", "--quiet", "--ignore-unmatch", "--", path])
            elif not empty and before[path] == _head_blob(repo, path):
                run_git(repo.root, ["reset", "--quiet", "--", path])
            else:
                # The path had other staged content: write that blob back.
                blob = (
                    run_git(repo.root, ["hash-object", "-w", "--stdin"], stdin=before[path])
                    .decode()
                    .strip()
                )
                run_git(
                    repo.root,
                    ["update-index", "--cacheinfo", f"100644,{blob},{path}"],
                )
        except GitError:
            pass  # best effort: the original error is the one to report


def _last_line(*streams: bytes) -> str:
    for stream in streams:
        lines = [ln.strip() for ln in stream.decode(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1][:200]
    return "no output"
