"""Open vault files for a re-key and encrypt them again (the primitives of ``rekey``).

:func:`load_each` decrypts and MAC-verifies files one at a time into
:class:`Loaded` (with the readers the policy names for each);
:func:`encrypt_under_new_key` encrypts documents under a fresh data key and
:func:`rewrap_same_key` re-wraps the same data key, as ``sops updatekeys``.
Used by :mod:`gitvault.team.rekey` and :mod:`gitvault.team.offboard`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault import fsutil
from gitvault.errors import AccessDenied, BadInput
from gitvault.policy import Policy, normalize_key
from gitvault.records import replace

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.model import Mapping
    from gitvault.sops.document import Plain
    from gitvault.sops.file import VaultFile


@dataclass(frozen=True)
class Loaded:
    """A decrypted, MAC-verified vault file and the readers the policy names for it."""

    relpath: str  # relative to the policy root
    path: Path
    original: bytes
    vault: VaultFile
    plain: Plain
    recipients: tuple[str, ...]  # public keys, in policy order

    def __repr__(self) -> str:  # never show values or the key in a traceback
        return f"Loaded({self.relpath!r})"


def display_name(pol: Policy, key: str) -> str:
    from gitvault.crypto.envelope import short_recipient

    return pol.name_of(key) or short_recipient(key)


def policy_recipients(pol: Policy, relpath: str) -> tuple[str, ...]:
    rule = pol.rule_for(relpath)
    if rule is None:
        raise BadInput(
            f"{relpath}: no rule in {pol.path.name} covers this path",
            hint="add a rule with a matching `path:` glob",
        )
    return tuple(pol.reader_keys(rule))


def load(
    pol: Policy, relpath: str, ids: Identities, recipients: Sequence[str] | None = None
) -> Loaded:
    """Read, decrypt and MAC-verify one file; ``recipients`` default to its policy rule's."""
    from gitvault.sops.file import open_file, parse_vault

    wanted = tuple(recipients) if recipients is not None else policy_recipients(pol, relpath)
    path = pol.root / relpath
    original = fsutil.read_input(path, root=pol.root)  # capped; no links out, no devices
    vault = parse_vault(original, relpath)
    plain = open_file(vault, ids.keys, ids.describe_tried(), names=pol.name_of)
    return Loaded(relpath, path, original, vault, plain, wanted)


def load_all(pol: Policy, relpaths: Sequence[str], ids: Identities) -> list[Loaded]:
    """Load every file; one AccessDenied naming every file no identity can open."""
    return list(load_each(pol, relpaths, ids))


def load_each(pol: Policy, relpaths: Sequence[str], ids: Identities) -> Iterator[Loaded]:
    """Load the files one at a time (each can be dropped before the next is decrypted).

    Files no identity can open are collected and, at the end, reported in one
    AccessDenied naming them all: the caller must write nothing before the
    iteration has finished.
    """
    denied = []
    for rel in relpaths:
        try:
            yield load(pol, rel, ids)
        except AccessDenied:
            denied.append(rel)
    if denied:
        shown = ", ".join(denied[:5]) + (f" and {len(denied) - 5} more" if len(denied) > 5 else "")
        raise AccessDenied(
            f"none of your identities can decrypt {shown}; nothing was changed",
            hint="run it as someone who can read those files, or name fewer paths",
        )


def encrypt_under_new_key(
    vault: VaultFile,
    documents: list[Mapping],
    recipients: Sequence[str],
    *,
    data_key: bytes | None = None,
    lastmodified: str | None = None,
) -> bytes:
    """``documents`` encrypted with a new data key for ``recipients``, fresh IVs, new MAC.

    The file's selection rules and format version come from ``vault``'s metadata.
    """
    from gitvault.crypto.envelope import wrap_all
    from gitvault.sops import metadata as md
    from gitvault.sops.document import encrypt_documents
    from gitvault.sops.file import now_rfc3339, serialize

    if vault.meta.foreign:
        kinds = ", ".join(sorted(vault.meta.foreign))
        raise BadInput(
            f"{vault.name}: also encrypted with {kinds}, which gitvault cannot wrap a new "
            "data key for",
            hint="use --recipients-only (same data key), or `sops rotate` for this file",
        )
    if not recipients:
        raise BadInput(f"{vault.name}: no recipients to encrypt to")
    key = data_key if data_key is not None else os.urandom(32)
    stanzas = tuple(md.AgeStanza(r, enc) for r, enc in wrap_all(key, recipients))
    meta = replace(vault.meta, age=stanzas, lastmodified="", mac="")
    enc_docs, meta = encrypt_documents(
        documents, meta, key, lastmodified=lastmodified or now_rfc3339()
    )
    from gitvault.sopsconfig import indent_for

    indent = indent_for(vault.format, Path(vault.name))
    return serialize(enc_docs, meta, vault.format, name=vault.name, indent=indent)


def rewrap_same_key(loaded: Loaded) -> bytes:
    """Like ``sops updatekeys``: the same data key, stanzas of staying recipients kept."""
    from gitvault.crypto.envelope import wrap
    from gitvault.sops import metadata as md
    from gitvault.sops.file import serialize

    existing = {normalize_key(s.recipient): s for s in loaded.vault.meta.age}
    stanzas = tuple(
        existing.get(normalize_key(r)) or md.AgeStanza(r, wrap(loaded.plain.data_key, r))
        for r in loaded.recipients
    )
    if [normalize_key(s.recipient) for s in stanzas] == list(existing):
        return loaded.original
    from gitvault.sopsconfig import indent_for

    vault = loaded.vault
    indent = indent_for(vault.format, Path(vault.name))
    meta = replace(vault.meta, age=stanzas)
    return serialize(vault.documents, meta, vault.format, name=vault.name, indent=indent)
