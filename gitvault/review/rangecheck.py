"""The range judged as a whole, base against head, by the policy the reviewer trusts.

Commit-by-commit analysis misses what a merge commit does when its result
equals one of its parents (git shows no change for it): a pull request can
merge an old side branch and keep its old copy of a vault file. Here every
vault file whose content differs between the merge base and HEAD is compared
with the versions of that file the base's history had replaced: HEAD holding
one of them is a ``rollback``.

A version is identified by its encrypted MAC, decoded (IV, tag and
ciphertext bytes), not by its text: re-quoting or re-wrapping a file, or
re-spelling its base64, leaves the version what it was, and no one without
the data key can write a MAC that opens to the right value.

Policy changes are findings for the reviewer (``policy``); the range is
judged by the base's policy, so a scan exclude the range adds is reported
but not applied.
"""

from __future__ import annotations

import binascii
import re

from gitvault.git.log import walk
from gitvault.review.context import Collector
from gitvault.review.model import PolicyChange

_MAC = re.compile(
    rb"^[ \t]*mac:[ \t]*[\"']?ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),"
    rb"tag:([A-Za-z0-9+/=]+),type:str\]",
    re.MULTILINE,
)


def version_id(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The decoded encrypted MAC of a vault file's bytes (None when it has none)."""
    m = _MAC.search(data)
    if m is None:
        return None
    try:
        return tuple(binascii.a2b_base64(part) for part in m.groups())  # type: ignore[return-value]
    except binascii.Error:
        return None


def restored_versions(c: Collector, changed: list[str], known: set[str]) -> None:
    """Add a ``rollback`` finding for each file HEAD takes back to a version the base replaced.

    ``known`` are files that already have a current rollback finding (from the
    commit-by-commit analysis): they are not reported twice.
    """
    candidates: dict[str, tuple[bytes, bytes, bytes]] = {}
    for path in changed:
        if path in known:
            continue
        base_blob = c.repo.blob_id_at(c.rng.merge_base, path)
        head_blob = c.repo.blob_id_at(c.rng.head, path)
        if head_blob is None or head_blob == base_blob:
            continue
        head_id = version_id(c.repo.read_blob(head_blob))
        if head_id is None:
            continue
        if base_blob is not None and version_id(c.repo.read_blob(base_blob)) == head_id:
            continue  # the base's own version, re-spelled: not new, not old
        candidates[path] = head_id
    if not candidates:
        return
    seen: set[str] = set()
    # One walk over the base's history of just these files (newest first).
    for record in walk(c.repo.root, sorted(candidates), rev=c.rng.merge_base):
        for change in record.changes:
            want = candidates.get(change.path)
            if want is None or change.new_blob is None or change.new_blob in seen:
                continue
            seen.add(change.new_blob)
            if version_id(c.repo.read_blob(change.new_blob)) != want:
                continue
            c.find(
                "rollback",
                f"{change.path}: {c.rng.head_name} restores the version written in "
                f"{record.id[:12]}, which {c.rng.base_name} has since replaced",
                file=change.path,
                commit=c.rng.head,
            )
            del candidates[change.path]
        if not candidates:
            break


def policy_findings(c: Collector, changes: list[PolicyChange]) -> None:
    """Every policy change the range makes, as a ``policy`` finding; scan excludes too."""
    for change in changes:
        detail = f" ({change.detail})" if change.detail else ""
        c.find("policy", f"{c.policies.path}: {change.what} {change.subject}{detail}")
    base, head = c.base_pol, c.head_pol
    if base is None or head is None:
        return
    added = [e for e in head.scan_exclude if e not in base.scan_exclude]
    removed = [e for e in base.scan_exclude if e not in head.scan_exclude]
    if added:
        c.find(
            "policy",
            f"{c.policies.path}: scan.exclude gains {', '.join(_printable(e) for e in added)} "
            "(not applied to this review: the base's excludes are)",
        )
    if removed:
        c.find(
            "policy",
            f"{c.policies.path}: scan.exclude drops {', '.join(_printable(e) for e in removed)}",
        )


def _printable(text: str) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= 80 else clean[:79] + "…"
