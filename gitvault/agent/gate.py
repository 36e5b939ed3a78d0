"""The gate: may the agent apply this commit?

A candidate (the fetched tip) is applied only when all of these hold, checked
with gitvault's own ``verify`` and trust modules, not a copy of them:

1. it fast-forwards the commit the agent applied last (a force-push, a reset
   or another branch's history is refused: the agent never goes back);
2. the policy at the candidate loads, and every file an output reads is
   there and passes every ``verify`` check with the agent's identity —
   structure, selection metadata, recipients vs policy, MAC, schema;
3. the history checks find no current rollback or substitution among the
   new commits (``verify``'s freshness, judged from the applied commit on;
   on the first run, over all history);
4. with ``require_signed_by``, every new commit carries a good signature by a
   signing key that the policy at the commit's parent lists for one of the
   named recipients (a recipient with no signing key cannot sign for it).

The gate reads the work tree, which the caller has put at the candidate;
nothing here decrypts more than ``verify`` does, and no message holds a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitvault.errors import CheckFailed, GitvaultError

if TYPE_CHECKING:
    from pathlib import Path

    from gitvault.agent.config import Config
    from gitvault.identities import Identities

MAX_REPORTED = 20


class Refused(CheckFailed):
    """The candidate failed the gate: the agent keeps serving the last good outputs."""


@dataclass
class Verdict:
    candidate: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    commits: int = 0  # new commits judged

    def refuse(self) -> None:
        if self.problems:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise Refused(f"update to {self.candidate[:12]} refused: {self.problems[0]}{more}")


def fast_forward(checkout: Path, applied: str | None, candidate: str) -> None:
    """Raise :class:`Refused` unless ``candidate`` descends from ``applied``."""
    from gitvault.agent.follow import is_ancestor

    if applied is None or applied == candidate:
        return
    if not is_ancestor(checkout, applied, candidate):
        raise Refused(
            f"update to {candidate[:12]} refused: not a fast-forward of the applied commit "
            f"{applied[:12]} (force-push or rewritten history)",
            hint="if the rewrite is intended, see docs/agent.md (accepting a rewritten branch)",
        )


def judge(cfg: Config, applied: str | None, candidate: str, ids: Identities) -> Verdict:
    """Run checks 2-4 on the work tree (at ``candidate``); problems are listed, not raised."""
    from gitvault import policy
    from gitvault import verify as core
    from gitvault.verify_history import check_history

    verdict = Verdict(candidate)
    root = cfg.checkout
    try:
        pol = policy.load(root)
    except GitvaultError as err:
        verdict.problems.append(f"policy: {err.message}")
        return verdict
    missing = [f for f in cfg.files if not (root / f).is_file() and not (root / f).is_symlink()]
    for f in missing:
        verdict.problems.append(f"{f}: not in the commit")
    present = [f for f in cfg.files if f not in missing]
    if not present:
        return verdict
    report = core.verify(pol, present, ids)
    history = None
    try:
        # adds its findings to the file reports: a current one as a problem
        history = check_history(pol, report, mode="on", since=applied, ids=ids)
    except GitvaultError as err:
        verdict.problems.append(f"history: {err.message}")
    for fr in report.files:
        verdict.problems.extend(f"{fr.file}: {p}" for p in fr.problems)
        verdict.warnings.extend(f"{fr.file}: {w}" for w in fr.warnings)
    if history is None:
        return verdict
    verdict.problems.extend(f"history: {p}" for p in history.problems)
    from gitvault.agent.follow import commit_count

    verdict.commits = commit_count(root, f"{applied}..{candidate}" if applied else candidate)
    if applied is not None:
        verdict.problems.extend(restored(root, applied, candidate, present))
    since = applied or cfg.signed_since  # signatures: from the applied commit, else as configured
    if cfg.require_signed_by:
        verdict.problems.extend(unsigned(root, since, candidate, cfg.require_signed_by))
    del verdict.problems[MAX_REPORTED:]
    return verdict


def unsigned(root: Path, since: str | None, candidate: str, names: tuple[str, ...]) -> list[str]:
    """Each commit in ``since..candidate`` not signed by one of ``names`` (policy keys)."""
    from gitvault.git.log import walk
    from gitvault.git.repo import Repository
    from gitvault.trust.authorship import VERIFIED, commit_trust, parent_policy
    from gitvault.trust.policies import PolicyHistory

    repo = Repository.discover(root)
    records = walk(root, (), rev=f"{since}..{candidate}" if since else candidate)
    if not records:
        return []
    trusts = commit_trust(repo, records, parent_policy(PolicyHistory(repo, "")))
    wanted = set(names)
    out = []
    for r in records:
        t = trusts[r.id]
        if t.signature == VERIFIED and t.signer in wanted:
            continue
        why = (
            f"signed by {t.signer}, who is not in require_signed_by"
            if t.signature == VERIFIED
            else {
                "unsigned": "not signed",
                "foreign": "signed by a key the policy does not list",
                "bad": "its signature does not verify",
            }.get(t.signature, "its signature cannot be checked")
        )
        out.append(
            f"commit {r.id[:12]} is {why}" if why == "not signed" else f"commit {r.id[:12]}: {why}"
        )
    return out


def restored(root: Path, applied: str, candidate: str, files: list[str]) -> list[str]:
    """Files the candidate takes back to a version the applied commit's history replaced.

    The range judged as a whole, as ``review`` does (:mod:`gitvault.review.rangecheck`):
    a version is its decoded encrypted MAC, so a re-spelt old file is still old. The
    commit-by-commit history checks find the same rollbacks; this is the second,
    independent look the agent can afford (one walk over the delivered files).
    """
    from gitvault.git.log import walk
    from gitvault.git.repo import Repository
    from gitvault.review.rangecheck import version_id

    repo = Repository.discover(root)
    wanted: dict[str, tuple[bytes, bytes, bytes]] = {}
    for path in files:
        before = repo.blob_id_at(applied, path)
        after = repo.blob_id_at(candidate, path)
        if after is None or after == before:
            continue
        vid = version_id(repo.read_blob(after))
        if vid is None or (before is not None and version_id(repo.read_blob(before)) == vid):
            continue
        wanted[path] = vid
    out = []
    seen: set[str] = set()
    for record in walk(root, sorted(wanted), rev=applied) if wanted else ():
        for change in record.changes:
            want = wanted.get(change.path)
            if want is None or change.new_blob is None or change.new_blob in seen:
                continue
            seen.add(change.new_blob)
            if version_id(repo.read_blob(change.new_blob)) == want:
                out.append(
                    f"{change.path}: rollback: {candidate[:12]} restores the version written in "
                    f"{record.id[:12]}, which {applied[:12]} had replaced"
                )
                del wanted[change.path]
        if not wanted:
            break
    return out
