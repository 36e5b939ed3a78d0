"""What every part of a review shares: the repository, the range, both policies, parsed blobs.

:class:`Collector` is built once per ``review`` run by
:func:`gitvault.review.collect.collect` and handed to the modules that build
each section (:mod:`~gitvault.review.changes`, :mod:`~gitvault.review.checks`,
:mod:`~gitvault.review.leaks`, :mod:`~gitvault.review.rangecheck`). It parses
each blob once and gathers findings and read problems. No plaintext.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitError, GitvaultError
from gitvault.git import revrange
from gitvault.git.log import CommitRecord
from gitvault.git.repo import Repository
from gitvault.history.policies import PolicyHistory
from gitvault.history.sources import ParsedVault, parse_for_history
from gitvault.review.model import Finding

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy


def policy_prefix(repo: Repository, cwd: Path) -> str:
    """Where the policy sits in the repository (found from ``cwd``; else at the root)."""
    from gitvault import policy

    found = policy.find_root(cwd)
    if found is None:
        return ""
    try:
        rel = found.resolve().relative_to(repo.root).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


def walk_dirs(paths: Sequence[str]) -> list[str]:
    """The directories holding ``paths``, for a history walk (``[]``: the whole tree)."""
    dirs = sorted({p.rpartition("/")[0] for p in paths})
    return [] if "" in dirs else dirs


def tree_diff(root: Path, base: str, head: str) -> list[str]:
    """Paths whose content differs between two commits' trees (what the range changes, net).

    Unlike the commits' own diffs, this sees what a merge commit brought in or
    restored, whichever parent it matches.
    """
    proc = subprocess.run(
        [
            "git",
            "-c",
            "core.quotepath=false",
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            base,
            head,
            "--",
        ],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git diff failed: {first[0] if first else 'exit ' + str(proc.returncode)}")
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


class Collector:
    """The range, both ends' policies, a blob cache, and the findings gathered so far."""

    def __init__(
        self,
        repo: Repository,
        rng: revrange.RevRange,
        policies: PolicyHistory,
        identities: Identities | None,
        now: datetime,
    ) -> None:
        self.repo = repo
        self.rng = rng
        self.policies = policies
        self.ids = identities if identities is not None and identities.items else None
        self.now = now
        self.base_pol = policies.at(rng.merge_base)
        self.head_pol = policies.at(rng.head)
        # The policy the range is judged by: what the reviewer already trusts. A pull
        # request must not loosen the rules it is checked against (scan excludes,
        # selection, rotation periods); without a policy at the base, the head's.
        self.trusted_pol = self.base_pol if self.base_pol is not None else self.head_pol
        self.findings: list[Finding] = []
        self.problems: list[str] = []
        self._views: dict[str, ParsedVault | None] = {}
        self._parsed: dict[bytes, ParsedVault] = {}

    def parse(self, data: bytes, name: str) -> ParsedVault:
        """``parse_for_history``, once per blob content, shared by the audit and freshness."""
        view = self._parsed.get(data)
        if view is None:
            view = self._parsed[data] = parse_for_history(data, name)
        return view

    def covered(self, path: str) -> bool:
        """A vault path at either end of the range."""
        return self.policies.covers(self.head_pol, path) or self.policies.covers(
            self.base_pol, path
        )

    def view(self, commit: str, path: str) -> tuple[str | None, ParsedVault | None]:
        """The blob id of ``path`` at ``commit`` and its parsed form (None when unreadable)."""
        blob = self.repo.blob_id_at(commit, path)
        if blob is None:
            return None, None
        if blob not in self._views:
            try:
                self._views[blob] = self.parse(self.repo.read_blob(blob), path)
            except GitvaultError as exc:
                self._views[blob] = None
                self.problems.append(f"{path} at {commit[:12]}: {exc.message}")
        return blob, self._views[blob]

    def find(self, kind: str, message: str, **where: str | None) -> None:
        self.findings.append(Finding(kind, message, **where))

    def head_vault_files(self) -> list[str]:
        """Every vault file at HEAD (a policy change can make any of them wrong).

        A file the base's policy covers counts even when the head's no longer does:
        a range must not un-cover a vault file and fill it with plaintext.
        """
        files = revrange.list_files(self.repo.root, self.rng.head)
        return [
            p
            for p in files
            if self.policies.covers(self.head_pol, p) or self.policies.covers(self.base_pol, p)
        ]

    def trust_fn(self, range_ids: set[str]) -> Callable[[CommitRecord], Policy | None]:
        """The range's commits are judged by the base's policy, older ones by their parent's."""
        from gitvault.history.freshness import parent_policy

        by_parent = parent_policy(self.policies)
        base = self.base_pol

        def trust(record: CommitRecord) -> Policy | None:
            if record.id in range_ids and base is not None:
                return base
            return by_parent(record)

        return trust
