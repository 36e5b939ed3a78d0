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

Never prints; findings carry paths, key paths, names and commit ids only.
With a decryptor, values are reduced to keyed hashes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord, FileChange
from gitvault.git.trailers import VaultTrailers, vault_trailers
from gitvault.sops.view import ParsedVault, parse_for_history
from gitvault.trust import rollback, substitution
from gitvault.trust.authorship import CommitTrust, TrustFn, commit_trust, parent_policy
from gitvault.trust.model import ROLLBACK, SUBSTITUTION, Finding, FreshnessReport
from gitvault.trust.policies import PolicyHistory, recipient_names
from gitvault.trust.values import Decryptor, ValueHasher, leaf_ids, mac_id, new_data_key
from gitvault.trust.walk import history, merge_base_blob, other_parent_blobs

if TYPE_CHECKING:
    from gitvault.git.repo import Repository

Version = rollback.Version


class _Analyzer:
    def __init__(
        self,
        repo: Repository,
        trust: TrustFn,
        trusts: dict[str, CommitTrust],
        parse: Callable[[bytes, str], ParsedVault],
        decrypt: Decryptor | None,
    ) -> None:
        self.repo = repo
        self.trust = trust
        self.trusts = trusts  # filled lazily: signatures are checked only where needed
        self.parse = parse
        self.hasher = ValueHasher(decrypt)
        self.files: dict[str, rollback.FileState] = {}
        # path -> (commit, substitution finding or None, laundered) per data-key change, in
        # order; laundered: a new data key that re-wraps the finding's values (a re-key after
        # it), as opposed to the very data key the finding's commit made
        self.data_keys: dict[str, list[tuple[str, Finding | None, bool]]] = {}
        # versions and values that a later version replaced, of every path (not deletions):
        # a new file that brings one back is a rollback under another name
        self.superseded = rollback.Superseded()
        # path -> wrapped data key -> the finding of the commit that introduced it
        self.origins: dict[str, dict[str, Finding | None]] = {}
        self.findings: list[Finding] = []
        self.notes: list[Finding] = []
        self.written: dict[int, Version] = {}  # id(finding) -> the version it wrote
        self.retagged: set[int] = set()  # id() of "retyped" findings
        self.problems: list[str] = []
        self._views: dict[str, Version | None] = {}
        self._ancestry: dict[tuple[str, str], bool] = {}

    def load(self, blob: str | None, path: str, commit: str) -> Version | None:
        """A fresh :class:`Version` of ``blob`` (parsed once per run), or None."""
        if blob is None:
            return None
        if blob not in self._views:
            try:
                data = self.repo.read_blob(blob)
                view = self.parse(data, path)
                self._views[blob] = Version(blob, commit, view, leaf_ids(view.leaves), mac_id(data))
            except GitvaultError as exc:
                self._views[blob] = None
                self.problems.append(f"{path} at {commit[:12]}: {exc.message}")
        known = self._views[blob]
        if known is None:
            return None
        return Version(blob, commit, known.view, known.ids, known.mac)

    def version(
        self, state: rollback.FileState, blob: str, path: str, commit: str
    ) -> Version | None:
        """The file's version for ``blob``: the one history already knows, else a new one."""
        return state.by_blob.get(blob) or self.load(blob, path, commit)

    def ancestor(self, older: Iterable[str], commit: str) -> bool:
        from gitvault.git.revrange import is_ancestor

        for a in older:
            pair = (a, commit)
            if pair not in self._ancestry:
                self._ancestry[pair] = is_ancestor(self.repo.root, a, commit)
            if self._ancestry[pair]:
                return True
        return False

    def hashes(self, blob: str | None, path: str) -> Mapping[str, bytes] | None:
        if blob is None:
            return None
        return self.hasher.hashes(blob, lambda: self.repo.read_blob(blob), path)

    def add(self, finding: Finding, written: Version) -> None:
        self.findings.append(finding)
        self.written[id(finding)] = written

    # --- one change ----------------------------------------------------------

    def change(self, record: CommitRecord, change: FileChange, claims: VaultTrailers) -> None:
        path = change.path
        state = self.files.setdefault(path, rollback.FileState())
        parent = record.parents[0] if record.parents else ""
        old = self.version(state, change.old_blob, path, parent) if change.old_blob else None
        if old is not None:
            rollback.remember(state, old)
        if change.new_blob is None:
            if old is not None:
                rollback.replaced(state, old, {}, record.id)
                state.deleted = old
            return
        fresh = change.new_blob not in state.by_blob
        new = self.version(state, change.new_blob, path, record.id)
        if new is None:
            if old is not None:
                rollback.replaced(state, old, {}, record.id)
            return
        prior, recreated = old, False
        deleted = state.deleted
        if old is None and deleted is not None and self.ancestor(deleted.replaced_at, record.id):
            prior, recreated = deleted, True
        rolled = rollback.detect(
            state, path, record.id, prior, new, fresh, self.ancestor, record.is_merge
        )
        if rolled is None and prior is None:
            rolled = self._copied(record, path, new)
        if rolled is not None:
            self.add(
                self._finding(
                    record,
                    path,
                    ROLLBACK,
                    rolled.basis,
                    rolled.reason,
                    keys=rolled.keys,
                    matches=rolled.matches,
                ),
                new,
            )
        tagged = rollback.retyped(old, new)
        if tagged:
            reason = (
                f"changes the type tag of {len(tagged)} key(s) whose encrypted bytes it kept "
                "(a re-tag made without the key: sops does not authenticate type tags)"
            )
            finding = self._finding(record, path, SUBSTITUTION, "retyped", reason, keys=tagged)
            self.retagged.add(id(finding))
            self.add(finding, new)
        self._data_key(record, path, prior, new, claims, recreated, rolled is not None)
        if old is not None:
            rollback.replaced(state, old, new.ids, record.id)
            self.superseded.add(old, new.ids, record.id)
        state.deleted = None
        rollback.remember(state, new)

    def _data_key(
        self,
        record: CommitRecord,
        path: str,
        prior: Version | None,
        new: Version,
        claims: VaultTrailers,
        recreated: bool,
        rolled: bool,
    ) -> None:
        """Record (and judge) a change of the file's data key, if this is one."""
        keys = self.data_keys.setdefault(path, [])
        origins = self.origins.setdefault(path, {})
        wrapping = new.view.data_key_wrapping
        if prior is None:  # a new file: its first data key, made by its writer
            created: Finding | None = None
            if record.is_merge and wrapping in self._other_wrappings(record, path):
                created = origins.get(wrapping)  # made on that branch and judged there
            elif not rolled:
                created = self._creation(record, path, new)
            keys.append((record.id, created, False))
            origins.setdefault(wrapping, created)
            return
        old = prior.view
        if not new_data_key(old.data_key_wrapping, prior.ids, wrapping, new.ids):
            return
        finding: Finding | None = None
        laundered = False
        if record.is_merge and wrapping in self._other_wrappings(record, path):
            finding = origins.get(wrapping)  # made on that branch and judged there
        elif not rolled:  # a rollback brings back an older key: its finding covers it
            finding = self._substitution(record, path, prior, new, claims, recreated)
            if finding is None:
                finding = self._inherited(record, path, old, origins)
                laundered = finding is not None
        keys.append((record.id, finding, laundered))
        origins.setdefault(wrapping, finding)

    def _inherited(
        self,
        record: CommitRecord,
        path: str,
        old: ParsedVault,
        origins: Mapping[str, Finding | None],
    ) -> Finding | None:
        """The substitution a benign new data key re-wraps the values of, if any.

        A re-key (or a merge that needs a fresh key) carries its predecessors'
        values over: attacker-chosen values laundered through it stay attached
        to the substitution that brought them.
        """
        wrappings = [old.data_key_wrapping]
        if record.is_merge:
            wrappings += sorted(self._other_wrappings(record, path))
        for w in wrappings:
            if origins.get(w) is not None:
                return origins[w]
        return None

    def _other_wrappings(self, record: CommitRecord, path: str) -> set[str]:
        out = set()
        for blob in other_parent_blobs(self.repo, record, path):
            version = self.load(blob, path, record.id)
            if version is not None:
                out.add(version.view.data_key_wrapping)
        return out

    def _copied(self, record: CommitRecord, path: str, new: Version) -> rollback.Rollback | None:
        """A new file that is (or holds values of) a version some other path had replaced.

        A merge's new file that one of its parents already had was judged on its branch.
        """
        if record.is_merge and new.blob in other_parent_blobs(self.repo, record, path):
            return None
        return self.superseded.detect(new, record.id, self.ancestor)

    def _creation(self, record: CommitRecord, path: str, new: Version) -> Finding | None:
        """Judge who made a new file's data key (see :func:`substitution.judge_creation`)."""
        pol = self.trust(record)
        readers = recipient_names(pol, new.view.recipients)
        if record.id not in self.trusts:
            self.trusts.update(commit_trust(self.repo, [record], self.trust))
        known = [bool(r.email or r.signing_keys) for r in pol.recipients.values()] if pol else []
        identified = "all" if known and all(known) else "some" if any(known) else "none"
        verdict = substitution.judge_creation(
            self.trusts[record.id], readers, identified=identified
        )
        return self._judged(record, path, new, verdict)

    def _substitution(
        self,
        record: CommitRecord,
        path: str,
        prior: Version,
        new: Version,
        claims: VaultTrailers,
        recreated: bool,
    ) -> Finding | None:
        readers = recipient_names(self.trust(record), prior.view.recipients)
        if record.id not in self.trusts:
            self.trusts.update(commit_trust(self.repo, [record], self.trust))
        before = [self.hashes(prior.blob, path)]
        if record.is_merge:
            blobs = [*other_parent_blobs(self.repo, record, path)]
            blobs.append(merge_base_blob(self.repo, record, path))
            before += [self.hashes(b, path) for b in blobs if b is not None]
        proof = substitution.same_values(self.hashes(new.blob, path), before)
        recorded = claims.action in substitution.RECORDED_REKEY_ACTIONS or path in claims.rekeyed
        verdict = substitution.judge(
            self.trusts[record.id],
            readers,
            recorded=recorded,
            recreated=recreated,
            proof=proof,
            merge=record.is_merge,
        )
        return self._judged(record, path, new, verdict)

    def _judged(
        self, record: CommitRecord, path: str, new: Version, verdict: substitution.Verdict | None
    ) -> Finding | None:
        """A substitution verdict as a finding (a problem) or a note; None when clean."""
        if verdict is None:
            return None
        finding = self._finding(
            record,
            path,
            SUBSTITUTION,
            verdict.basis,
            verdict.reason,
            keys=tuple(new.view.leaves),
            writer=self.trusts[record.id].writer,
        )
        if verdict.level == substitution.NOTE:
            self.notes.append(finding)
            return None
        self.add(finding, new)
        return finding

    @staticmethod
    def _finding(
        record: CommitRecord, path: str, kind: str, basis: str, reason: str, **extra: object
    ) -> Finding:
        return Finding(
            kind=kind,
            file=path,
            commit=record.id,
            author=record.author.name,
            author_email=record.author.email,
            time=record.author.time,
            basis=basis,
            reason=reason,
            **extra,  # type: ignore[arg-type]
        )


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
    analyzer = _Analyzer(repo, judge, trusts, parse, decrypt)
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


def _mark_current(analyzer: _Analyzer, rev: str) -> list[Finding]:
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


def _still_carried(analyzer: _Analyzer, finding: Finding, now: Version) -> bool:
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
