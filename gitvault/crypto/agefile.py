"""The age v1 file format (c2sp.org/age), for the stanza types pyrage cannot open.

pyrage handles X25519, SSH and scrypt files. This module holds only what the
post-quantum stanza (:mod:`gitvault.crypto.pq`) needs around it: parsing and
writing the header (strictly canonical, as the spec requires), the header MAC,
the STREAM payload, and ASCII armor. Every primitive comes from
``cryptography`` (HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305); nothing here is
new cryptography, and the test suite runs the C2SP CCTV age vectors against it.

Sizes are capped: gitvault only ever opens age files that wrap a 32-byte data key
(or a small journal), so anything over :data:`MAX_FILE` is refused unread.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from dataclasses import dataclass

VERSION_LINE = b"age-encryption.org/v1"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
CHUNK = 64 * 1024
MAX_FILE = 16 * 1024 * 1024
_ARG = re.compile(rb"[\x21-\x7e]+")


class AgeFormatError(Exception):
    """The bytes are not a well-formed age file, or its MAC or payload does not verify."""


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its type, arguments and (decoded) body."""

    type: str
    args: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class AgeFile:
    """A parsed age file: stanzas, the header bytes its MAC covers, the MAC, the payload."""

    stanzas: tuple[Stanza, ...]
    header: bytes
    mac: bytes
    payload: bytes


def b64decode_canonical(text: bytes) -> bytes:
    """Unpadded standard base64 that re-encodes to the same text (the spec's rule)."""
    if b"=" in text or not re.fullmatch(rb"[A-Za-z0-9+/]*", text):
        raise AgeFormatError("base64 in the header is not canonical")
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise AgeFormatError("base64 in the header is not valid") from None
    if base64.b64encode(raw).rstrip(b"=") != text:
        raise AgeFormatError("base64 in the header is not canonical")
    return raw


def b64encode_raw(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def dearmor(data: bytes) -> bytes:
    """The binary age file inside ASCII armor (or ``data`` itself when not armored)."""
    text = data.strip(b" \t\r\n")
    if not text.startswith(ARMOR_BEGIN):
        return data
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    if lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END or len(lines) < 3:
        raise AgeFormatError("the armor is malformed")
    body = lines[1:-1]
    if any(len(line) > 64 for line in body) or any(len(line) != 64 for line in body[:-1]):
        raise AgeFormatError("the armor is not wrapped at 64 columns")
    if not body[-1]:
        raise AgeFormatError("the armor has an empty last line")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except binascii.Error:
        raise AgeFormatError("the armor is not valid base64") from None


def armor(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return b"\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + b"\n"


def parse(data: bytes) -> AgeFile:
    """Parse a binary or armored age file; :class:`AgeFormatError` when malformed."""
    if len(data) > MAX_FILE:
        raise AgeFormatError("the age file is too large")
    data = dearmor(data)
    pos = _expect_line(data, 0, VERSION_LINE)
    stanzas: list[Stanza] = []
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise AgeFormatError("the header is truncated")
        line = data[pos:end]
        if line.startswith(b"--- ") or line == b"---":
            header = data[: pos + 3]
            mac = b64decode_canonical(line[4:])
            if len(mac) != 32:
                raise AgeFormatError("the header MAC has the wrong size")
            if not stanzas:
                raise AgeFormatError("the header has no recipient stanza")
            return AgeFile(tuple(stanzas), header, mac, data[end + 1 :])
        if not line.startswith(b"-> "):
            raise AgeFormatError("a header line is neither a stanza nor the MAC")
        parts = line[3:].split(b" ")
        if not parts or not all(_ARG.fullmatch(p) for p in parts):
            raise AgeFormatError("a stanza has an empty or invalid argument")
        body, pos = _stanza_body(data, end + 1)
        stanzas.append(Stanza(parts[0].decode(), tuple(p.decode() for p in parts[1:]), body))


def _expect_line(data: bytes, pos: int, want: bytes) -> int:
    end = data.find(b"\n", pos)
    if end < 0 or data[pos:end] != want:
        raise AgeFormatError("not an age v1 file")
    return end + 1


def _stanza_body(data: bytes, pos: int) -> tuple[bytes, int]:
    """A stanza body: full 64-column base64 lines, then one shorter (maybe empty) line."""
    chunks: list[bytes] = []
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise AgeFormatError("a stanza body is truncated")
        line = data[pos:end]
        if len(line) > 64:
            raise AgeFormatError("a stanza body line is too long")
        chunks.append(line)
        pos = end + 1
        if len(line) < 64:
            return b64decode_canonical(b"".join(chunks)), pos


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def header_mac(file_key: bytes, header: bytes) -> bytes:
    import hashlib

    return hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()


def open_payload(file: AgeFile, file_key: bytes) -> bytes:
    """Check the header MAC, then decrypt the STREAM payload."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if not hmac.compare_digest(header_mac(file_key, file.header), file.mac):
        raise AgeFormatError("the header MAC does not verify")
    nonce, body = file.payload[:16], file.payload[16:]
    if len(nonce) != 16:
        raise AgeFormatError("the payload is truncated")
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out: list[bytes] = []
    size = CHUNK + 16
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        try:
            plain = aead.decrypt(_nonce(n, last), chunk, None)
        except InvalidTag:
            raise AgeFormatError("the payload does not verify") from None
        if last and not plain and n > 0:
            raise AgeFormatError("the payload ends with an empty chunk")
        out.append(plain)
    return b"".join(out)


def _nonce(counter: int, last: bool) -> bytes:
    """STREAM's chunk nonce: an 11-byte big-endian counter, then 1 for the last chunk."""
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal(stanzas: list[Stanza], file_key: bytes, plaintext: bytes) -> bytes:
    """A binary age file of ``plaintext`` with the given stanzas (already wrapping ``file_key``)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    lines = [VERSION_LINE]
    for s in stanzas:
        lines.append(b" ".join([b"->", s.type.encode(), *(a.encode() for a in s.args)]))
        body = b64encode_raw(s.body)
        lines.extend(body[i : i + 64] for i in range(0, len(body), 64))
        if len(body) % 64 == 0:
            lines.append(b"")
    header = b"\n".join(lines) + b"\n---"
    mac = header_mac(file_key, header)
    nonce = os.urandom(16)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    pieces = [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    sealed = [aead.encrypt(_nonce(n, n == len(pieces) - 1), p, None) for n, p in enumerate(pieces)]
    return header + b" " + b64encode_raw(mac) + b"\n" + nonce + b"".join(sealed)
