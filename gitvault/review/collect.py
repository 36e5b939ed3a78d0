"""Build a :class:`~gitvault.review.model.Review` of a range from git alone.

What is read, and from where (no plaintext, no identity needed):

* the range (:func:`gitvault.git.revrange.resolve_range`): commits are
  ``BASE..HEAD``; states are compared between the merge base and HEAD;
* the policy at both ends, from git (not the work tree);
* the vault files the range changed — files a rule covers at either end that
  a commit of the range changed or whose content differs between the merge
  base and HEAD (what a merge brought in) — at both ends, parsed without a key
  (recipients from ``sops.age``); a HEAD version the base's history had
  replaced is a rollback (:mod:`gitvault.review.rangecheck`);
* per-key events and trailer checks from :func:`gitvault.history.audit.audit`
  over the changed files' whole history, kept for the commits in the range;
  the same audit gives rotation ages at HEAD (:func:`last_changes`, :mod:`due`);
* signatures of the range's commits against the signing keys of the policy at
  the merge base (what the reviewer already trusts; when the base has no
  policy, each commit's parent's), and freshness
  (:func:`gitvault.history.freshness.analyze`) judged the same way;
* leaks: :func:`gitvault.scan.scan_history` over the range, with the scan
  excludes of the base's policy (:mod:`gitvault.review.leaks`);
* policy changes, each a ``policy`` finding: the range is judged by the base's
  policy (signing keys, scan excludes, rotation periods, the selection a
  file's values must be encrypted under), never by the one it proposes.

With identities, the changed files at HEAD also get ``verify``'s MAC and schema
checks, re-keys are told from rotations by value, and the scanner looks for the
vault's own values (held in memory for the scan only, never reported) when the
range adds lines they could appear in.

The sections are built by :mod:`~gitvault.review.changes`,
:mod:`~gitvault.review.checks`, :mod:`~gitvault.review.leaks` and
:mod:`~gitvault.review.rangecheck` around one
:class:`~gitvault.review.context.Collector`. Only the range's files are parsed.

Never prints, never writes, never returns a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import BadInput
from gitvault.git import revrange
from gitvault.git.log import walk
from gitvault.git.repo import Repository
from gitvault.history.policies import POLICY_FILE, PolicyHistory
from gitvault.review import access as access_mod
from gitvault.review.changes import (
    access_changes,
    audit_changed,
    commit_summaries,
    file_summaries,
    key_changes,
)
from gitvault.review.checks import file_checks, freshness_notes, key_ages
from gitvault.review.context import Collector, policy_prefix, tree_diff
from gitvault.review.leaks import scan_leaks
from gitvault.review.model import Finding, Review
from gitvault.review.rangecheck import policy_findings, restored_versions

if TYPE_CHECKING:
    from gitvault.identities import Identities


def collect(
    cwd: Path,
    spec: str | None = None,
    *,
    identities: Identities | None = None,
    now: datetime | None = None,
    scan: bool = True,
) -> Review:
    """Review the range ``spec`` (``BASE..HEAD``; default: the default branch's merge base)."""
    from gitvault.history.freshness import commit_trust

    repo = Repository.discover(cwd)
    repo.require_history()
    rng = revrange.resolve_range(repo.root, spec)
    policies = PolicyHistory(repo, policy_prefix(repo, cwd))
    now = now or datetime.now(tz=UTC)
    c = Collector(repo, rng, policies, identities, now)
    if c.base_pol is None and c.head_pol is None:
        raise BadInput(
            f"no valid {POLICY_FILE} at either end of the range",
            hint="run `gitvault init` and commit the policy",
        )
    records = walk(repo.root, [], rev=rng.spec)
    range_ids = {r.id for r in records}
    # What the commits changed, then what the range changed as a whole (a merge that
    # keeps one parent's old file shows no change of its own).
    net = tree_diff(repo.root, rng.merge_base, rng.head)
    touched = [ch.path for r in reversed(records) for ch in r.changes]
    changed = [p for p in dict.fromkeys([*touched, *net]) if c.covered(p)]
    policy_changed = policies.path in net or policies.path in touched
    vault_commits = {
        r.id
        for r in records
        if any(ch.path == policies.path or c.covered(ch.path) for ch in r.changes)
    }
    trust = c.trust_fn(range_ids)
    trusts = commit_trust(repo, records, trust)

    log = audit_changed(c, changed) if changed else None
    keys = key_changes(log, range_ids) if log is not None else []
    files = file_summaries(c, changed, keys)
    commits = commit_summaries(c, records, trusts, vault_commits, log)
    policy = access_mod.policy_changes(c.base_pol, c.head_pol) if policy_changed else []
    access = access_changes(c, files, policy_changed)
    freshness = freshness_notes(c, changed, trust, trusts, range_ids) if changed else []
    current = {f.file for f in freshness if f.kind == "rollback" and f.current}
    restored_versions(c, changed, current)
    ages = key_ages(c, changed, log) if log is not None else []
    # A policy change can make any file's recipients wrong: then check every vault file.
    checked = c.head_vault_files() if policy_changed else changed
    checks = file_checks(c, checked)
    leaks = scan_leaks(c, changed, records) if scan else []
    for change in policy:
        if change.expansion and change.what in ("signing-keys", "email", "recipient-key"):
            c.find("access-expansion", f"{change.subject}: {change.what} {change.detail}")
    if policy_changed:
        policy_findings(c, policy)
    problems = tuple(dict.fromkeys([*policies.problems, *c.problems]))
    return Review(
        base=rng.base,
        head=rng.head,
        merge_base=rng.merge_base,
        base_name=rng.base_name,
        head_name=rng.head_name,
        now=int(now.timestamp()),
        identity=c.ids is not None,
        commits=tuple(commits),
        files=tuple(files),
        keys=tuple(keys),
        policy=tuple(policy),
        access=tuple(access),
        freshness=tuple(freshness),
        leaks=tuple(leaks),
        ages=tuple(ages),
        checks=tuple(checks),
        findings=tuple(_ordered(c.findings)),
        scanned=scan,
        problems=problems,
    )


_KIND_ORDER = (
    "leak",
    "plaintext",
    "selection",
    "substitution",
    "rollback",
    "access-expansion",
    "bad-signature",
    "unsigned",
    "recipients",
    "mac",
    "schema",
    "trailer-mismatch",
    "policy",
    "overdue",
)


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    return sorted(findings, key=lambda f: rank.get(f.kind, len(rank)))
