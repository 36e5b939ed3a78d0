"""The bridge from the audit's small protocols to the vault format code.

:mod:`gitvault.history.audit` is written against two seams (a parser that
returns a :class:`~gitvault.history.audit.VaultView`, and an optional
decryptor); this module implements them with :mod:`gitvault.sops.file`. Tests
and benchmarks can pass their own.

This module must never return or keep plaintext beyond the decryptor's return
value, which the audit reduces to keyed hashes at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitvault.history.audit import Decryptor

if TYPE_CHECKING:
    from gitvault.identities import Identities


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


_KEY = re.compile(r"([A-Za-z0-9_-]+):(?: (.*))?")
_ENC = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
    r"type:(?:str|int|float|bool|bytes)\]"
)


def _scan_canonical(data: bytes) -> ParsedVault | None:
    """Leaves, recipients and stanzas of a canonical-layout file, or None to fall back.

    Accepts only: one document; 4-space block mappings with keys of letters,
    digits, ``_`` and ``-``; leaf values that are exactly one ``ENC[…]`` token;
    a trailing ``sops:`` block whose ``age:`` list holds ``recipient:`` and
    ``enc: |`` entries. Every other construct (comments, lists, quotes, flow
    style, anchors, unencrypted leaves, other key types) returns None.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    leaves: dict[str, str] = {}
    stack: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "sops:":
            break
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        match = _KEY.fullmatch(stripped)
        if indent % 4 or match is None or indent // 4 > len(stack):
            return None
        del stack[indent // 4 :]
        key, value = match.group(1), match.group(2)
        if value is None:
            stack.append(key)
        elif _ENC.fullmatch(value):
            leaves[".".join([*stack, key])] = value
        else:
            return None
        i += 1
    else:
        return None  # no sops block
    return _scan_sops(lines[i + 1 :], leaves)


def _scan_sops(lines: list[str], leaves: dict[str, str]) -> ParsedVault | None:
    recipients: list[str] = []
    encs: list[str] = []
    lastmodified = ""
    has_mac = False
    i = 0
    in_age = False
    while i < len(lines):
        line = lines[i]
        if line.startswith("    ") and not line.startswith("     "):
            key, _, value = line[4:].partition(":")
            in_age = key == "age" and not value.strip()
            if key not in _SOPS_KEYS or (key == "age" and not in_age):
                return None
            if key == "lastmodified":
                lastmodified = value.strip().strip('"')
            has_mac = has_mac or (key == "mac" and value.strip().startswith("ENC["))
            i += 1
        elif in_age and line.startswith("        - recipient: "):
            recipients.append(line[len("        - recipient: ") :].strip())
            i += 1
        elif in_age and line == "          enc: |":
            block = []
            i += 1
            while i < len(lines) and lines[i].startswith("            "):
                block.append(lines[i][12:])
                i += 1
            encs.append("\n".join(block) + "\n")
        else:
            return None
    if not recipients or len(recipients) != len(encs) or not has_mac or not lastmodified:
        return None
    return ParsedVault(leaves, tuple(recipients), _wrapping(encs), lastmodified)


# sops block keys the scanner understands; any other (pgp, kms, key_groups …) falls back.
_SOPS_KEYS = frozenset(
    {
        "age",
        "lastmodified",
        "mac",
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "mac_only_encrypted",
        "version",
    }
)


def decryptor_for(identities: Identities) -> Decryptor:
    """A decryptor that opens (and MAC-verifies) a file with ``identities``."""
    from gitvault.sops.file import VaultFile, open_file, parse_vault

    def decrypt(data: bytes, name: str) -> Mapping[str, Any]:
        vault = parse_vault(data, name)
        plain = open_file(vault, identities.keys, identities.describe_tried())
        # Flatten the decrypted documents with the same display key paths as leaves().
        return VaultFile(name, plain.documents, plain.meta).leaves()

    return decrypt
