"""The merge driver's core: merge three versions of a vault file per key, under the policy.

All three versions are decrypted (MAC verified), merged per key
(:mod:`gitvault.drivers.treemerge`) and re-encrypted: values that did not
change keep their exact ciphertext (the IVs are reused, as sops does), and the
MAC is new.

Trust. The merge commit skips the pre-commit hook, and theirs may come from a
key-less writer, so nothing a side's file says about *who reads it* is used:

- **Readers come from committed policy only**: the rule of the policy committed
  at ``HEAD`` (the branch being merged into), minus anyone the rule of the
  policy committed at the commit being merged no longer names (so a merge
  never undoes an offboarding). Nobody is ever added by a side: a reader added
  on theirs gets access when someone runs ``gitvault rekey`` after the merge.
- **Each side must be what its policy says** before anything is unwrapped:
  recipients equal to its rule's (ours: ``HEAD``'s policy; theirs: the
  merged commit's policy, or ``HEAD``'s when git names no such commit), and a
  structure a key-less reader can check (:mod:`gitvault.sops.structure`). A side
  that is not is refused: the merge fails, ours stays as it was.
- **Data key**: ours's when both sides share it, or when only ours re-keyed;
  a fresh one otherwise (theirs's key is never adopted — a key-less writer can
  make a whole file under a key they know), and whenever someone who holds
  ours's key is not a reader of the result. Age stanzas are reused only from
  ours.

On a conflict the result holds every cleanly merged change plus **our** value
of each conflicting key. Returns data, never prints; no value reaches a message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitvault.drivers.treemerge import Conflict, merge_document
from gitvault.errors import AccessDenied, GitvaultError, IntegrityError
from gitvault.model import Mapping
from gitvault.records import replace

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.sops.document import Plain
    from gitvault.sops.file import VaultFile

CLEAN = "clean"
CONFLICT = "conflict"
FALLBACK = "fallback"
REFUSED = "refused"


@dataclass(frozen=True)
class RuleView:
    """What one committed policy's rule says about the merged path."""

    label: str  # "the policy at HEAD"
    recipients: tuple[str, ...]  # public keys, in the policy's order
    selection: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeOutcome:
    """What the merge driver should do: write ``data`` (None: leave ours) and exit."""

    status: str  # CLEAN | CONFLICT | FALLBACK | REFUSED
    data: bytes | None = None
    conflicts: tuple[Conflict, ...] = ()
    message: str = ""  # for FALLBACK: why the per-key merge was not possible
    notes: tuple[str, ...] = ()  # e.g. "merged under a new data key"
    merged: tuple[str, ...] = ()  # keys taken from theirs
    problems: tuple[str, ...] = ()  # for REFUSED: which side breaks its policy, and how

    @property
    def exit_code(self) -> int:
        return 0 if self.status == CLEAN else 1


@dataclass
class _Side:
    label: str
    vault: VaultFile | None
    plain: Plain | None = field(default=None, repr=False)

    @property
    def data_key(self) -> bytes | None:
        return None if self.plain is None else self.plain.data_key

    @property
    def documents(self) -> list[Mapping]:
        return [] if self.plain is None else self.plain.documents


def _parse(data: bytes, label: str, name: str) -> VaultFile | None:
    from gitvault.sops.file import parse_vault

    if not data.strip():
        return None
    return parse_vault(data, f"{name} ({label})")


def side_problems(vault: VaultFile, rule: RuleView) -> list[str]:
    """How a side's file differs from what ``rule`` says (key-less checks only)."""
    from gitvault.crypto.envelope import short_recipient
    from gitvault.policy import normalize_key
    from gitvault.sops.structure import structure_problems

    want = {normalize_key(k) for k in rule.recipients}
    have = {normalize_key(k) for k in vault.recipients}
    out = []
    extra = sorted(short_recipient(k) for k in have - want)
    missing = sorted(short_recipient(k) for k in want - have)
    if extra:
        out.append(f"encrypted to {', '.join(extra)}, whom {rule.label} does not name")
    if missing:
        out.append(f"not encrypted to {', '.join(missing)}, whom {rule.label} names")
    out += structure_problems(vault.documents, vault.meta, rule.selection)
    return out


def merge(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    name: str,
    identities: Identities,
    ours_rule: RuleView,
    theirs_rule: RuleView | None = None,
) -> MergeOutcome:
    """Merge three versions of a vault file per key (see the module docstring)."""
    from gitvault.sops.file import open_file

    try:
        sides = [
            _Side("base", _parse(base, "base", name)),
            _Side("ours", _parse(ours, "ours", name)),
            _Side("theirs", _parse(theirs, "theirs", name)),
        ]
    except GitvaultError as exc:
        return MergeOutcome(FALLBACK, message=f"cannot merge per key: {exc.message}")
    b, o, t = sides
    if o.vault is None or t.vault is None:
        return MergeOutcome(FALLBACK, message="cannot merge per key: one side is empty")
    refused = [f"our version: {p}" for p in side_problems(o.vault, ours_rule)]
    refused += [f"their version: {p}" for p in side_problems(t.vault, theirs_rule or ours_rule)]
    if refused:
        return MergeOutcome(REFUSED, problems=tuple(refused))
    for side in sides:
        if side.vault is None:
            continue
        try:
            side.plain = open_file(side.vault, identities.keys, record_ivs=True)
        except AccessDenied:
            return MergeOutcome(
                FALLBACK,
                message=f"cannot merge {name} per key: none of your identities can decrypt "
                f"the {side.label} version",
            )
        except IntegrityError as exc:
            return MergeOutcome(
                FALLBACK, message=f"cannot merge {name}: the {side.label} version: {exc.message}"
            )
    if len(o.documents) != len(t.documents) or (b.vault and len(b.documents) != len(o.documents)):
        return MergeOutcome(CONFLICT, data=None, conflicts=(Conflict("(documents)", "changed"),))
    result_docs: list[Mapping] = []
    conflicts: list[Conflict] = []
    merged: list[str] = []
    many = len(o.documents) > 1
    for i, (od, td) in enumerate(zip(o.documents, t.documents, strict=True)):
        bd = b.documents[i] if b.vault is not None else Mapping()
        doc, doc_conflicts, doc_merged = merge_document(bd, od, td, f"[{i}]" if many else "")
        result_docs.append(doc)
        conflicts += doc_conflicts
        merged += doc_merged
    readers = result_readers(ours_rule, theirs_rule)
    data, notes = _encrypt(result_docs, b, o, t, readers)
    status = CONFLICT if conflicts else CLEAN
    return MergeOutcome(status, data, tuple(conflicts), notes=notes, merged=tuple(merged))


def result_readers(ours_rule: RuleView, theirs_rule: RuleView | None) -> list[str]:
    """``HEAD``'s rule, minus whom the merged commit's rule no longer names."""
    from gitvault.policy import normalize_key

    if theirs_rule is None:
        return list(ours_rule.recipients)
    kept = {normalize_key(k) for k in theirs_rule.recipients}
    return [k for k in ours_rule.recipients if normalize_key(k) in kept]


def _encrypt(
    docs: list[Mapping], b: _Side, o: _Side, t: _Side, readers: Sequence[str]
) -> tuple[bytes, tuple[str, ...]]:
    from gitvault.crypto.envelope import wrap
    from gitvault.policy import normalize_key
    from gitvault.sops import metadata as md
    from gitvault.sops.document import encrypt_documents
    from gitvault.sops.file import now_rfc3339, serialize

    assert o.vault is not None and o.plain is not None
    notes: list[str] = []
    kept = {normalize_key(r) for r in readers}
    key = o.data_key
    if t.data_key != o.data_key and t.data_key != b.data_key:
        # Theirs brought its own data key: never adopt it (anyone with the public
        # keys can make one), and do not fall back to ours's, which the re-key
        # may have been meant to retire.
        key = None
        notes.append("merged under a new data key: theirs had re-keyed the file")
    elif any(normalize_key(r) not in kept for r in o.vault.recipients):
        key = None  # someone who held ours's key is no longer a reader
        notes.append("merged under a new data key: a recipient was removed")
    if key is None:
        key = os.urandom(32)
    stash: dict[Any, str] = {}
    stanzas: dict[str, md.AgeStanza] = {}
    for side in (t, o):  # ours last: its ciphertexts win for identical plaintexts
        if side.plain is not None and side.data_key == key:
            stash.update(side.plain.stash)
    if key == o.data_key:
        stanzas = {normalize_key(s.recipient): s for s in o.vault.meta.age}
    age = tuple(stanzas.get(normalize_key(r)) or md.AgeStanza(r, wrap(key, r)) for r in readers)
    meta = replace(o.vault.meta, age=age, lastmodified="", mac="", foreign={})
    if o.vault.meta.foreign and key == o.data_key:
        meta = replace(meta, foreign=o.vault.meta.foreign)
    enc_docs, meta = encrypt_documents(docs, meta, key, lastmodified=now_rfc3339(), stash=stash)
    from gitvault.sopsconfig import indent_for

    # The merged file keeps ours's format: a JSON or dotenv file stays one. git
    # runs drivers at the top of the work tree: sops's .sops.yaml lookup from there.
    fmt = o.vault.format
    data = serialize(enc_docs, meta, fmt, name=o.vault.name, indent=indent_for(fmt))
    return data, tuple(notes)
