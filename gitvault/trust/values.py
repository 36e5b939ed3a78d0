"""The identity of a stored value, a MAC and a timestamp: decoded bytes, not their spelling.

A SOPS file is YAML text, and the same encrypted value can be spelled many
ways: base64 with the unused low bits of its last character set (decoders
ignore them), a ``lastmodified`` in double, single or no quotes. Anyone can
re-spell a file without any key, and the result still verifies. So wherever a
check decides "is this the same value/version as that one" (rollback, the
audit's "rotated", ``due``), it compares what these helpers return:

* :func:`value_id` — an encrypted leaf as its decoded ``(iv, tag, data)``
  bytes (the type tag is left out: SOPS does not authenticate it); any other
  leaf as its text;
* :func:`mac_id` — the file's encrypted MAC, decoded the same way;
* :func:`timestamp` — ``lastmodified`` as an aware datetime.

:class:`ValueHasher` reduces decrypted values to keyed hashes (a random key
per process) the moment they are decrypted, for equality only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime

from gitvault.errors import GitvaultError
from gitvault.sops.view import Decryptor

__all__ = [
    "Decryptor",
    "ValueHasher",
    "all_ids",
    "is_encrypted",
    "leaf_ids",
    "mac_id",
    "new_data_key",
    "timestamp",
    "value_id",
]

_MAC = re.compile(rb"^[ \t]*mac:[ \t]*[\"']?(ENC\[[^\]\n]*\])", re.MULTILINE)


def is_encrypted(text: str) -> bool:
    """Whether a stored leaf text is an ``ENC[…]`` token (else an unencrypted leaf)."""
    return text.startswith("ENC[") and text.endswith("]")


def value_id(text: str) -> Hashable:
    """What makes a stored value *this* value: its decoded bytes, whatever the spelling."""
    if not is_encrypted(text):
        return ("text", text)
    from gitvault.sops.value import parse

    try:
        enc = parse(text)
    except GitvaultError:
        return ("text", text)  # malformed: only its exact text identifies it
    return ("enc", enc.iv, enc.tag, enc.data)


def leaf_ids(leaves: Mapping[str, str]) -> dict[str, Hashable]:
    """:func:`value_id` of every encrypted leaf (unencrypted leaves are left out)."""
    return {k: value_id(v) for k, v in leaves.items() if is_encrypted(v)}


def all_ids(leaves: Mapping[str, str]) -> dict[str, Hashable]:
    """:func:`value_id` of every leaf, encrypted or not."""
    return {k: value_id(v) for k, v in leaves.items()}


def mac_id(data: bytes) -> Hashable | None:
    """The decoded encrypted MAC of a file's bytes (the last ``mac:`` line), or None."""
    found = _MAC.findall(data)
    if not found:
        return None
    return value_id(found[-1].decode("ascii", "replace"))


def timestamp(text: str) -> datetime | None:
    """``lastmodified`` as an aware datetime, whichever way it is quoted; None if unparsable."""
    cleaned = text.strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'":
        cleaned = cleaned[1:-1].strip()
    try:
        when = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def new_data_key(
    old_wrapping: str,
    old_ids: Mapping[str, Hashable],
    new_wrapping: str,
    new_ids: Mapping[str, Hashable],
) -> bool:
    """Whether a version looks written under a different data key than the one before.

    The wrapped key changed (any re-wrap changes it: age is randomised) *and*
    every encrypted value present on both sides changed (under one data key,
    minimal re-encryption keeps unchanged values' bytes). With no encrypted key
    in common, a changed wrapping counts as a new key when there is any value.
    """
    if old_wrapping == new_wrapping:
        return False
    common = [k for k in new_ids if k in old_ids]
    if common:
        return all(new_ids[k] != old_ids[k] for k in common)
    return bool(new_ids)


class ValueHasher:
    """Decrypted values of a blob as keyed hashes, each blob decrypted at most once."""

    def __init__(self, decrypt: Decryptor | None) -> None:
        self.decrypt = decrypt
        self._key = os.urandom(32)
        self._cache: dict[str, dict[str, bytes] | None] = {}

    def hashes(self, blob: str, data: Callable[[], bytes], name: str) -> dict[str, bytes] | None:
        """Key path -> keyed hash of its value, or None when no identity opens the blob."""
        if self.decrypt is None:
            return None
        if blob not in self._cache:
            try:
                values = self.decrypt(data(), name)
            except GitvaultError:
                self._cache[blob] = None  # not readable by us (then or now)
            else:
                self._cache[blob] = {
                    k: hmac.digest(self._key, repr(v).encode(), hashlib.sha256)
                    for k, v in values.items()
                }
                del values
        return self._cache[blob]

    def forget(self, blob: str) -> None:
        """Drop ``blob``'s hashes (a history walk that no longer needs them)."""
        self._cache.pop(blob, None)
