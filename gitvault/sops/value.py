"""The ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` codec for one encrypted value."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from gitvault.errors import IntegrityError

_ENC = re.compile(
    r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),"
    r"tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]"
)
TYPES = frozenset({"str", "int", "float", "bool", "time", "comment", "bytes"})


@dataclass(frozen=True, slots=True)
class EncValue:
    data: bytes
    iv: bytes
    tag: bytes
    type: str

    def __str__(self) -> str:
        def b64(raw: bytes) -> str:
            return binascii.b2a_base64(raw, newline=False).decode("ascii")

        return (
            f"ENC[AES256_GCM,data:{b64(self.data)},iv:{b64(self.iv)},"
            f"tag:{b64(self.tag)},type:{self.type}]"
        )


def looks_encrypted(text: str) -> bool:
    """Cheap test used to tell encrypted values from plaintext ones."""
    return text.startswith("ENC[AES256_GCM,")


def parse(text: str) -> EncValue:
    """Parse an encrypted value or raise :class:`IntegrityError` (never echoing it)."""
    return EncValue(*parts(text))


def parts(text: str) -> tuple[bytes, bytes, bytes, str]:
    """:func:`parse` as a plain tuple (data, iv, tag, type): the decrypt loop's form."""
    m = _ENC.fullmatch(text)
    if m is None:
        raise IntegrityError("an encrypted value is malformed or was tampered with")
    data_b64, iv_b64, tag_b64, type_ = m.groups()
    if type_ not in TYPES:
        raise IntegrityError("an encrypted value is malformed or was tampered with")
    a2b = binascii.a2b_base64
    try:
        data = a2b(data_b64, strict_mode=True) if data_b64 else b""
        iv = a2b(iv_b64, strict_mode=True)
        tag = a2b(tag_b64, strict_mode=True)
    except (binascii.Error, ValueError):
        raise IntegrityError("an encrypted value is malformed or was tampered with") from None
    return data, iv, tag, type_
