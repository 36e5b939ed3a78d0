"""The range's changes: per-key events, vault files base vs head, commits, access.

Built from :func:`gitvault.history.audit.audit` over the changed files'
history (kept for the commits in the range), the files' recipients at the
merge base and at HEAD, and the commits' signatures and trailers. No plaintext.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitvault.git import revrange
from gitvault.git.log import CommitRecord
from gitvault.git.trailers import vault_trailers
from gitvault.history.policies import recipient_names
from gitvault.review import access as access_mod
from gitvault.review.context import Collector, walk_dirs
from gitvault.review.model import AccessChange, CommitSummary, FileSummary, KeyChange

if TYPE_CHECKING:
    from gitvault.history.audit import AuditLog
    from gitvault.history.freshness import CommitTrust


def audit_changed(c: Collector, changed: list[str]) -> AuditLog:
    """The per-key audit of the changed files' history up to HEAD (values only with a key)."""
    from gitvault.history.audit import audit
    from gitvault.history.sources import decryptor_for

    wanted = frozenset(changed)
    return audit(
        c.repo,
        walk_dirs(changed),
        parse=c.parse,
        decrypt=decryptor_for(c.ids) if c.ids is not None else None,
        rev=c.rng.head,
        check_signatures=False,
        include=wanted.__contains__,
    )


def key_changes(log: AuditLog, range_ids: set[str]) -> list[KeyChange]:
    """The audit's per-key events that belong to the range's commits, oldest first."""
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


def file_summaries(c: Collector, changed: list[str], keys: list[KeyChange]) -> list[FileSummary]:
    """Each changed vault file base vs head: status, readers, gained/lost, key counts."""
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


def commit_summaries(
    c: Collector,
    records: list[CommitRecord],
    trusts: dict[str, CommitTrust],
    vault_commits: set[str],
    log: AuditLog | None,
) -> list[CommitSummary]:
    """Each commit of the range with its signature, writer and trailer checks (and findings)."""
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


def access_changes(
    c: Collector, files: list[FileSummary], policy_changed: bool
) -> list[AccessChange]:
    """Read access gained and lost, from the policy (when it changed) and the files' recipients."""
    out: list[AccessChange] = []
    if policy_changed:
        base_files = [
            p
            for p in revrange.list_files(c.repo.root, c.rng.merge_base)
            if c.policies.covers(c.base_pol, p)
        ]
        head_files = c.head_vault_files()
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
