"""Work-tree facts and branch moves that gitvault's committing commands need.

``rotate``, ``set --commit`` and friends must know whether a vault file has
changes that are not committed (they would ride along in a commit that claims
to change one key), and ``rotate --due --branch NAME`` puts its commit on a new
branch for a pull request. Everything goes through the real ``git`` CLI, so
filters, ``core.autocrlf`` and the user's configuration apply as for ``git
status`` and ``git checkout``.

This module never reads or writes file contents and never decrypts anything.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from gitvault.errors import GitError
from gitvault.git.log import git_env, run_git
from gitvault.git.repo import Repository


def uncommitted(repo: Repository, relpath: str) -> str | None:
    """How ``relpath`` differs from HEAD (``"modified"``, ``"untracked"`` …), None when clean.

    Staged and unstaged changes both count: either would end up in a commit of
    that path.
    """
    out = run_git(
        repo.root,
        ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", relpath],
    )
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(entry) < 4 or entry[3:] != relpath:
            continue
        code = entry[:2]
        if code == "??":
            return "untracked"
        if "D" in code:
            return "deleted"
        if "A" in code:
            return "added"
        return "modified"
    return None


def uncommitted_many(repo: Repository, relpaths: Sequence[str]) -> dict[str, str]:
    """:func:`uncommitted` for many paths with ONE ``git status`` (``rotate --due`` scale).

    Returns only the paths that have changes; the status of the whole work tree
    is read once and filtered, so the cost does not grow with a process per path.
    """
    wanted = set(relpaths)
    if len(wanted) <= 4:
        found = {p: uncommitted(repo, p) for p in wanted}
        return {p: c for p, c in found.items() if c is not None}
    out = run_git(repo.root, ["status", "--porcelain=v1", "-z", "--untracked-files=all"])
    changes: dict[str, str] = {}
    entries = out.decode("utf-8", "surrogateescape").split("\0")
    skip = False
    for entry in entries:
        if skip:  # the source path of a rename
            skip = False
            continue
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        skip = "R" in code or "C" in code
        if path not in wanted:
            continue
        if code == "??":
            changes[path] = "untracked"
        elif "D" in code:
            changes[path] = "deleted"
        elif "A" in code:
            changes[path] = "added"
        else:
            changes[path] = "modified"
    return changes


def is_tracked(repo: Repository, relpath: str) -> bool:
    """True when HEAD has ``relpath``."""
    if repo.state().is_empty:
        return False
    return repo.blob_id_at("HEAD", relpath) is not None


def check_new_branch(repo: Repository, name: str) -> None:
    """Raise unless ``name`` is a valid branch name that does not exist yet."""
    if not name or name.startswith("-"):
        raise GitError(f"invalid branch name {name[:60]!r}")
    proc = subprocess.run(
        ["git", "-C", str(repo.root), "check-ref-format", "--branch", name],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"invalid branch name {name[:60]!r}")
    exists = subprocess.run(
        ["git", "-C", str(repo.root), "show-ref", "--verify", "--quiet", f"refs/heads/{name}"],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if exists.returncode == 0:
        raise GitError(f"branch {name} already exists", hint="choose another --branch name")


def switch_to_new_branch(repo: Repository, name: str) -> str | None:
    """Create ``name`` at HEAD and check it out; return the branch we were on.

    The new branch starts at HEAD, so the work tree and index stay exactly as
    they are (uncommitted changes come along, as with ``git checkout -b``).
    """
    previous = repo.state().branch
    run_git(repo.root, ["checkout", "-q", "-b", name])
    return previous


def undo_new_branch(repo: Repository, name: str, previous: str | None) -> None:
    """Best effort: go back to ``previous`` and delete ``name`` (it has no commits of ours)."""
    try:
        if previous:
            run_git(repo.root, ["checkout", "-q", previous])
        run_git(repo.root, ["branch", "-q", "-D", name])
    except GitError:
        pass  # the error that made us undo is the one to report
