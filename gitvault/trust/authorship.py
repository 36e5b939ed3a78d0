"""Who wrote a commit, in the policy's terms: signature first, e-mail only for non-signers.

A commit's author and committer e-mails are whatever its maker typed; a good
signature by a key the policy lists is evidence. So:

* a good signature by a signing key the policy lists names its recipient
  (``writer_basis: "signature"``);
* otherwise, a recipient whose policy ``email`` is the author's or committer's
  is the writer by e-mail (``"email"``, a claim) — but only when the policy
  lists **no** signing key for that recipient. A recipient with signing keys
  is only ever identified by a good signature from one of them: an unsigned
  commit carrying their e-mail is reported with ``claimed`` set to their name
  and no writer (unverified, possibly forged);
* a bad signature ignores the e-mail too.

Each commit is judged by the policy of its first parent (what the repository
trusted before the change; a root commit by its own policy) unless the caller
passes another ``trust`` function (review judges a pull request's commits by
the base's policy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitvault.git.log import CommitRecord, SignatureState
from gitvault.trust.policies import PolicyHistory, named_by_email, signing_entries

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.policy import Policy

# Signature states, from the point of view of the policy's signing keys.
VERIFIED, UNSIGNED, FOREIGN, BAD, UNCHECKED = "verified", "unsigned", "foreign", "bad", "unchecked"

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
    # A signing recipient whose e-mail the commit carries without their signature.
    claimed: str | None = None

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
            "claimed": self.claimed,
            "paths": list(self.paths),
        }


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


def identify(
    pol: Policy | None, signature: str, signer: str | None, *emails: str
) -> tuple[str | None, str | None, str | None]:
    """(writer, basis, claimed) — signature first; an e-mail only for those who do not sign."""
    if signer is not None:
        return signer, "signature", None
    if signature == BAD or pol is None:
        return None, None, None
    name = named_by_email(pol, *emails)
    if name is None:
        return None, None, None
    if pol.recipients[name].signing_keys:
        return None, None, name  # they sign their commits: the e-mail alone proves nothing
    return name, "email", None


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
        state = states.get(r.id)
        signature, signer = classify(state, pol)
        writer, basis, claimed = identify(pol, signature, signer, r.author.email, r.committer.email)
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
            claimed=claimed,
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
