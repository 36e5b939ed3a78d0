"""What ``rekey --commit`` and ``offboard --commit`` may commit, checked in linear time.

A re-key commit must contain exactly the re-key: the re-keyed files and the
policy change that asked for it. Two things used to go wrong:

- the policy change was left out (HEAD still named the removed person), or
  refused when edited by hand, although editing the policy *is* how one
  removes someone. Now the policy file is part of the commit whenever it
  differs from HEAD;
- a file already re-keyed by a plain ``rekey`` counted as "uncommitted
  changes" and the commit was refused. An uncommitted change is now accepted
  when it changes no value: HEAD's version and the work tree's decrypt to the
  same documents (only the data key, IVs, recipients or MAC differ), which is
  exactly what the commit's ``Gitvault-Rekey`` trailer claims. A real value
  change is still refused: it would hide in a commit that calls itself a
  re-key, and history would not see it as a rotation.

Cost: one ``git status`` for the whole repository and one HEAD lookup per
changed file, instead of a ``git status`` per file (which made 10,000 files
quadratic).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import AccessDenied, GitError, GitvaultError

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.git.repo import Repository
    from gitvault.identities import Identities
    from gitvault.policy import Policy
    from gitvault.sops.document import Plain

_HINT = "commit or discard them first, or run without --commit"


@dataclass(frozen=True)
class CommitPlan:
    """A repository that passed the checks, and what ``git status`` says is changed."""

    repo: Repository
    prefix: str  # the policy's directory inside the repository ("" at the root)
    policy_rel: str  # the policy file, relative to the repository root
    changed: dict[str, str] = field(repr=False)  # path -> "modified", "deleted", "added" …
    policy_in_head: bool = True

    @property
    def policy_changed(self) -> bool:
        """True when the policy file differs from HEAD (edited, or not committed yet)."""
        return self.policy_rel in self.changed or not self.policy_in_head


def plan(pol: Policy, relpaths: Sequence[str], *, allow_staged: bool) -> CommitPlan:
    """Check before anything is written that ``relpaths`` (and the policy) can be committed."""
    from gitvault.commits import check_repository
    from gitvault.git.repo import Repository
    from gitvault.history.schedule import policy_prefix
    from gitvault.policy import POLICY_FILE

    repo = Repository.discover(pol.root)
    prefix = policy_prefix(pol, repo.root)
    policy_rel = prefix + POLICY_FILE
    check_repository(
        repo, [prefix + rel for rel in relpaths] + [policy_rel], allow_staged=allow_staged
    )
    if repo.state().is_empty:
        return CommitPlan(repo, prefix, policy_rel, {}, policy_in_head=False)
    changed = status(repo)
    in_head = policy_rel in changed or repo.blob_id_at("HEAD", policy_rel) is not None
    return CommitPlan(repo, prefix, policy_rel, changed, policy_in_head=in_head)


def status(repo: Repository) -> dict[str, str]:
    """Every tracked path whose index or work-tree version differs from HEAD (one git call)."""
    from gitvault.git.log import run_git

    out = run_git(repo.root, ["status", "--porcelain=v1", "-z", "--untracked-files=no"])
    entries = out.decode("utf-8", "surrogateescape").split("\0")
    changed: dict[str, str] = {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if "R" in code or "C" in code:
            i += 1  # the source path of a rename or copy follows
        if "D" in code:
            changed[path] = "deleted"
        elif "A" in code:
            changed[path] = "added"
        else:
            changed[path] = "modified"
    return changed


def require_only_rekeyed(
    commit: CommitPlan, files: Iterable[tuple[str, Plain]], ids: Identities
) -> None:
    """Refuse files whose uncommitted change is more than a re-key.

    ``files`` are (repository path, the work tree's decrypted version). A file
    added to the index but not in HEAD is new: committing it is the point.
    """
    from gitvault.sops.file import open_file, parse_vault

    for path, plain in files:
        change = commit.changed.get(path)
        if change is None or change == "added":
            continue
        try:
            head = parse_vault(commit.repo.read_file("HEAD", path), f"{path} (HEAD)")
            before = open_file(head, ids.keys)
        except AccessDenied:
            raise GitError(
                f"{path} has uncommitted changes ({change}) and none of your identities can "
                "read its committed version to tell whether they are only a re-key",
                hint=_HINT,
            ) from None
        except GitvaultError:
            raise GitError(
                f"{path} has uncommitted changes ({change}): refusing to commit them unseen",
                hint=_HINT,
            ) from None
        if not same_values(before, plain):
            raise GitError(
                f"{path} has uncommitted value changes: refusing to commit them as a re-key",
                hint=_HINT,
            )


def same_values(a: Plain, b: Plain) -> bool:
    """True when two decrypted versions hold the same documents (keys, values, types)."""
    from gitvault.model import to_python

    return [to_python(d) for d in a.documents] == [to_python(d) for d in b.documents]


def write_and_commit(
    commit: CommitPlan,
    items: Sequence[tuple[str, Path, bytes]],
    originals: Sequence[tuple[Path, bytes | None]],
    message: str,
    *,
    extra: Sequence[str] = (),
    plain: Sequence[str] = (),
    allow_staged: bool = False,
) -> CommitResult:
    """Write ``(repo path, file, bytes)`` in one batch and commit them with ``extra`` paths.

    ``extra`` are paths already written (the policy file, files re-keyed by an
    earlier run); ``originals`` are what to put back if the commit fails. The
    repository's commit lock is held from writing to committing.
    """
    from gitvault import fsutil
    from gitvault.git.commit import commit_paths
    from gitvault.locking import commit_lock

    paths = list(dict.fromkeys([rel for rel, _p, _d in items] + list(extra)))
    with commit_lock(commit.repo.root, "commit"):
        fsutil.write_many([(path, data) for _rel, path, data in items])
        try:
            return commit_paths(
                commit.repo, paths, message, allow_other_staged=allow_staged, plain=plain
            )
        except BaseException:
            restore(originals)
            raise


def restore(originals: Sequence[tuple[Path, bytes | None]]) -> None:
    """Put files back as they were (remove the ones that did not exist), in one batch."""
    import contextlib

    from gitvault import fsutil

    fsutil.write_many([(path, data) for path, data in originals if data is not None])
    for path, data in originals:
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
