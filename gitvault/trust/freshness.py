"""Freshness and authorship of vault files, read from history: what SOPS accepts silently.

A SOPS file proves that its values were not changed by someone without the
data key, nothing more. This module walks a file's history
(:mod:`gitvault.trust.walk`: every commit, merges included, by what it
changes against its first parent) and runs the history checks on each change:
:mod:`~gitvault.trust.rollback` and :mod:`~gitvault.trust.substitution`,
with the writer from :mod:`~gitvault.trust.authorship`.

A merge whose new data key is the one its other parent already had did not
make that key: the commit on that branch that did was judged for it.

A finding is ``current`` when the file at the checked revision still carries
what the commit brought: a rolled-back value is still there, or no trusted
change of the data key happened since the substitution.

The checks of one change are :class:`gitvault.trust.analyzer.Analyzer`; this
module walks, and tells which findings the file still carries.

Never prints; findings carry paths, key paths, names and commit ids only.
With a decryptor, values are reduced to keyed hashes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gitvault.git.trailers import vault_trailers
from gitvault.sops.view import ParsedVault, parse_for_history
from gitvault.trust import rollback
from gitvault.trust.analyzer import Analyzer
from gitvault.trust.authorship import CommitTrust, TrustFn, commit_trust, parent_policy
from gitvault.trust.model import ROLLBACK, SUBSTITUTION, Finding, FreshnessReport
from gitvault.trust.policies import PolicyHistory
from gitvault.trust.values import Decryptor
from gitvault.trust.walk import history

if TYPE_CHECKING:
    from gitvault.git.repo import Repository

Version = rollback.Version


# --- entry point ---------------------------------------------------------------


def analyze(
    repo: Repository,
    *,
    paths: Sequence[str],
    include: Callable[[str], bool],
    policies: PolicyHistory,
    rev: str = "HEAD",
    since: str | None = None,
    trust: TrustFn | None = None,
    signatures: bool = True,
    known: Mapping[str, CommitTrust] | None = None,
    parse: Callable[[bytes, str], ParsedVault] = parse_for_history,
    decrypt: Decryptor | None = None,
) -> FreshnessReport:
    """Rollbacks, substitutions and commit trust for the vault files ``include`` accepts.

    ``paths`` are the pathspecs to walk (directories or files; empty: the whole
    tree); all history up to ``rev`` is read, because a rollback is judged
    against every older version. ``since`` limits what is *reported* to the
    commits in ``since..rev``. With ``signatures`` the report lists the trust
    of every reported commit (one signature check per signed commit);
    without, signatures are checked only for the commits that changed a data
    key. ``known`` passes trust already computed by the caller; ``parse``
    lets a caller share its parsed versions (each blob parsed once per run);
    ``decrypt`` (an identity) lets a data-key change be proven value-preserving.
    """
    from gitvault.git.revrange import rev_list

    repo.require_history()
    policy_path = policies.path
    specs = [*paths, policy_path] if paths else []
    records = []
    for record in history(repo, specs, rev):
        changes = tuple(c for c in record.changes if c.path == policy_path or include(c.path))
        if changes:
            records.append(
                record if changes == record.changes else replace(record, changes=changes)
            )
    in_range = set(rev_list(repo.root, f"{since}..{rev}")) if since else None
    judge = trust or parent_policy(policies)
    trusts = dict(known or {})
    reported = [r for r in records if in_range is None or r.id in in_range]
    if signatures:
        trusts.update(commit_trust(repo, [r for r in reported if r.id not in trusts], judge))
    analyzer = Analyzer(repo, judge, trusts, parse, decrypt)
    for record in reversed(records):  # oldest first (parents before children)
        claims = vault_trailers(record.trailers)
        for change in record.changes:
            if change.path != policy_path:
                analyzer.change(record, change, claims)
    findings = _mark_current(analyzer, rev)
    notes = analyzer.notes
    if in_range is not None:
        findings = [f for f in findings if f.commit in in_range]
        notes = [f for f in notes if f.commit in in_range]
    commits = tuple(trusts[r.id] for r in reported) if signatures else ()
    problems = tuple(dict.fromkeys([*policies.problems, *analyzer.problems]))
    return FreshnessReport(rev, tuple(findings), commits, problems, tuple(notes))


def _fingerprint(v: Version) -> tuple[dict[str, Hashable], tuple[str, ...], str]:
    return v.ids, v.view.recipients, v.view.data_key_wrapping


def _mark_current(analyzer: Analyzer, rev: str) -> list[Finding]:
    """Set ``current`` on findings whose effect the file at ``rev`` still carries."""
    now_versions: dict[str, Version | None] = {}
    for path in analyzer.files:
        blob = analyzer.repo.blob_id_at(rev, path)
        now_versions[path] = analyzer.load(blob, path, rev) if blob else None
    out = []
    for finding in analyzer.findings:
        now = now_versions.get(finding.file)
        is_current = False
        if now is not None and finding.kind == ROLLBACK:
            written = analyzer.written[id(finding)]
            if finding.keys:
                is_current = any(now.ids.get(k) == written.ids.get(k) for k in finding.keys)
            else:
                is_current = _fingerprint(now) == _fingerprint(written)
        elif now is not None and id(finding) in analyzer.retagged:
            written = analyzer.written[id(finding)]
            is_current = any(
                now.view.leaves.get(k) is not None
                and now.ids.get(k) == written.ids.get(k)
                and rollback.retyped(written, now) == ()
                for k in finding.keys
            )
        elif now is not None and finding.kind == SUBSTITUTION:
            keys = analyzer.data_keys.get(finding.file, [])
            is_current = bool(keys) and keys[-1][1] is finding
            # While the file still uses the data key the finding's commit made, whoever made
            # it reads every value written since, whatever those values are. Only after a
            # re-key that carried its values over does it depend on what is left of them.
            if is_current and keys[-1][2]:
                is_current = _still_carried(analyzer, finding, now)
        out.append(replace(finding, current=is_current) if is_current else finding)
    return out


def _still_carried(analyzer: Analyzer, finding: Finding, now: Version) -> bool:
    """Whether ``now`` still holds a value the substitution wrote (by keyed hash).

    Without an identity that opens both versions nothing can tell a re-wrapped
    value from a rotated one, and the finding stays current (the safe side).
    """
    written = analyzer.written[id(finding)]
    before = analyzer.hashes(written.blob, finding.file)
    after = analyzer.hashes(now.blob, finding.file)
    if before is None or after is None:
        return True
    return any(after.get(k) == h for k, h in before.items())
