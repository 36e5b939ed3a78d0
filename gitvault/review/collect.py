"""Build a :class:`~gitvault.review.model.Review` of a range from git alone.

What is read, and from where (no plaintext, no identity needed):

* the range (:func:`gitvault.git.revrange.resolve_range`): commits are
  ``BASE..HEAD``; states are compared between the merge base and HEAD;
* the policy at both ends, from git (not the work tree);
* the vault files the range changed — files a rule covers at either end — at
  both ends, parsed without a key (recipients from ``sops.age``);
* per-key events and trailer checks from :func:`gitvault.history.audit.audit`
  over the changed files' whole history, kept for the commits in the range;
  the same audit gives rotation ages at HEAD (:func:`last_changes`, :mod:`due`);
* signatures of the range's commits against the signing keys of the policy at
  the merge base (what the reviewer already trusts; when the base has no
  policy, each commit's parent's), and freshness
  (:func:`gitvault.history.freshness.analyze`) judged the same way;
* leaks: :func:`gitvault.scan.scan_history` over the range.

With identities, the changed files at HEAD also get ``verify``'s MAC and schema
checks, re-keys are told from rotations by value, and the scanner looks for the
vault's own values (held in memory for the scan only, never reported).

Never prints, never writes, never returns a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import BadInput, GitvaultError
from gitvault.git import revrange
from gitvault.git.log import CommitRecord, walk
from gitvault.git.repo import Repository
from gitvault.git.trailers import vault_trailers
from gitvault.history.policies import POLICY_FILE, PolicyHistory, recipient_names
from gitvault.history.sources import ParsedVault, parse_for_history
from gitvault.review import access as access_mod
from gitvault.review.model import (
    AccessChange,
    CommitSummary,
    FileCheck,
    FileSummary,
    Finding,
    FreshnessNote,
    KeyAge,
    KeyChange,
    Leak,
    Review,
)

if TYPE_CHECKING:
    from gitvault.history.audit import AuditLog
    from gitvault.history.freshness import CommitTrust
    from gitvault.identities import Identities
    from gitvault.policy import Policy


def _prefix(repo: Repository, cwd: Path) -> str:
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


class _Collector:
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

    # --- helpers -------------------------------------------------------------

    def covered(self, path: str) -> bool:
        return self.policies.covers(self.head_pol, path) or self.policies.covers(
            self.base_pol, path
        )

    def view(self, commit: str, path: str) -> tuple[str | None, ParsedVault | None]:
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

    # --- trust ---------------------------------------------------------------

    def trust_fn(self, range_ids: set[str]) -> Callable[[CommitRecord], Policy | None]:
        from gitvault.history.freshness import parent_policy

        by_parent = parent_policy(self.policies)
        base = self.base_pol

        def trust(record: CommitRecord) -> Policy | None:
            if record.id in range_ids and base is not None:
                return base
            return by_parent(record)

        return trust


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
    policies = PolicyHistory(repo, _prefix(repo, cwd))
    now = now or datetime.now(tz=UTC)
    c = _Collector(repo, rng, policies, identities, now)
    if c.base_pol is None and c.head_pol is None:
        raise BadInput(
            f"no valid {POLICY_FILE} at either end of the range",
            hint="run `gitvault init` and commit the policy",
        )
    records = walk(repo.root, [], rev=rng.spec)
    range_ids = {r.id for r in records}
    changed = list(
        dict.fromkeys(ch.path for r in reversed(records) for ch in r.changes if c.covered(ch.path))
    )
    policy_changed = any(ch.path == policies.path for r in records for ch in r.changes)
    vault_commits = {
        r.id
        for r in records
        if any(ch.path == policies.path or c.covered(ch.path) for ch in r.changes)
    }
    trust = c.trust_fn(range_ids)
    trusts = commit_trust(repo, records, trust)

    log = _audit(c, changed) if changed else None
    keys = _key_changes(log, range_ids) if log is not None else []
    files = _files(c, changed, keys)
    commits = _commits(c, records, trusts, vault_commits, log)
    policy = access_mod.policy_changes(c.base_pol, c.head_pol) if policy_changed else []
    access = _access(c, files, policy_changed)
    freshness = _freshness(c, changed, trust, trusts, range_ids) if changed else []
    ages = _ages(c, changed, log) if log is not None else []
    # A policy change can make any file's recipients wrong: then check every vault file.
    checked = _head_vault_files(c) if policy_changed else changed
    checks = _checks(c, checked)
    leaks = _leaks(c, changed) if scan else []
    for change in policy:
        if change.expansion and change.what in ("signing-keys", "email", "recipient-key"):
            c.find("access-expansion", f"{change.subject}: {change.what} {change.detail}")
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
    "substitution",
    "rollback",
    "access-expansion",
    "bad-signature",
    "unsigned",
    "recipients",
    "mac",
    "schema",
    "trailer-mismatch",
    "overdue",
)


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    return sorted(findings, key=lambda f: rank.get(f.kind, len(rank)))


def _walk_dirs(paths: Sequence[str]) -> list[str]:
    dirs = sorted({p.rpartition("/")[0] for p in paths})
    return [] if "" in dirs else dirs


def _audit(c: _Collector, changed: list[str]) -> AuditLog:
    from gitvault.history.audit import audit
    from gitvault.history.sources import decryptor_for

    wanted = frozenset(changed)
    return audit(
        c.repo,
        _walk_dirs(changed),
        parse=c.parse,
        decrypt=decryptor_for(c.ids) if c.ids is not None else None,
        rev=c.rng.head,
        check_signatures=False,
        include=wanted.__contains__,
    )


def _key_changes(log: AuditLog, range_ids: set[str]) -> list[KeyChange]:
    out = []
    for e in reversed(log.events):  # oldest first
        if e.commit not in range_ids or e.key is None:
            continue
        out.append(
            KeyChange(
                file=e.file,
                key=e.key,
                change=e.kind,
                commit=e.commit,
                author=e.author,
                time=e.time,
                value_changed=e.value_changed,
                basis=e.basis,
                encrypted=e.encrypted,
            )
        )
    return out


def _files(c: _Collector, changed: list[str], keys: list[KeyChange]) -> list[FileSummary]:
    from gitvault.policy import normalize_key

    out = []
    for path in changed:
        base_blob, before = c.view(c.rng.merge_base, path)
        head_blob, after = c.view(c.rng.head, path)
        if base_blob is None and head_blob is None:
            continue  # added and removed again inside the range
        status = (
            "added"
            if base_blob is None
            else "removed"
            if head_blob is None
            else "modified"
            if base_blob != head_blob
            else "unchanged"
        )
        old = before.recipients if before is not None else ()
        new = after.recipients if after is not None else ()
        old_norm = {normalize_key(k) for k in old}
        new_norm = {normalize_key(k) for k in new}
        gained = recipient_names(
            c.head_pol, tuple(k for k in new if normalize_key(k) not in old_norm)
        )
        lost = recipient_names(
            c.base_pol, tuple(k for k in old if normalize_key(k) not in new_norm)
        )
        mine = [k for k in keys if k.file == path]
        summary = FileSummary(
            path=path,
            status=status,
            readers_base=recipient_names(c.base_pol, old),
            readers_head=recipient_names(c.head_pol, new),
            gained=gained if status == "modified" or status == "unchanged" else (),
            lost=lost if status == "modified" or status == "unchanged" else (),
            keys_added=sum(1 for k in mine if k.change == "added"),
            keys_rotated=sum(1 for k in mine if k.change == "rotated"),
            keys_removed=sum(1 for k in mine if k.change == "removed"),
            keys_rekeyed=sum(1 for k in mine if k.change == "rekeyed"),
        )
        out.append(summary)
        for name in summary.gained:
            c.find(
                "access-expansion",
                f"{path} is now encrypted to {name}, who could not read it at the base",
                file=path,
            )
    return out


def _commits(
    c: _Collector,
    records: list[CommitRecord],
    trusts: dict[str, CommitTrust],
    vault_commits: set[str],
    log: AuditLog | None,
) -> list[CommitSummary]:
    audited = {a.commit: a for a in log.commits} if log is not None else {}
    out = []
    for r in records:
        t = trusts[r.id]
        a = audited.get(r.id)
        claims = a.claims if a is not None else vault_trailers(r.trailers)
        problems = a.problems if a is not None else ()
        agree = a.trailers_agree if a is not None else (None if not claims.is_gitvault else True)
        vault = r.id in vault_commits
        out.append(
            CommitSummary(
                commit=r.id,
                subject=r.subject,
                author=r.author.name,
                author_email=r.author.email,
                time=r.author.time,
                signature=t.signature,
                signer=t.signer,
                key=t.key,
                writer=t.writer,
                writer_basis=t.writer_basis,
                vault=vault,
                action=claims.action,
                trailers_agree=agree,
                problems=tuple(problems),
            )
        )
        short = r.id[:12]
        if vault and t.signature == "unsigned":
            c.find("unsigned", f"{short} changes the vault and is not signed", commit=r.id)
        elif vault and t.signature != "verified":
            c.find(
                "bad-signature",
                f"{short}: {_signature_words(t.signature, t.status)}",
                commit=r.id,
            )
        for problem in problems:
            c.find("trailer-mismatch", f"{short}: {problem}", commit=r.id)
    return out


def _signature_words(state: str, status: str) -> str:
    if state == "foreign":
        return "signed by a key the policy does not list"
    if state == "bad":
        return "the signature does not verify"
    return f"the signature cannot be checked ({status})"


def _access(c: _Collector, files: list[FileSummary], policy_changed: bool) -> list[AccessChange]:
    out: list[AccessChange] = []
    if policy_changed:
        base_files = [
            p
            for p in revrange.list_files(c.repo.root, c.rng.merge_base)
            if c.policies.covers(c.base_pol, p)
        ]
        head_files = _head_vault_files(c)
        out += access_mod.access_changes(c.policies, c.base_pol, c.head_pol, base_files, head_files)
    for f in files:
        out += [AccessChange(n, "gained", f.path, "file", (f.path,)) for n in f.gained]
        out += [AccessChange(n, "lost", f.path, "file", (f.path,)) for n in f.lost]
    for a in out:
        if a.change == "gained" and a.source == "policy":
            count = f"{len(a.files)} file(s) now" if a.files else "no file yet"
            c.find(
                "access-expansion",
                f"{a.name} gains read access to {a.scope} ({count})",
                file=a.files[0] if len(a.files) == 1 else None,
            )
    return out


def _freshness(
    c: _Collector,
    changed: list[str],
    trust: Callable[[CommitRecord], Policy | None],
    trusts: dict[str, CommitTrust],
    range_ids: set[str],
) -> list[FreshnessNote]:
    from gitvault.history.freshness import analyze

    wanted = frozenset(changed)
    report = analyze(
        c.repo,
        paths=_walk_dirs(changed),
        include=wanted.__contains__,
        policies=c.policies,
        rev=c.rng.head,
        since=c.rng.base,
        trust=trust,
        signatures=False,
        known=trusts,
        parse=c.parse,
    )
    c.problems.extend(report.problems)
    out = []
    for f in report.findings:
        if f.commit not in range_ids:
            continue
        out.append(
            FreshnessNote(
                kind=f.kind,
                file=f.file,
                commit=f.commit,
                author=f.author,
                basis=f.basis,
                reason=f.reason,
                keys=f.keys,
                writer=f.writer,
                current=f.current,
            )
        )
        c.find(f.kind, f"{f.file} in {f.commit[:12]}: {f.reason}", file=f.file, commit=f.commit)
    return out


def _ages(c: _Collector, changed: list[str], log: AuditLog) -> list[KeyAge]:
    from gitvault.history.audit import last_changes
    from gitvault.history.due import due_report
    from gitvault.history.schedule import key_settings, seconds

    last = last_changes(log)
    out: list[KeyAge] = []
    periods = []
    plain: list[tuple[str, str]] = []
    for path in changed:
        _blob, view = c.view(c.rng.head, path)
        if view is None:
            continue
        rule = c.policies.rule(c.head_pol, path)
        for key in view.leaves:
            period = key_settings(rule, key).rotate_after if rule is not None else None
            if period:
                try:
                    periods.append((path, key, seconds(period)))
                    continue
                except GitvaultError:
                    pass
            plain.append((path, key))
    report = due_report(c.now, periods, last, within=timedelta(days=7))
    for item in report.items:
        out.append(
            KeyAge(
                file=item.file,
                key=item.key,
                last_change=int(item.last_change.timestamp()) if item.last_change else None,
                age_seconds=int(item.age.total_seconds()) if item.age is not None else None,
                period_seconds=int(item.period.total_seconds()),
                status=item.status,
            )
        )
        if item.status == "overdue":
            c.find(
                "overdue",
                f"{item.file}:{item.key} is overdue for rotation",
                file=item.file,
                key=item.key,
            )
    now = int(c.now.timestamp())
    for path, key in plain:
        when = last.get((path, key))
        out.append(
            KeyAge(path, key, when, now - when if when is not None else None, None, "no-period")
        )
    return out


def _head_vault_files(c: _Collector) -> list[str]:
    files = revrange.list_files(c.repo.root, c.rng.head)
    return [p for p in files if c.policies.covers(c.head_pol, p)]


def _checks(c: _Collector, changed: list[str]) -> list[FileCheck]:
    from gitvault.verify import check_file

    out: list[FileCheck] = []
    pol = c.head_pol
    if pol is None:
        return out
    for path in changed:
        rel = c.policies.rel(path)
        if rel is None or pol.rule_for(rel) is None:
            continue
        blob = c.repo.blob_id_at(c.rng.head, path)
        if blob is None:
            continue
        report = check_file(pol, rel, c.repo.read_blob(blob), c.ids)
        out.append(FileCheck(path, dict(report.checks), tuple(report.problems)))
        structure = report.checks.get("structure")
        for problem in report.problems:
            if structure != "ok":
                kind = "plaintext"
            elif report.checks.get("mac") == "failed":
                kind = "mac"
            elif report.checks.get("schema") == "failed":
                kind = "schema"
            else:
                kind = "recipients"
            c.find(kind, f"{path}: {problem}", file=path)
    return out


def _leaks(c: _Collector, changed: list[str]) -> list[Leak]:
    from gitvault.scan import ScanOptions, scan_history

    pol = c.head_pol or c.base_pol
    excludes = tuple(pol.scan_exclude) if pol is not None else ()
    prefix = c.policies.prefix
    options = ScanOptions(
        excludes=tuple(prefix + e for e in excludes) if prefix else excludes,
        known_values=_known_values(c),
        check_file_names=True,
    )
    result = scan_history(c.repo.root, [c.rng.spec], options)
    out = []
    for f in result.findings:
        out.append(
            Leak(
                rule=f.rule,
                description=f.description,
                path=f.path,
                line=f.line,
                commit=f.commit,
                fingerprint=f.fingerprint,
                key_path=f.key_path,
            )
        )
        where = f"{f.path}:{f.line}" if f.line else f.path
        c.find("leak", f"{where}: {f.description}", file=f.path, commit=f.commit)
    return out


def _known_values(c: _Collector) -> tuple[tuple[str, str], ...]:
    """Values of the vault files at HEAD the identities can read, for the scanner only."""
    if c.ids is None or c.head_pol is None:
        return ()
    from gitvault.history.sources import decryptor_for

    decrypt = decryptor_for(c.ids)
    pairs: list[tuple[str, str]] = []
    for path in revrange.list_files(c.repo.root, c.rng.head):
        if not c.policies.covers(c.head_pol, path):
            continue
        try:
            values = decrypt(c.repo.read_file(c.rng.head, path), path)
        except GitvaultError:
            continue
        pairs += [
            (f"{path}:{k}", v) for k, v in values.items() if isinstance(v, str) and len(v) >= 6
        ]
    return tuple(pairs)
