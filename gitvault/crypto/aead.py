"""AES-256-GCM for one value, as SOPS uses it: 32-byte IV, 16-byte tag, AAD = key path.

Every failure to open a value raises the same :class:`IntegrityError` with the
same message, whatever went wrong (wrong key, flipped bit, wrong path).
"""

from __future__ import annotations

import os
from binascii import b2a_base64
from typing import Any

from cryptography.exceptions import InvalidTag

try:
    # The very class the public ``cryptography.hazmat.primitives.ciphers.aead``
    # re-exports, taken from the compiled binding directly: the public module
    # also loads every cipher, mode and "decrepit" algorithm (~3 ms per start).
    from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

    AESGCM: Any = _rust_openssl.aead.AESGCM
except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitvault.errors import IntegrityError

IV_SIZE = 32
TAG_SIZE = 16
KEY_SIZE = 32


class ValueCipher:
    """Seals and opens single values under one file's data key."""

    __slots__ = ("_aead", "_ivs")

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_SIZE:
            raise IntegrityError("the data key has the wrong size")
        self._aead = AESGCM(data_key)
        self._ivs: list[bytes] = []

    def fresh_iv(self) -> bytes:
        """A random IV, cut from a larger read of the OS generator (one syscall per 256)."""
        if not self._ivs:
            pool = os.urandom(IV_SIZE * 256)
            self._ivs = [pool[i : i + IV_SIZE] for i in range(0, len(pool), IV_SIZE)]
        return self._ivs.pop()

    def seal_text(self, plaintext: bytes, aad: bytes, type_: str) -> str:
        """Encrypt under a fresh IV straight to sops's ``ENC[AES256_GCM,…]`` text."""
        iv = self.fresh_iv()
        sealed = self._aead.encrypt(iv, plaintext, aad)
        b64 = b2a_base64
        return (
            f"ENC[AES256_GCM,data:{b64(sealed[:-TAG_SIZE], newline=False).decode()},"
            f"iv:{b64(iv, newline=False).decode()},"
            f"tag:{b64(sealed[-TAG_SIZE:], newline=False).decode()},type:{type_}]"
        )

    def seal(
        self, plaintext: bytes, aad: bytes, iv: bytes | None = None
    ) -> tuple[bytes, bytes, bytes]:
        """Encrypt; return (ciphertext without tag, iv, tag). A fresh random IV unless given."""
        if iv is None:
            iv = self.fresh_iv()
        sealed = self._aead.encrypt(iv, plaintext, aad)
        return sealed[:-TAG_SIZE], iv, sealed[-TAG_SIZE:]

    def open(self, data: bytes, iv: bytes, tag: bytes, aad: bytes) -> bytes:
        """Decrypt and authenticate, or raise :class:`IntegrityError`."""
        if len(tag) != TAG_SIZE or not 8 <= len(iv) <= 128:
            raise IntegrityError("an encrypted value is malformed or was tampered with")
        try:
            plain: bytes = self._aead.decrypt(iv, data + tag, aad)
        except (InvalidTag, ValueError):
            raise IntegrityError("an encrypted value is malformed or was tampered with") from None
        return plain

    def open_many(
        self, data: list[bytes], ivs: list[bytes], tags: list[bytes], aads: list[bytes]
    ) -> list[bytes]:
        """:meth:`open` for many values at once (the same checks, the same error).

        The loop runs in C (``map`` over the binding's method): no Python frame
        per value, which is most of the cost of opening 10,000 short values.
        """
        if any(len(t) != TAG_SIZE for t in tags) or any(not 8 <= len(i) <= 128 for i in ivs):
            raise IntegrityError("an encrypted value is malformed or was tampered with")
        try:
            return list(map(self._aead.decrypt, ivs, map(bytes.__add__, data, tags), aads))
        except (InvalidTag, ValueError):
            raise IntegrityError("an encrypted value is malformed or was tampered with") from None

    def seal_many(self, plaintexts: list[bytes], aads: list[bytes], types: list[str]) -> list[str]:
        """:meth:`seal_text` for many values: the IVs drawn in the same order, the
        encryption in one C-level loop, the same ``ENC[…]`` text."""
        ivs = [self.fresh_iv() for _ in plaintexts]
        sealed = list(map(self._aead.encrypt, ivs, plaintexts, aads))
        b64 = b2a_base64
        return [
            f"ENC[AES256_GCM,data:{b64(s[:-TAG_SIZE], newline=False).decode()},"
            f"iv:{b64(iv, newline=False).decode()},"
            f"tag:{b64(s[-TAG_SIZE:], newline=False).decode()},type:{t}]"
            for s, iv, t in zip(sealed, ivs, types, strict=True)
        ]
