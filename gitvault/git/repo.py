"""A narrow, read-mostly view of one git repository.

:class:`Repository` wraps a :class:`pygit2.Repository` by composition and
returns plain frozen dataclasses or bytes: open/discover, the state checks
gitvault needs before it writes or reads history (empty, detached HEAD, shallow,
merge in progress, unrelated staged changes), revision resolution (tags,
branches, ``HEAD~3``, ids) and blob reads with a cache.

Every failure is a one-line :class:`~gitvault.errors.GitError` (exit 6), or
:class:`~gitvault.errors.BadInput` for a path outside the repository.

This module writes to the repository only through :meth:`Repository.write_blob`
(an object in the store, which changes no ref, index or file; commits go
through :mod:`gitvault.git.commit` and the git CLI) and never decrypts anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pygit2

from gitvault.errors import BadInput, GitError

_SHALLOW_HINT = "run `git fetch --unshallow` (or clone with full history) first"


@dataclass(frozen=True)
class RepoState:
    """Where HEAD is and what state the repository is in."""

    root: Path
    git_dir: Path
    head: str | None  # commit id, None in an empty repository
    branch: str | None  # short branch name, None when detached or empty
    is_empty: bool
    is_detached: bool
    is_shallow: bool
    operation: str | None  # "merge", "rebase", "cherry-pick", … in progress, else None


@dataclass(frozen=True)
class StagedChange:
    """A path whose index entry differs from HEAD."""

    path: str
    status: str  # "added", "modified", "deleted", …


_OPERATIONS = {
    pygit2.enums.RepositoryState.MERGE: "merge",
    pygit2.enums.RepositoryState.REVERT: "revert",
    pygit2.enums.RepositoryState.REVERT_SEQUENCE: "revert",
    pygit2.enums.RepositoryState.CHERRYPICK: "cherry-pick",
    pygit2.enums.RepositoryState.CHERRYPICK_SEQUENCE: "cherry-pick",
    pygit2.enums.RepositoryState.BISECT: "bisect",
    pygit2.enums.RepositoryState.REBASE: "rebase",
    pygit2.enums.RepositoryState.REBASE_INTERACTIVE: "rebase",
    pygit2.enums.RepositoryState.REBASE_MERGE: "rebase",
    pygit2.enums.RepositoryState.APPLY_MAILBOX: "am",
    pygit2.enums.RepositoryState.APPLY_MAILBOX_OR_REBASE: "am",
}

_DELTA_STATUS = {
    pygit2.enums.DeltaStatus.ADDED: "added",
    pygit2.enums.DeltaStatus.DELETED: "deleted",
    pygit2.enums.DeltaStatus.MODIFIED: "modified",
    pygit2.enums.DeltaStatus.RENAMED: "renamed",
    pygit2.enums.DeltaStatus.TYPECHANGE: "type changed",
}


class Repository:
    """One git repository; open it with :meth:`discover` or :meth:`open`."""

    def __init__(self, repo: pygit2.Repository) -> None:
        if repo.is_bare or repo.workdir is None:
            raise GitError("bare repositories are not supported: gitvault needs a work tree")
        self._repo = repo
        self.root = Path(repo.workdir).resolve()
        self._blobs: dict[str, bytes] = {}

    # --- opening -------------------------------------------------------------

    @classmethod
    def discover(cls, start: Path | str = ".") -> Repository:
        """The repository containing ``start`` (a file or directory)."""
        start_path = Path(start).resolve()
        probe = start_path if start_path.is_dir() else start_path.parent
        found = pygit2.discover_repository(str(probe))
        if found is None:
            raise GitError(
                f"not a git repository (or any parent up to /): {probe}",
                hint="run `git init` first, or cd into your repository",
            )
        return cls.open(found)

    @classmethod
    def open(cls, path: Path | str) -> Repository:
        """Open the repository at ``path`` (its work tree or its .git directory)."""
        try:
            return cls(pygit2.Repository(str(path)))
        except pygit2.GitError as exc:
            raise GitError(f"cannot open git repository at {path}: {_first_line(exc)}") from None

    # --- paths ---------------------------------------------------------------

    def relpath(self, path: Path | str) -> str:
        """``path`` (absolute or relative to the cwd) as a POSIX path relative to the root."""
        absolute = Path(os.path.abspath(path))
        try:
            # Resolve symlinks in the parent only: the file itself may not exist yet.
            rel = absolute.parent.resolve().joinpath(absolute.name).relative_to(self.root)
        except ValueError:
            raise BadInput(f"path is outside the repository: {path}") from None
        text = PurePosixPath(*rel.parts).as_posix()
        if text in ("", ".") or text.startswith(".git/") or text == ".git":
            raise BadInput(f"not a file in the work tree: {path}")
        return text

    # --- state ---------------------------------------------------------------

    def state(self) -> RepoState:
        """A snapshot of HEAD and the repository state."""
        repo = self._repo
        empty = repo.head_is_unborn
        detached = not empty and repo.head_is_detached
        branch = None
        if not empty and not detached:
            branch = repo.head.shorthand
        operation = _OPERATIONS.get(repo.state())
        return RepoState(
            root=self.root,
            git_dir=Path(repo.path).resolve(),
            head=None if empty else str(repo.head.target),
            branch=branch,
            is_empty=empty,
            is_detached=detached,
            is_shallow=repo.is_shallow,
            operation=operation,
        )

    def require_history(self) -> RepoState:
        """Raise unless history is complete and non-empty (for log, due, review)."""
        state = self.state()
        if state.is_empty:
            raise GitError("the repository has no commits yet")
        if state.is_shallow:
            raise GitError("shallow clone: history is incomplete", hint=_SHALLOW_HINT)
        return state

    def staged_changes(self) -> tuple[StagedChange, ...]:
        """Paths whose index entry differs from HEAD (all entries in an empty repository)."""
        repo = self._repo
        index = repo.index
        index.read()
        if index.conflicts is not None:
            paths = sorted({c.path for entry in index.conflicts for c in entry if c is not None})
            return tuple(StagedChange(p, "conflicted") for p in paths)
        if repo.head_is_unborn:
            return tuple(StagedChange(entry.path, "added") for entry in index)
        tree = repo.head.peel(pygit2.Commit).tree
        diff = index.diff_to_tree(tree)
        changes = []
        for delta in diff.deltas:
            path = delta.new_file.path or delta.old_file.path
            changes.append(StagedChange(path, _DELTA_STATUS.get(delta.status, "changed")))
        return tuple(changes)

    def require_can_commit(
        self, paths: Sequence[str], *, allow_other_staged: bool = False
    ) -> RepoState:
        """Raise unless a commit of exactly ``paths`` is safe right now.

        Refuses a detached HEAD (the commit would be easy to lose), a merge or
        rebase in progress, a conflicted index, and staged changes to other
        paths (they would ride along in a commit that claims to touch only the
        vault) unless ``allow_other_staged``. An empty repository is fine: the
        first commit may be a vault commit.
        """
        state = self.state()
        if state.is_detached:
            raise GitError("HEAD is detached: refusing to commit", hint="check out a branch first")
        if state.operation is not None:
            raise GitError(
                f"a {state.operation} is in progress: refusing to commit",
                hint=f"finish or abort the {state.operation} first",
            )
        wanted = set(paths)
        staged = self.staged_changes()
        conflicted = [c.path for c in staged if c.status == "conflicted"]
        if conflicted:
            raise GitError(f"the index has unresolved conflicts: {_some(conflicted)}")
        others = [c.path for c in staged if c.path not in wanted]
        if others and not allow_other_staged:
            raise GitError(
                f"other changes are staged: {_some(others)}",
                hint="commit or unstage them first (git restore --staged PATH)",
            )
        return state

    # --- revisions and blobs ----------------------------------------------

    def resolve(self, rev: str) -> str:
        """The commit id ``rev`` names (branch, tag, ``HEAD~3``, abbreviated id …)."""
        if not rev or rev.startswith("-") or any(ch in rev for ch in "\0\n"):
            raise GitError(f"invalid revision {rev[:60]!r}")
        if self._repo.head_is_unborn and rev.startswith("HEAD"):
            raise GitError("the repository has no commits yet")
        try:
            obj = self._repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise GitError(f"unknown revision {rev[:60]!r}") from None
        return str(commit.id)

    def blob_id_at(self, rev: str, relpath: str) -> str | None:
        """The blob id of ``relpath`` at ``rev``, or None when the file is absent there."""
        commit = self._repo[self.resolve(rev)].peel(pygit2.Commit)
        try:
            entry = commit.tree[relpath]
        except KeyError:
            return None
        if entry.type_str != "blob":
            return None
        return str(entry.id)

    def entries_at(self, rev: str, relpaths: Sequence[str]) -> dict[str, tuple[int, str]]:
        """``(mode, blob id)`` of each of ``relpaths`` present as a file at ``rev``.

        The commit is resolved once, so asking for many paths stays linear.
        """
        tree = self._repo[self.resolve(rev)].peel(pygit2.Commit).tree
        found: dict[str, tuple[int, str]] = {}
        for relpath in relpaths:
            try:
                entry = tree[relpath]
            except KeyError:
                continue
            if entry.type_str == "blob":
                found[relpath] = (int(entry.filemode), str(entry.id))
        return found

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob object (no ref, index or file changes); its id."""
        blob_id = str(self._repo.create_blob(data))
        self._blobs[blob_id] = data
        return blob_id

    def read_file(self, rev: str, relpath: str) -> bytes:
        """The content of ``relpath`` as of ``rev``; raise GitError when it is absent."""
        blob_id = self.blob_id_at(rev, relpath)
        if blob_id is None:
            raise GitError(f"{relpath} does not exist at {rev[:60]}")
        return self.read_blob(blob_id)

    def read_blob(self, blob_id: str, *, keep: bool = True) -> bytes:
        """A blob's bytes, read once and cached (vault files are small).

        ``keep=False`` does not cache: a walk over every version in history
        (``log``, ``due``) would otherwise hold all of them in memory.
        """
        data = self._blobs.get(blob_id)
        if data is None:
            try:
                obj = self._repo[blob_id]
            except (KeyError, ValueError):
                raise GitError(f"object {blob_id[:12]} is missing from the repository") from None
            if not isinstance(obj, pygit2.Blob):
                raise GitError(f"object {blob_id[:12]} is not a file")
            data = obj.data
            if keep:
                self._blobs[blob_id] = data
        return data

    def read_blobs(self, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """Several blobs at once (each read once)."""
        return {blob_id: self.read_blob(blob_id) for blob_id in blob_ids}

    def index_blob(self, relpath: str) -> bytes | None:
        """The staged content of ``relpath``, or None when it is not in the index."""
        index = self._repo.index
        index.read()
        try:
            entry = index[relpath]
        except KeyError:
            return None
        return self.read_blob(str(entry.id))

    def signed_commits(self, commit_ids: Iterable[str]) -> frozenset[str]:
        """The subset of ``commit_ids`` that carry a signature (not verified here)."""
        signed = set()
        for commit_id in commit_ids:
            commit = self._repo[commit_id].peel(pygit2.Commit)
            signature, _payload = commit.gpg_signature
            if signature:
                signed.add(commit_id)
        return frozenset(signed)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _some(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    more = len(paths) - limit
    return shown + (f" and {more} more" if more > 0 else "")
