"""Freshness and authorship of vault files, read from history: what SOPS accepts silently.

A SOPS file proves that its values were not changed by someone without the
data key, nothing more. Two attacks produce perfectly valid files:

* **rollback** — an older version of a file (or of some of its values) is
  committed again: old passwords come back, an offboarded recipient's stanza
  comes back. Detected when a commit's new version equals a version of the
  same file that an *earlier* commit (an ancestor) had replaced: the same blob
  (``content``), the same encrypted MAC (``mac``, the file was re-formatted),
  or encrypted values equal to replaced ciphertexts of the same keys
  (``ciphertext``; ciphertexts are unique, because IVs are random). Weaker: a
  ``lastmodified`` earlier than the version it replaces (``lastmodified``; may
  also be a skewed clock).
* **substitution** — anyone with the public keys can write a brand-new valid
  file. Detected when a commit changes a file's data key (the wrapped data key
  changed *and* every encrypted value's ciphertext changed, or a deleted file
  came back with other content) and the commit is not a recorded re-key
  (``Gitvault-Action: rekey``/``offboard`` or ``Gitvault-Rekey: PATH``), or its
  writer is not a recipient of the file as it was before the change.

The writer of a commit is the recipient whose policy-listed SSH signing key
made a good signature on it (``signature``), else the recipient whose policy
``email`` is the author's or committer's (``email`` — a claim, not evidence).
Each commit is judged by the policy of its first parent (what the repository
trusted before the change; a root commit by its own policy) unless the caller
passes another ``trust`` function (review judges a pull request's commits by
the base's policy).

A finding is ``current`` when the file at the checked revision still carries
what the commit brought: a rolled-back value's ciphertext is still there, or
no trusted change of the data key happened since the substitution.

This module never decrypts and never prints; findings carry paths, key paths,
names and commit ids only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gitvault.errors import GitvaultError
from gitvault.git.log import CommitRecord, FileChange, SignatureState, walk
from gitvault.git.trailers import VaultTrailers, vault_trailers
from gitvault.history.policies import (
    PolicyHistory,
    named_by_email,
    recipient_names,
    signing_entries,
)
from gitvault.history.sources import ParsedVault, parse_for_history

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.policy import Policy

SCHEMA = "gitvault.freshness/v1"
ROLLBACK, SUBSTITUTION = "rollback", "substitution"
RECORDED_REKEY_ACTIONS = frozenset({"rekey", "offboard"})
# Signature states, from the point of view of the policy's signing keys.
VERIFIED, UNSIGNED, FOREIGN, BAD, UNCHECKED = "verified", "unsigned", "foreign", "bad", "unchecked"
_MAC = re.compile(rb"^[ \t]*mac:[ \t]*[\"']?(ENC\[[^\]\n]*\])", re.MULTILINE)

TrustFn = Callable[[CommitRecord], "Policy | None"]


@dataclass(frozen=True)
class CommitTrust:
    """Who made a commit, in the policy's terms, and how sure we are."""

    commit: str
    subject: str
    author: str
    author_email: str
    committer: str
    committer_email: str
    time: int
    signature: str  # verified | unsigned | foreign | bad | unchecked
    status: str  # git's words for %G? ("good", "good, untrusted key", …)
    signer: str | None  # policy name of the signing key (verified only)
    key: str  # signing key fingerprint as git reports it ("" when unsigned)
    writer: str | None  # policy name: the signer, else matched by email
    writer_basis: str | None  # "signature" | "email" | None
    paths: tuple[str, ...] = ()  # vault files (and the policy) the commit changed

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "subject": self.subject,
            "author": self.author,
            "author_email": self.author_email,
            "committer": self.committer,
            "committer_email": self.committer_email,
            "time": self.time,
            "signature": self.signature,
            "status": self.status,
            "signer": self.signer,
            "key": self.key,
            "writer": self.writer,
            "writer_basis": self.writer_basis,
            "paths": list(self.paths),
        }


@dataclass(frozen=True)
class Finding:
    """One rollback or substitution of one file in one commit."""

    kind: str  # rollback | substitution
    file: str
    commit: str
    author: str
    author_email: str
    time: int
    # rollback: content | mac | ciphertext | lastmodified;
    # substitution: unrecorded | non-recipient | unknown-writer
    basis: str
    reason: str  # one line, names and commit ids only
    keys: tuple[str, ...] = ()  # affected key paths
    matches: str | None = None  # rollback: the commit that made the older version
    writer: str | None = None
    current: bool = False  # the file at the checked revision is still affected

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "commit": self.commit,
            "author": self.author,
            "author_email": self.author_email,
            "time": self.time,
            "basis": self.basis,
            "reason": self.reason,
            "keys": list(self.keys),
            "matches": self.matches,
            "writer": self.writer,
            "current": self.current,
        }


@dataclass(frozen=True)
class FreshnessReport:
    """Findings (oldest first) and the trust of every commit that changed a vault file."""

    rev: str
    findings: tuple[Finding, ...]
    commits: tuple[CommitTrust, ...]  # newest first, only those in range
    problems: tuple[str, ...] = ()
    schema: str = SCHEMA

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "rev": self.rev,
            "findings": [f.to_json() for f in self.findings],
            "commits": [c.to_json() for c in self.commits],
            "problems": list(self.problems),
        }


# --- commit trust ------------------------------------------------------------


def classify(state: SignatureState | None, pol: Policy | None) -> tuple[str, str | None]:
    """(signature state in policy terms, signer name) for git's verdict on a commit."""
    if state is None or state.code == "N":
        return UNSIGNED, None
    names = set(pol.recipients) if pol is not None else set()
    if state.code == "G" and state.signer in names and state.key.startswith("SHA256:"):
        return VERIFIED, state.signer
    if state.code in ("G", "U"):
        return FOREIGN, None  # a good signature by a key the policy does not list
    if state.code == "B":
        return BAD, None
    return UNCHECKED, None  # E (cannot check), X/Y (expired), R (revoked)


def commit_trust(
    repo: Repository,
    records: Sequence[CommitRecord],
    trust: TrustFn,
    paths: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, CommitTrust]:
    """The :class:`CommitTrust` of each record, judged by ``trust(record)``'s policy.

    One git process per distinct set of signing keys; only signed commits are
    handed to git.
    """
    from gitvault.git.signing import allowed_signers, verify_signatures

    signed = repo.signed_commits(r.id for r in records)
    policies = {r.id: trust(r) for r in records}
    groups: dict[str, list[str]] = {}
    for r in records:
        if r.id in signed:
            text = allowed_signers(signing_entries(policies[r.id]))
            groups.setdefault(text, []).append(r.id)
    states: dict[str, SignatureState] = {}
    for text, ids in groups.items():
        states.update(verify_signatures(repo.root, ids, text))
    out = {}
    for r in records:
        pol = policies[r.id]
        signature, signer = classify(states.get(r.id), pol)
        state = states.get(r.id)
        writer, basis = (signer, "signature") if signer else (None, None)
        if writer is None and signature != BAD:
            writer = named_by_email(pol, r.author.email, r.committer.email)
            basis = "email" if writer else None
        out[r.id] = CommitTrust(
            commit=r.id,
            subject=r.subject,
            author=r.author.name,
            author_email=r.author.email,
            committer=r.committer.name,
            committer_email=r.committer.email,
            time=r.author.time,
            signature=signature,
            status=state.status if state else "unsigned",
            signer=signer,
            key=state.key if state else "",
            writer=writer,
            writer_basis=basis,
            paths=(paths or {}).get(r.id, tuple(c.path for c in r.changes)),
        )
    return out


def parent_policy(policies: PolicyHistory) -> TrustFn:
    """Judge a commit by the policy of its first parent (its own when it has none)."""

    def trust(record: CommitRecord) -> Policy | None:
        if record.parents:
            pol = policies.at(record.parents[0])
            if pol is not None or policies.blob_at(record.parents[0]) is not None:
                return pol
        return policies.at(record.id)

    return trust


# --- per-file history ----------------------------------------------------------


def _is_encrypted(text: str) -> bool:
    return text.startswith("ENC[") and text.endswith("]")


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class _Version:
    blob: str
    commit: str  # first commit seen with this content
    view: ParsedVault
    mac: str | None
    replaced_at: list[str] = field(default_factory=list)


@dataclass
class _FileState:
    by_blob: dict[str, _Version] = field(default_factory=dict)
    by_mac: dict[str, _Version] = field(default_factory=dict)
    # key -> ciphertext -> commits that replaced it
    replaced_texts: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    deleted: _Version | None = None  # the last version, when the file is deleted
    # (commit, finding or None) for every change of the data key, in history order
    data_keys: list[tuple[str, Finding | None]] = field(default_factory=list)


class _Analyzer:
    def __init__(
        self,
        repo: Repository,
        policies: PolicyHistory,
        trust: TrustFn,
        trusts: dict[str, CommitTrust],
        parse: Callable[[bytes, str], ParsedVault] = parse_for_history,
    ) -> None:
        self.parse = parse
        self.repo = repo
        self.policies = policies
        self.trust = trust
        self.trusts = trusts  # filled lazily: signatures are checked only where needed
        self.files: dict[str, _FileState] = {}
        self.findings: list[Finding] = []
        self.written: dict[int, ParsedVault] = {}  # id(finding) -> the version it wrote
        self.problems: list[str] = []
        self._views: dict[str, ParsedVault | None] = {}
        self._macs: dict[str, str | None] = {}
        self._ancestry: dict[tuple[str, str], bool] = {}

    def add(self, finding: Finding, written: ParsedVault) -> None:
        self.findings.append(finding)
        self.written[id(finding)] = written

    def view(self, blob: str | None, path: str, commit: str) -> ParsedVault | None:
        if blob is None:
            return None
        if blob not in self._views:
            try:
                data = self.repo.read_blob(blob)
                self._views[blob] = self.parse(data, path)
                found = _MAC.findall(data)
                self._macs[blob] = found[-1].decode("ascii", "replace") if found else None
            except GitvaultError as exc:
                self._views[blob] = None
                self.problems.append(f"{path} at {commit[:12]}: {exc.message}")
        return self._views[blob]

    def ancestor(self, older: Iterable[str], commit: str) -> bool:
        from gitvault.git.revrange import is_ancestor

        for a in older:
            pair = (a, commit)
            if pair not in self._ancestry:
                self._ancestry[pair] = is_ancestor(self.repo.root, a, commit)
            if self._ancestry[pair]:
                return True
        return False

    def version(self, state: _FileState, blob: str, path: str, commit: str) -> _Version | None:
        known = state.by_blob.get(blob)
        if known is not None:
            return known
        view = self.view(blob, path, commit)
        if view is None:
            return None
        version = _Version(blob, commit, view, self._macs.get(blob))
        state.by_blob[blob] = version
        if version.mac:
            state.by_mac.setdefault(version.mac, version)
        return version

    # --- one change ----------------------------------------------------------

    def change(self, record: CommitRecord, change: FileChange, claims: VaultTrailers) -> None:
        path = change.path
        state = self.files.setdefault(path, _FileState())
        old = (
            self.version(state, change.old_blob, path, record.parents[0] if record.parents else "")
            if change.old_blob
            else None
        )
        if change.new_blob is None:
            if old is not None:
                self._replaced(state, old, None, record.id)
                state.deleted = old
            return
        fresh = change.new_blob not in state.by_blob
        new_view = self.view(change.new_blob, path, record.id)
        if new_view is None:
            if old is not None:
                self._replaced(state, old, None, record.id)
            return
        prior = old
        recreated = False
        deleted = state.deleted
        if old is None and deleted is not None and self.ancestor(deleted.replaced_at, record.id):
            prior, recreated = deleted, True
        rolled = self._rollback(record, path, state, prior, change.new_blob, new_view, fresh)
        if prior is not None and _new_data_key(prior.view, new_view):
            # A rollback brings back an older data key: the rollback finding covers it.
            finding = None
            if rolled is None:
                finding = self._substitution(record, path, prior, new_view, claims, recreated)
            state.data_keys.append((record.id, finding))
        elif prior is None:
            state.data_keys.append((record.id, None))  # a new file: its first data key
        if old is not None:
            self._replaced(state, old, new_view, record.id)
        state.deleted = None
        self.version(state, change.new_blob, path, record.id)

    def _replaced(
        self, state: _FileState, old: _Version, new: ParsedVault | None, commit: str
    ) -> None:
        old.replaced_at.append(commit)
        after = new.leaves if new is not None else {}
        for key, text in old.view.leaves.items():
            if _is_encrypted(text) and after.get(key) != text:
                state.replaced_texts.setdefault(key, {}).setdefault(text, []).append(commit)

    def _rollback(
        self,
        record: CommitRecord,
        path: str,
        state: _FileState,
        prior: _Version | None,
        blob: str,
        new: ParsedVault,
        fresh: bool,
    ) -> Finding | None:
        before = prior.view.leaves if prior is not None else {}
        differing = tuple(
            k for k, v in new.leaves.items() if _is_encrypted(v) and before.get(k) != v
        )
        basis, matched, keys = None, None, differing
        same = state.by_blob.get(blob)
        if not fresh and same is not None and self.ancestor(same.replaced_at, record.id):
            basis, matched = "content", same
        mac = self._macs.get(blob)
        if basis is None and mac and mac in state.by_mac:
            other = state.by_mac[mac]
            if other.blob != blob and self.ancestor(other.replaced_at, record.id):
                basis, matched = "mac", other
        if basis is None:
            reverted = []
            for key in differing:
                replaced = state.replaced_texts.get(key, {}).get(new.leaves[key])
                if replaced and self.ancestor(replaced, record.id):
                    reverted.append(key)
            if reverted:
                basis, keys = "ciphertext", tuple(reverted)
        if basis is None and prior is not None:
            then, now = _when(prior.view.lastmodified), _when(new.lastmodified)
            if then is not None and now is not None and now < then:
                basis, keys = "lastmodified", ()
        if basis is None:
            return None
        if basis == "content" and matched is not None:
            reason = f"re-commits the version of {path} from {matched.commit[:12]}"
        elif basis == "mac" and matched is not None:
            reason = f"carries the MAC of the version of {path} from {matched.commit[:12]}"
        elif basis == "ciphertext":
            reason = f"brings back replaced ciphertext of {len(keys)} key(s)"
        else:
            reason = "lastmodified goes back in time (a rolled-back file, or a skewed clock)"
        finding = Finding(
            kind=ROLLBACK,
            file=path,
            commit=record.id,
            author=record.author.name,
            author_email=record.author.email,
            time=record.author.time,
            basis=basis,
            reason=reason,
            keys=keys,
            matches=matched.commit if matched is not None else None,
        )
        self.add(finding, new)
        return finding

    def _substitution(
        self,
        record: CommitRecord,
        path: str,
        prior: _Version,
        new: ParsedVault,
        claims: VaultTrailers,
        recreated: bool,
    ) -> Finding | None:
        pol = self.trust(record)
        readers = recipient_names(pol, prior.view.recipients)
        if record.id not in self.trusts:
            self.trusts.update(commit_trust(self.repo, [record], self.trust))
        writer = self.trusts[record.id].writer
        recorded = claims.action in RECORDED_REKEY_ACTIONS or path in claims.rekeyed
        if recorded and writer is not None and writer in readers:
            return None
        what = "re-created after deletion" if recreated else "new data key"
        if writer is None:
            basis = "unknown-writer"
            by = "by a writer the policy does not name (no listed signing key or email)"
        elif writer not in readers:
            basis = "non-recipient"
            by = f"by {writer}, who could not read the file before"
        else:
            basis = "unrecorded"
            by = f"by {writer}"
        record_note = "a recorded re-key" if recorded else "not a recorded re-key"
        finding = Finding(
            kind=SUBSTITUTION,
            file=path,
            commit=record.id,
            author=record.author.name,
            author_email=record.author.email,
            time=record.author.time,
            basis=basis,
            reason=f"{what} ({record_note}) {by}",
            keys=tuple(new.leaves),
            writer=writer,
        )
        self.add(finding, new)
        return finding


def _new_data_key(old: ParsedVault, new: ParsedVault) -> bool:
    """Whether ``new`` looks written under a different data key than ``old``.

    The wrapped key changed (any re-wrap changes it: age is randomised) *and*
    every encrypted value present on both sides changed (under one data key,
    minimal re-encryption keeps unchanged values' ciphertext). With no
    encrypted key in common, a changed wrapping counts as a new key.
    """
    if old.data_key_wrapping == new.data_key_wrapping:
        return False
    before = {k: v for k, v in old.leaves.items() if _is_encrypted(v)}
    after = {k: v for k, v in new.leaves.items() if _is_encrypted(v)}
    common = [k for k in after if k in before]
    if common:
        return all(after[k] != before[k] for k in common)
    return bool(after)


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
) -> FreshnessReport:
    """Rollbacks, substitutions and commit trust for the vault files ``include`` accepts.

    ``paths`` are the pathspecs to walk (directories or files; empty: the whole
    tree); all history up to ``rev`` is read, because a rollback is judged
    against every older version. ``since`` limits what is *reported* to the
    commits in ``since..rev``. With ``signatures`` the report lists the trust
    of every reported commit (one signature check per signed commit);
    without, signatures are checked only for the commits that changed a data
    key. ``known`` passes trust already computed by the caller; ``parse``
    lets a caller share its parsed versions (each blob parsed once per run).
    """
    from gitvault.git.revrange import rev_list

    repo.require_history()
    policy_path = policies.path
    specs = [*paths, policy_path] if paths else []
    records = []
    for record in walk(repo.root, specs, rev=rev):
        changes = tuple(c for c in record.changes if c.path == policy_path or include(c.path))
        if changes:
            records.append(record if changes == record.changes else _with(record, changes))
    in_range = set(rev_list(repo.root, f"{since}..{rev}")) if since else None
    judge = trust or parent_policy(policies)
    trusts = dict(known or {})
    reported = [r for r in records if in_range is None or r.id in in_range]
    if signatures:
        trusts.update(commit_trust(repo, [r for r in reported if r.id not in trusts], judge))
    analyzer = _Analyzer(repo, policies, judge, trusts, parse)
    for record in reversed(records):  # oldest first
        claims = vault_trailers(record.trailers)
        for change in record.changes:
            if change.path != policy_path:
                analyzer.change(record, change, claims)
    findings = _mark_current(analyzer, rev)
    if in_range is not None:
        findings = [f for f in findings if f.commit in in_range]
    commits = tuple(trusts[r.id] for r in reported) if signatures else ()
    problems = tuple(dict.fromkeys([*policies.problems, *analyzer.problems]))
    return FreshnessReport(rev, tuple(findings), commits, problems)


def _with(record: CommitRecord, changes: tuple[FileChange, ...]) -> CommitRecord:
    from dataclasses import replace

    return replace(record, changes=changes)


def _mark_current(analyzer: _Analyzer, rev: str) -> list[Finding]:
    """Set ``current`` on findings whose effect the file at ``rev`` still carries."""
    from dataclasses import replace

    current_views: dict[str, ParsedVault | None] = {}
    for path in analyzer.files:
        blob = analyzer.repo.blob_id_at(rev, path)
        current_views[path] = analyzer.view(blob, path, rev) if blob else None
    out = []
    for finding in analyzer.findings:
        now = current_views.get(finding.file)
        state = analyzer.files[finding.file]
        is_current = False
        if now is not None and finding.kind == ROLLBACK:
            written = analyzer.written[id(finding)]
            if finding.keys:
                is_current = any(now.leaves.get(k) == written.leaves.get(k) for k in finding.keys)
            else:
                is_current = now == written
        elif now is not None and finding.kind == SUBSTITUTION:
            last = state.data_keys[-1] if state.data_keys else None
            is_current = last is not None and last[1] is finding
        out.append(replace(finding, current=is_current) if is_current else finding)
    return out
