"""Substitution: a file re-written under a new data key by someone who may not hold the old.

Anyone with the public keys can write a brand-new valid file; a new data key
is what that looks like, and also what a legitimate re-key looks like. The
verdict uses what can be known, strongest evidence first:

1. **values** — a writer without the old data key cannot produce a new data
   key whose values equal the old ones. When our identity opens the version
   before and after and every value is equal (for a merge: equal to the value
   of one of its parents or of their merge base), the change is a proven
   value-preserving re-key: no finding, whoever wrote it.
2. **writer** — a recorded re-key (``Gitvault-Action: rekey``/``offboard`` or
   ``Gitvault-Rekey: PATH``) by a recipient who could read the file before,
   identified by :mod:`gitvault.trust.authorship` (a good signature, or the
   e-mail of a recipient who has no signing key), is accepted even when the
   values changed (``offboard --rotate`` re-keys and rotates at once). A merge
   counts as recorded: the merge driver picks a fresh data key by itself when a
   side removed a recipient who held the chosen one.
3. Otherwise the change is a **substitution** (a problem), except one case
   that nothing shows to be wrong: a *recorded* re-key by a writer the policy
   does not identify, when no identity here could compare the values. That is
   a **note** ("unverified writer"). A commit that carries the e-mail of a
   recipient who signs, without their signature, is never merely a note.

Never sees a value: equality comes as keyed hashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitvault.trust.authorship import CommitTrust

RECORDED_REKEY_ACTIONS = frozenset({"rekey", "offboard"})
PROBLEM, NOTE = "problem", "note"


@dataclass(frozen=True)
class Verdict:
    level: str  # problem | note
    basis: str  # unrecorded | non-recipient | unknown-writer | unverified-writer
    reason: str  # one line, names and commit ids only


def same_values(
    after: Mapping[str, bytes] | None, before: Sequence[Mapping[str, bytes] | None]
) -> bool | None:
    """Whether every value after equals a value of the same key before (None: cannot tell).

    ``before`` holds the version replaced (for a merge: every parent's version
    and the merge base's); ``None`` entries could not be opened.
    """
    if not after:
        return None  # nothing to compare, or not readable by us
    readable = [b for b in before if b is not None]
    if not readable:
        return None
    for key, digest in after.items():
        if not any(b.get(key) == digest for b in readable):
            return None if len(readable) < len(before) else False
    return True


def judge(
    trust: CommitTrust,
    readers: Sequence[str],
    *,
    recorded: bool,
    recreated: bool,
    proof: bool | None,
    merge: bool = False,
) -> Verdict | None:
    """The verdict on one data-key change (None: nothing to report)."""
    if proof is True:
        return None
    writer = trust.writer
    recorded = recorded or merge
    if recorded and writer is not None and writer in readers:
        return None
    what = "re-created after deletion" if recreated else "new data key"
    record_note = (
        "in a merge" if merge else ("a recorded re-key" if recorded else "not a recorded re-key")
    )
    values = ", values changed" if proof is False else ""
    head = f"{what} ({record_note}{values})"
    if trust.claimed is not None:
        return Verdict(
            PROBLEM,
            "unverified-writer",
            f"{head} in a commit carrying the e-mail of {trust.claimed} without a good "
            f"signature by a signing key the policy lists for {trust.claimed}",
        )
    if writer is None and recorded and proof is None:
        return Verdict(
            NOTE,
            "unverified-writer",
            f"{head} by an unverified writer (the policy names no signing key or e-mail "
            "for them, and no identity here could compare the values)",
        )
    if writer is None:
        by = "by a writer the policy does not name (no listed signing key or email)"
        return Verdict(PROBLEM, "unknown-writer", f"{head} {by}")
    if writer not in readers:
        return Verdict(
            PROBLEM, "non-recipient", f"{head} by {writer}, who could not read the file before"
        )
    return Verdict(PROBLEM, "unrecorded", f"{head} by {writer}")


def judge_creation(
    trust: CommitTrust, readers: Sequence[str], *, identified: str
) -> Verdict | None:
    """The verdict on a new vault file: its first data key was made by its writer.

    Whoever creates a file chose its data key, and every value the team later
    writes into it (``set``, ``edit``) is encrypted under that key. So a file
    created by someone who is not one of its readers stays readable by them,
    like a substitution. Nothing can be proven by values here (there is no
    "before"); the writer decides. ``identified`` says how many recipients the
    policy identifies (an e-mail or signing keys): ``all`` — an unidentified
    writer is none of them, a problem; ``some`` — a note ("unverified writer");
    ``none`` — nothing to judge by, nothing reported (every file would carry a
    note forever).
    """
    writer = trust.writer
    if writer is not None and writer in readers:
        return None
    head = "new file (its data key was made by its writer)"
    if trust.claimed is not None:
        return Verdict(
            PROBLEM,
            "unverified-writer",
            f"{head} in a commit carrying the e-mail of {trust.claimed} without a good "
            f"signature by a signing key the policy lists for {trust.claimed}",
        )
    if writer is None:
        if identified == "none":
            return None
        if identified == "some":
            return Verdict(
                NOTE,
                "unverified-writer",
                f"{head} by an unverified writer (the policy names no signing key or e-mail "
                "for them)",
            )
        by = "by a writer the policy does not name (no listed signing key or email)"
        return Verdict(PROBLEM, "unknown-writer", f"{head} {by}")
    return Verdict(PROBLEM, "non-recipient", f"{head} by {writer}, who is not one of its readers")
