"""The ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` codec for one encrypted value."""

from __future__ import annotations

import binascii
import re

from gitvault.errors import IntegrityError
from gitvault.records import record

_ENC = re.compile(
    r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),"
    r"tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]"
)
TYPES = frozenset({"str", "int", "float", "bool", "time", "comment", "bytes"})


@record(frozen=True, slots=True)
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
    """:func:`parse` as a plain tuple (data, iv, tag, type): the decrypt loop's form.

    Accepts exactly what ``_ENC`` (the documented shape) fully matches and
    strict base64 decodes, but by splitting instead of a regex match: this runs
    once per value of every file read (a test holds the two to the same answers).
    """
    a2b = binascii.a2b_base64
    try:
        if text[:20] != "ENC[AES256_GCM,data:" or text[-1:] != "]":
            raise ValueError
        data_b64, iv_f, tag_f, type_f = text[20:-1].split(",")  # ValueError unless 4
        type_ = type_f[5:]
        if (
            iv_f[:3] != "iv:"
            or tag_f[:4] != "tag:"
            or type_f[:5] != "type:"
            or type_ not in TYPES
            or len(iv_f) == 3
            or len(tag_f) == 4
        ):
            raise ValueError
        # strict: only the base64 alphabet and correct padding, as _ENC's classes
        data = a2b(data_b64, strict_mode=True) if data_b64 else b""
        iv = a2b(iv_f[3:], strict_mode=True)
        tag = a2b(tag_f[4:], strict_mode=True)
    except (binascii.Error, ValueError):
        raise IntegrityError("an encrypted value is malformed or was tampered with") from None
    return data, iv, tag, type_
