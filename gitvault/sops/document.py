"""SOPS v3 documents: decrypt or encrypt every leaf and check or compute the MAC.

The leaf-by-leaf walks live in :mod:`gitvault.sops.walks`; this module runs
them over all of a file's documents, checks the MAC (decryption) or seals a
new one (encryption), and holds the decrypted result, :class:`Plain`.

Decryption verifies the MAC before it returns anything: callers never see
plaintext from a file whose MAC does not match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitvault.crypto.aead import ValueCipher
from gitvault.crypto.digest import compare_digest, sha512
from gitvault.errors import BadInput, IntegrityError
from gitvault.model import Mapping
from gitvault.records import record, replace
from gitvault.sops import value as encval
from gitvault.sops.metadata import Metadata
from gitvault.sops.selector import Selector
from gitvault.sops.walks import IvStash as IvStash
from gitvault.sops.walks import Walk, dec_node, enc_node

if TYPE_CHECKING:
    import hashlib

MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
)


@record(frozen=True)
class Plain:
    """A decrypted, MAC-verified file: documents, the data key and the IVs to reuse."""

    documents: list[Mapping]
    meta: Metadata
    data_key: bytes
    stash: IvStash
    # The sops store the file was read from (gitvault.sops.formats): a rewrite
    # keeps it, so a JSON or dotenv file is never written back as YAML.
    format: str = "yaml"

    def __repr__(self) -> str:  # never show values or the key in a traceback
        return (
            f"Plain(<{len(self.documents)} document(s)>, recipients={list(self.meta.recipients)})"
        )


def compute_mac_text(hasher: hashlib._Hash) -> str:
    return hasher.hexdigest().upper()


def _new_hasher(meta: Metadata) -> hashlib._Hash:
    h = sha512()
    if meta.mac_only_encrypted:
        h.update(MAC_ONLY_ENCRYPTED_INIT)
    return h


def decrypt_documents(
    docs: list[Mapping], meta: Metadata, data_key: bytes, *, record_ivs: bool = False
) -> Plain:
    """Decrypt every value, verify the MAC, and only then return the plaintext."""
    cipher = ValueCipher(data_key)
    w = Walk(cipher, Selector(meta), _new_hasher(meta), record_ivs=record_ivs)
    plain_docs = []
    for doc in docs:
        out = dec_node(w, doc, [], [], None)
        assert isinstance(out, Mapping)
        plain_docs.append(out)
    expected = compute_mac_text(w.hasher)
    stored = meta.mac
    if not encval.looks_encrypted(stored):
        raise IntegrityError("the file's MAC is missing or malformed")
    mac_enc = encval.parse(stored)
    aad = meta.mac_aad()
    mac_plain = cipher.open(mac_enc.data, mac_enc.iv, mac_enc.tag, aad)
    if not compare_digest(mac_plain.upper(), expected.encode()):
        raise IntegrityError("MAC mismatch: the file was modified without its key")
    if record_ivs:
        w.stash[(aad, mac_enc.type, mac_plain)] = stored
    return Plain(plain_docs, meta, data_key, w.stash)


def encrypt_documents(
    docs: list[Mapping],
    meta: Metadata,
    data_key: bytes,
    *,
    lastmodified: str,
    stash: IvStash | None = None,
) -> tuple[list[Mapping], Metadata]:
    """Encrypt plaintext documents; return encrypted documents and updated metadata.

    ``stash`` (from a previous decryption) makes unchanged values keep their
    ciphertext byte for byte; everything else gets a fresh random IV.
    """
    meta = replace(meta.with_defaults(), lastmodified=lastmodified)
    cipher = ValueCipher(data_key)
    w = Walk(cipher, Selector(meta), _new_hasher(meta), stash=dict(stash or {}))
    enc_docs = []
    for doc in docs:
        out = enc_node(w, doc, [], [], None)
        assert isinstance(out, Mapping)
        enc_docs.append(out)
    mac_text = compute_mac_text(w.hasher).encode()
    aad = meta.mac_aad()
    mac = w.stash.get((aad, "str", mac_text))
    if mac is None:
        data, iv, tag = cipher.seal(mac_text, aad)
        mac = str(encval.EncValue(data, iv, tag, "str"))
    meta = replace(meta, mac=mac)
    return enc_docs, meta


def check_keys(doc: Mapping, name: str) -> None:
    """Refuse documents sops cannot store (a top-level ``sops`` key)."""
    if "sops" in doc:
        raise BadInput(
            f"{name}: the document already has a top-level 'sops' key",
            hint="is it already encrypted?",
        )
