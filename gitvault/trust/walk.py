"""Which commits the trust checks judge, and against what: every commit by its first parent.

git's default history simplification hides a merge whose result equals one
of its parents' versions of a path — exactly what a merge that quietly takes
an old file from its second parent looks like. The trust checks therefore
walk every commit that changed the paths, merges included, and diff each one
against its FIRST parent (``merges="first-parent"`` of
:func:`gitvault.git.log.walk`): the first parent is the line the repository
was on, and a merge's change to it is what the merge did to that line.

What a merge's change merely brings in from its other parents was made by the
commits on that branch, which the walk also visits (by their own first
parent): :func:`brought_in` tells which keys of a merge's version come from a
non-first parent, so reports credit those commits, not the person who merged.
Only what equals neither parent is the merge's own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING

from gitvault.git.log import CommitRecord, walk

if TYPE_CHECKING:
    from gitvault.git.repo import Repository


def history(repo: Repository, paths: Sequence[str], rev: str = "HEAD") -> list[CommitRecord]:
    """Every commit up to ``rev`` that changed ``paths``, each against its first parent.

    Newest first, in topological order (a commit before its parents).
    """
    return walk(repo.root, list(paths), rev=rev, merges="first-parent", topo=True)


def other_parent_blobs(repo: Repository, record: CommitRecord, path: str) -> list[str | None]:
    """``path``'s blob at each non-first parent of a merge (None where absent)."""
    return [repo.blob_id_at(parent, path) for parent in record.parents[1:]]


def merge_base_blob(repo: Repository, record: CommitRecord, path: str) -> str | None:
    """``path``'s blob at the merge base of a merge's first two parents (None if absent)."""
    from gitvault.git.revrange import merge_base

    if len(record.parents) < 2:
        return None
    base = merge_base(repo.root, record.parents[0], record.parents[1])
    return repo.blob_id_at(base, path) if base else None


def brought_in(
    ids: dict[str, Hashable],
    others: Sequence[dict[str, Hashable] | None],
) -> Callable[[str], bool]:
    """Whether a key's value in a merge's version equals its value at a non-first parent."""

    def test(key: str) -> bool:
        mine = ids.get(key)
        return any(o is not None and key in o and o[key] == mine for o in others)

    return test
