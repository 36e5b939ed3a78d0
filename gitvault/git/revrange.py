"""Revision ranges for ``review``: ``BASE..HEAD``, the default base, ancestry, tree listings.

A review compares two *states* and lists the *commits* between them:

* the commits are ``git rev-list BASE..HEAD`` (what a pull request adds);
* the states are the merge base of BASE and HEAD and HEAD itself, like
  ``git diff BASE...HEAD``: when the base branch moved on after the branch was
  cut, its newer commits are not shown as reverse changes of the branch.

Without a range the base is the repository's default branch: ``origin/HEAD``
when the clone has it, else the first of ``origin/main``, ``origin/master``,
``main``, ``master`` that exists.

Read-only: every function runs the git CLI and never writes to the repository.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import GitError, UsageError
from gitvault.git.log import git_env

_DEFAULT_CANDIDATES = ("origin/main", "origin/master", "main", "master")


@dataclass(frozen=True)
class RevRange:
    """What a review covers; ids are full commit ids."""

    base: str  # the commit the range starts after (BASE)
    head: str  # HEAD of the range
    merge_base: str  # the state compared with HEAD
    base_name: str  # how BASE was named (``origin/main``, a sha, …)
    head_name: str

    @property
    def spec(self) -> str:
        """The range in ``git log`` syntax."""
        return f"{self.base}..{self.head}"


def _git(root: Path, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            env=git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None


def _fail(what: str, proc: subprocess.CompletedProcess[bytes]) -> GitError:
    lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
    reason = lines[-1].strip() if lines else f"exit status {proc.returncode}"
    return GitError(f"{what} failed: {reason[:200]}")


def _check_rev(rev: str) -> None:
    if not rev or rev.startswith("-") or any(ch in rev for ch in "\0\n\r"):
        raise UsageError(f"invalid revision {rev[:60]!r}")


def resolve(root: Path, rev: str) -> str:
    """The commit id ``rev`` names; GitError when it names none."""
    _check_rev(rev)
    proc = _git(root, ["rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"])
    if proc.returncode != 0:
        raise GitError(f"unknown revision {rev[:60]!r}")
    return proc.stdout.decode().strip()


def exists(root: Path, rev: str) -> bool:
    try:
        resolve(root, rev)
    except (GitError, UsageError):
        return False
    return True


def default_branch(root: Path) -> str | None:
    """The default branch as a revision name (``origin/main``), or None if none is known."""
    proc = _git(root, ["symbolic-ref", "-q", "refs/remotes/origin/HEAD"])
    if proc.returncode == 0:
        ref = proc.stdout.decode().strip()
        if ref.startswith("refs/remotes/") and exists(root, ref):
            return ref[len("refs/remotes/") :]
    for name in _DEFAULT_CANDIDATES:
        if exists(root, name):
            return name
    return None


def merge_base(root: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None when they have none."""
    proc = _git(root, ["merge-base", a, b])
    if proc.returncode == 1:
        return None
    if proc.returncode != 0:
        raise _fail("git merge-base", proc)
    return proc.stdout.decode().strip() or None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    """True when ``ancestor`` is ``descendant`` or one of its ancestors."""
    proc = _git(root, ["merge-base", "--is-ancestor", ancestor, descendant])
    if proc.returncode in (0, 1):
        return proc.returncode == 0
    raise _fail("git merge-base", proc)


def rev_list(root: Path, spec: str) -> list[str]:
    """Commit ids of ``spec`` (``A..B``), newest first."""
    proc = _git(root, ["rev-list", spec, "--"])
    if proc.returncode != 0:
        raise _fail("git rev-list", proc)
    return proc.stdout.decode().split()


def list_files(root: Path, commit: str) -> list[str]:
    """Every file path in ``commit``'s tree (repository-relative, POSIX)."""
    proc = _git(root, ["-c", "core.quotepath=false", "ls-tree", "-r", "-z", "--name-only", commit])
    if proc.returncode != 0:
        raise _fail("git ls-tree", proc)
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def resolve_range(root: Path, spec: str | None) -> RevRange:
    """``BASE..HEAD``, ``BASE...HEAD``, ``BASE`` (to HEAD) or nothing (the default base)."""
    if spec is None or not spec.strip():
        default = default_branch(root)
        if default is None:
            raise GitError(
                "cannot tell the default branch (no origin/HEAD, main or master)",
                hint="name the range, e.g. `gitvault review main..HEAD`",
            )
        base_name, head_name = default, "HEAD"
    elif "..." in spec:
        base_name, _, head_name = spec.partition("...")
    elif ".." in spec:
        base_name, _, head_name = spec.partition("..")
    else:
        base_name, head_name = spec, "HEAD"
    base_name = base_name.strip() or "HEAD"
    head_name = head_name.strip() or "HEAD"
    head = resolve(root, head_name)
    base = resolve(root, base_name)
    common = merge_base(root, base, head)
    if common is None:
        raise GitError(f"{base_name} and {head_name} have no common history")
    if spec is None or not spec.strip() or (spec and "..." in spec):
        base = common  # BASE...HEAD and the default: the branch point
    return RevRange(
        base=base, head=head, merge_base=common, base_name=base_name, head_name=head_name
    )
