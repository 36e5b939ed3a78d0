"""The per-change checks of the history walk (:mod:`gitvault.trust.freshness`).

:class:`Analyzer` keeps each vault file's versions as history is replayed
oldest first and judges every change: a rollback or a copy of a replaced
version (:mod:`~gitvault.trust.rollback`), a re-tag, and a new data key and
who made it (:mod:`~gitvault.trust.substitution`, with the writer from
:mod:`~gitvault.trust.authorship`). Each blob is parsed once per run; with a
decryptor, values are reduced to keyed hashes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord, FileChange
from gitvault.git.trailers import VaultTrailers
from gitvault.sops.view import ParsedVault
from gitvault.trust import rollback, substitution
from gitvault.trust.authorship import CommitTrust, TrustFn, commit_trust
from gitvault.trust.model import ROLLBACK, SUBSTITUTION, Finding
from gitvault.trust.policies import recipient_names
from gitvault.trust.values import Decryptor, ValueHasher, leaf_ids, mac_id, new_data_key
from gitvault.trust.walk import merge_base_blob, other_parent_blobs

if TYPE_CHECKING:
    from gitvault.git.repo import Repository

Version = rollback.Version


class Analyzer:
    """The history of every vault file so far, and the checks of each change to one.

    Fed oldest change first (:meth:`change`); collects ``findings`` (problems),
    ``notes`` and ``problems`` (versions that could not be read), and what
    :func:`gitvault.trust.freshness.analyze` needs to tell which findings the
    file still carries (``written``, ``data_keys``, ``retagged``).
    """

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
