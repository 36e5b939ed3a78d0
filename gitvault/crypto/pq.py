"""age's post-quantum hybrid recipient type, ``mlkem768x25519`` (c2sp.org/age).

An identity is ``AGE-SECRET-KEY-PQ-1…``: the bech32 of a 32-byte X-Wing seed. A
recipient is ``age1pq1…``: the bech32 of the 1,216-byte X-Wing encapsulation key
(ML-KEM-768's 1,184 bytes, then X25519's 32). A stanza is
``-> mlkem768x25519 <enc>`` whose body is the 16-byte file key sealed with HPKE
(RFC 9180, base mode): KEM X-Wing (MLKEM768-X25519), HKDF-SHA256,
ChaCha20-Poly1305, info ``age-encryption.org/mlkem768x25519``.

pyrage (1.4) has no such type, so gitvault composes it from ``cryptography``'s
HPKE, ML-KEM and X25519 (maintained, OpenSSL-backed). Only the key encodings
(bech32, the seed expansion) are written here. The C2SP CCTV age vectors for
the hybrid type and a round trip through age's own TypeScript implementation
(typage, ``age-encryption`` on npm) are in the test suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitvault.crypto.agefile import AgeFormatError, Stanza, b64decode_canonical, b64encode_raw

STANZA_TYPE = "mlkem768x25519"
INFO = b"age-encryption.org/mlkem768x25519"
IDENTITY_HRP = "age-secret-key-pq-"
RECIPIENT_HRP = "age1pq"
ENC_SIZE = 1120  # ML-KEM-768 ciphertext (1,088) + X25519 share (32)
PUBLIC_SIZE = 1216
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class PQKeyError(ValueError):
    """A post-quantum identity or recipient string that does not decode."""


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: list[int], frm: int, to: int, pad: bool) -> bytes:
    acc = bits = 0
    out = bytearray()
    for v in data:
        acc = (acc << frm) | v
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & ((1 << to) - 1))
    if pad and bits:
        out.append((acc << (to - bits)) & ((1 << to) - 1))
    elif not pad and (bits >= frm or (acc << (to - bits)) & ((1 << to) - 1)):
        raise PQKeyError("bech32 padding is not canonical")
    return bytes(out)


def bech32_decode(text: str, hrp: str) -> bytes:
    """Bech32 (BIP 173, no length limit, as age uses it), one case only, checked."""
    if text != text.lower() and text != text.upper():
        raise PQKeyError("mixed case")
    low = text.lower()
    sep = low.rfind("1")
    if low[:sep] != hrp or len(low) - sep < 7:
        raise PQKeyError("wrong prefix")
    try:
        data = [_CHARSET.index(c) for c in low[sep + 1 :]]
    except ValueError:
        raise PQKeyError("invalid character") from None
    if _polymod(_hrp_expand(hrp) + data) != 1:
        raise PQKeyError("bad checksum")
    return _convert(data[:-6], 5, 8, pad=False)


def bech32_encode(hrp: str, payload: bytes) -> str:
    data = list(_convert(list(payload), 8, 5, pad=True))
    poly = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    data += [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data)


def _suite() -> Any:
    from cryptography.hazmat.primitives import hpke

    return hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


@dataclass(frozen=True)
class PQIdentity:
    """A post-quantum age identity: its recipient string and the X-Wing private key."""

    recipient: str
    private: Any = field(repr=False, compare=False)
    # The X25519 half alone, to reject low-order shares as the spec requires.
    dh: Any = field(repr=False, compare=False, default=None)

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key from a ``mlkem768x25519`` stanza for this key, else None.

        A malformed stanza raises :class:`AgeFormatError` (a header failure); a
        well-formed one that does not decrypt is simply not ours.
        """
        if stanza.type != STANZA_TYPE:
            return None
        if len(stanza.args) != 1:
            raise AgeFormatError("a mlkem768x25519 stanza must have exactly one argument")
        enc = b64decode_canonical(stanza.args[0].encode())
        if len(enc) != ENC_SIZE or len(stanza.body) != 32:
            raise AgeFormatError("a mlkem768x25519 stanza has the wrong size")
        _check_share(self.dh, enc[1088:])
        try:
            key: bytes = _suite().decrypt(enc + stanza.body, self.private, info=INFO)
        except Exception:  # any HPKE failure means "not for this key"
            return None
        return key


def _check_share(dh: Any, share: bytes) -> None:
    """A low-order X25519 share (all-zero shared secret) is a header failure, not a miss."""
    from cryptography.hazmat.primitives.asymmetric import x25519

    try:
        dh.exchange(x25519.X25519PublicKey.from_public_bytes(share))
    except ValueError:
        raise AgeFormatError("the X25519 share of a mlkem768x25519 stanza is low-order") from None


def parse_identity(text: str) -> PQIdentity:
    """``AGE-SECRET-KEY-PQ-1…`` → a usable identity."""
    from cryptography.hazmat.primitives import hpke
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
    from cryptography.hazmat.primitives.hashes import SHAKE256, Hash

    seed = bech32_decode(text.strip(), IDENTITY_HRP)
    if len(seed) != 32:
        raise PQKeyError("a post-quantum identity is 32 bytes")
    # X-Wing's key expansion: SHAKE256(seed) → ML-KEM-768 seed (d‖z) ‖ X25519 scalar.
    h = Hash(SHAKE256(96))
    h.update(seed)
    expanded = h.finalize()
    kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    dh = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    public = kem.public_key().public_bytes_raw() + dh.public_key().public_bytes_raw()
    private = hpke.MLKEM768X25519PrivateKey(kem, dh)
    return PQIdentity(bech32_encode(RECIPIENT_HRP, public), private, dh)


def parse_recipient(text: str) -> Any:
    """``age1pq1…`` → the X-Wing public key object."""
    from cryptography.hazmat.primitives import hpke
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

    raw = bech32_decode(text.strip(), RECIPIENT_HRP)
    if len(raw) != PUBLIC_SIZE:
        raise PQKeyError("a post-quantum recipient is 1,216 bytes")
    try:
        kem = mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184])
        dh = x25519.X25519PublicKey.from_public_bytes(raw[1184:])
    except ValueError:
        raise PQKeyError("not a valid ML-KEM-768 / X25519 public key") from None
    return hpke.MLKEM768X25519PublicKey(kem, dh)


def wrap(file_key: bytes, recipient: str) -> Stanza:
    """A ``mlkem768x25519`` stanza sealing ``file_key`` to ``recipient``."""
    sealed: bytes = _suite().encrypt(file_key, parse_recipient(recipient), info=INFO)
    enc, body = sealed[:ENC_SIZE], sealed[ENC_SIZE:]
    return Stanza(STANZA_TYPE, (b64encode_raw(enc).decode(),), body)


def encrypt(data: bytes, recipient: str) -> bytes:
    """An armored age file of ``data`` for one post-quantum recipient."""
    import os

    from gitvault.crypto import agefile

    file_key = os.urandom(16)
    return agefile.armor(agefile.seal([wrap(file_key, recipient)], file_key, data))


def decrypt(data: bytes, identities: list[PQIdentity]) -> bytes | None:
    """Open an age file with post-quantum identities; None when none is a recipient.

    Raises :class:`AgeFormatError` for a malformed file, a bad header MAC or payload.
    """
    from gitvault.crypto import agefile

    parsed = agefile.parse(data)
    for stanza in parsed.stanzas:
        for ident in identities:
            file_key = ident.unwrap(stanza)
            if file_key is not None:
                if len(file_key) != 16:
                    raise AgeFormatError("the file key has the wrong size")
                return agefile.open_payload(parsed, file_key)
    return None
