"""A vault file as history and rotation see it without a key, and a decryptor for the audits.

:func:`parse_for_history` gives the stored texts, recipients and a fingerprint
of the wrapped data key of an encrypted file — no key needed, fast on the
canonical layout. The history audit (:mod:`gitvault.history.audit`), the
trust checks (:mod:`gitvault.trust`), rotation and the team commands all read
files through it. :func:`decryptor_for` opens a file (MAC verified) with
identities, for the checks that compare values. Tests and benchmarks can pass
their own parser and decryptor.

This module must never return or keep plaintext beyond the decryptor's return
value, which the audit reduces to keyed hashes at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitvault.identities import Identities


# decrypt(data, name) -> key path -> value (MAC verified); raises AccessDenied and friends.
Decryptor = Callable[[bytes, str], Mapping[str, Any]]


@dataclass(frozen=True)
class ParsedVault:
    """A vault file as history sees it: stored texts, recipients, data-key fingerprint."""

    leaves: Mapping[str, str]
    recipients: tuple[str, ...]
    data_key_wrapping: str
    lastmodified: str


def parse_for_history(data: bytes, name: str) -> ParsedVault:
    """Parse an encrypted file (no key needed); raises BadInput when it is not one.

    Files in the canonical layout (what gitvault and sops write: block mappings,
    simple keys, every value ``ENC[…]``) take a line scanner that is ~10x faster
    than a YAML parse, which ``log``/``due`` over thousands of commits need.
    Anything else, or anything the scanner is unsure of, goes to the full parser.
    """
    fast = _scan_canonical(data)
    if fast is not None:
        return fast
    from gitvault.sops.file import parse_vault

    vault = parse_vault(data, name)
    wrapping = _wrapping([s.enc for s in vault.meta.age])
    return ParsedVault(
        leaves=vault.leaves(),
        recipients=vault.recipients,
        data_key_wrapping=wrapping,
        lastmodified=vault.meta.lastmodified,
    )


def _wrapping(encs: list[str]) -> str:
    return hashlib.sha256("\0".join(encs).encode()).hexdigest()


_ENC_PATTERN = (
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
    r"type:(?:str|int|float|bool|bytes)\]"
)
# One body line: indentation (multiples of 4), a simple key, then either nothing
# (a mapping follows) or exactly one ENC[…] token.
_LINE_PATTERN = r"((?:    )*)([A-Za-z0-9_-]+):(?: (" + _ENC_PATTERN + r"))?\n"
_BODY_LINE = re.compile(_LINE_PATTERN)
_BODY = re.compile(r"(?:(?:    )*[A-Za-z0-9_-]+:(?: " + _ENC_PATTERN + r")?\n)*")


def _scan_canonical(data: bytes) -> ParsedVault | None:
    """Leaves, recipients and stanzas of a canonical-layout file, or None to fall back.

    Accepts only: one document; 4-space block mappings with keys of letters,
    digits, ``_`` and ``-``; leaf values that are exactly one ``ENC[…]`` token;
    a trailing ``sops:`` block whose ``age:`` list holds ``recipient:`` and
    ``enc: |`` entries (in either order: sops 3.13 sorts them). Every other
    construct (comments, lists, quotes, flow style, anchors, unencrypted
    leaves, other key types, an empty mapping) returns None.

    The body is matched line by line with one regular expression that must
    cover it without gaps (``log``/``due`` parse every version of every file).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("sops:\n"):
        cut = 0
    else:
        cut = text.find("\nsops:\n") + 1
        if cut == 0:
            return None  # no sops block
    leaves = _scan_body(text[:cut])
    if leaves is None:
        return None
    return _scan_sops(text[cut + len("sops:\n") :], leaves)


def _scan_body(body: str) -> dict[str, str] | None:
    # Validate the whole body in C first, then walk the (indent, key, value) tuples.
    if _BODY.fullmatch(body) is None:
        return None
    leaves: dict[str, str] = {}
    stack: list[str] = []
    open_mapping = False  # the previous line was "key:" and needs a deeper line
    for indent, key, value in _BODY_LINE.findall(body):
        depth = len(indent) >> 2
        if depth > len(stack) or (open_mapping and depth != len(stack)):
            return None
        del stack[depth:]
        if value:
            leaves[".".join((*stack, key))] = value
            open_mapping = False
        else:
            stack.append(key)
            open_mapping = True
    if open_mapping:
        return None
    return leaves


# The sops block keys the scanner understands; any other (pgp, kms, key_groups …)
# makes the block fail to match, and the file goes to the full parser.
# sops < 3.13 writes "recipient" then "enc"; 3.13 sorts the keys: "enc" first.
_STANZA = (
    r"(?:        - recipient: [^\n]*\n          enc: \|\n(?:            [^\n]*\n)+"
    r"|        - enc: \|\n(?:            [^\n]*\n)+          recipient: [^\n]*\n)"
)
_SOPS_BLOCK = re.compile(
    r"(?:    (?:lastmodified|mac|unencrypted_suffix|encrypted_suffix|unencrypted_regex"
    r"|encrypted_regex|mac_only_encrypted|version):[^\n]*\n"
    r"|    age:[ \t]*\n(?:" + _STANZA + r")+)*"
)
_STANZA_PARTS = re.compile(
    r"^        - recipient: ([^\n]*)\n          enc: \|\n((?:            [^\n]*\n)+)", re.M
)
_STANZA_PARTS_SORTED = re.compile(
    r"^        - enc: \|\n((?:            [^\n]*\n)+)          recipient: ([^\n]*)\n", re.M
)
_LASTMODIFIED = re.compile(r"^    lastmodified:([^\n]*)$", re.M)
_MAC = re.compile(r"^    mac:[ \t]*ENC\[", re.M)


def _scan_sops(block: str, leaves: dict[str, str]) -> ParsedVault | None:
    """The ``sops:`` block (without its first line), or None when it is not canonical."""
    if not block.endswith("\n"):
        block += "\n"
    if _SOPS_BLOCK.fullmatch(block) is None:
        return None
    stanzas = _STANZA_PARTS.findall(block)
    sorted_stanzas = _STANZA_PARTS_SORTED.findall(block)
    if stanzas and sorted_stanzas:
        return None  # one file, two orders: let the full parser judge it
    stanzas = stanzas or [(r, enc) for enc, r in sorted_stanzas]
    recipients = tuple(r.strip() for r, _ in stanzas)
    encs = [enc.replace("\n            ", "\n")[12:] for _, enc in stanzas]
    stamps = _LASTMODIFIED.findall(block)
    lastmodified = stamps[-1].strip().strip('"') if stamps else ""
    if not recipients or not _MAC.search(block) or not lastmodified:
        return None
    return ParsedVault(leaves, recipients, _wrapping(encs), lastmodified)


def decryptor_for(identities: Identities) -> Decryptor:
    """A decryptor that opens (and MAC-verifies) a file with ``identities``."""
    from gitvault.sops.file import VaultFile, open_file, parse_vault

    def decrypt(data: bytes, name: str) -> Mapping[str, Any]:
        vault = parse_vault(data, name)
        plain = open_file(vault, identities.keys, identities.describe_tried())
        # Flatten the decrypted documents with the same display key paths as leaves().
        return VaultFile(name, plain.documents, plain.meta).leaves()

    return decrypt
