"""The ``sops:`` block for the fused passes: read it, unwrap the data key, check and
write the MAC — each through the same functions the general path uses.

Every function answers None (or False) where the general path would raise:
the caller then takes the general path, which raises its usual error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gitvault.crypto.aead import ValueCipher
from gitvault.crypto.digest import compare_digest, sha512
from gitvault.errors import GitvaultError, IntegrityError
from gitvault.model import Mapping
from gitvault.sops import metadata as md
from gitvault.sops import value as encval


def read_meta(block: str, name: str) -> md.Metadata | None:
    """The metadata of a ``sops:`` block text, if the fused passes can use it.

    Refused: anything the canonical reader does not take, key groups and
    Shamir splits, no age stanza, and every selection rule other than sops's
    default (``_unencrypted`` suffix), including ``mac_only_encrypted``.
    """
    from gitvault.yamlio.fast import load_canonical

    docs = load_canonical(block)
    if docs is None or len(docs) != 1 or list(docs[0].keys()) != ["sops"]:
        return None
    try:
        meta = md.from_block(docs[0].get("sops"), name)
    except GitvaultError:
        return None
    if meta.key_groups is not None or (meta.shamir_threshold or 0) > 1 or not meta.age:
        return None
    if meta.mac_only_encrypted or meta.with_defaults().unencrypted_suffix != (
        md.DEFAULT_UNENCRYPTED_SUFFIX
    ):
        return None
    if any(getattr(meta, f) for f in md.SELECTION_FIELDS if f != "unencrypted_suffix"):
        return None
    return meta


Keys = Sequence[Any] | Callable[[], Sequence[Any]]


def data_key(meta: md.Metadata, identities: Keys) -> bytes | None:
    """The file's data key, or None when no identity opens it (the general path
    then names the readers in its error); :class:`KeyProblem` when an identity
    cannot be loaded or unlocked.

    ``identities`` may be a function that loads them: the CLI passes one, so
    they are loaded only once a file is known to be one these passes finish, in
    the same order as on the general path (the file is read first). A loading
    error gives None too; the general path then loads them again and reports it.
    """
    from gitvault.crypto import envelope

    try:
        keys = identities() if callable(identities) else identities
        return envelope.unwrap_any([(s.recipient, s.enc) for s in meta.age], keys)
    except IntegrityError:
        return None  # a damaged stanza: the general path names the file in its error
    except GitvaultError as err:
        # Loading or unlocking an identity failed (no terminal, a wrong passphrase, a
        # failing key command): the general path would fail the same way, after asking
        # for the passphrase a second time. The caller raises this error itself.
        raise KeyProblem(err) from None


class KeyProblem(Exception):
    """An identity could not be loaded or unlocked; ``error`` is what to report.

    Not a :class:`GitvaultError`, so no "fall back to the general path" handler
    catches it on its way out of a fused pass.
    """

    def __init__(self, error: GitvaultError) -> None:
        super().__init__(error.message)
        self.error = error


def open_values(
    dkey: bytes, fields: list[tuple[bytes, bytes, bytes, str]], aads: list[bytes]
) -> tuple[ValueCipher, list[bytes]]:
    """The cipher for ``dkey`` and every value's plaintext, opened in one batched pass
    (``fields`` as :func:`gitvault.sops.value.parts` gives them; IntegrityError as one value)."""
    cipher = ValueCipher(dkey)
    plains = cipher.open_many(
        [f[0] for f in fields], [f[1] for f in fields], [f[2] for f in fields], aads
    )
    return cipher, plains


def mac_text(plains: list[bytes]) -> bytes:
    """sops's MAC over every leaf's plaintext in document order (one batched update:
    SHA-512 of the concatenation equals one update per leaf)."""
    return sha512(b"".join(plains)).hexdigest().upper().encode()


def stored_mac(meta: md.Metadata, cipher: ValueCipher) -> bytes | None:
    """The decrypted stored MAC, or None when it is missing, malformed or does not open."""
    stored = meta.mac
    if not encval.looks_encrypted(stored):
        return None
    try:
        data, iv, tag, _ = encval.parts(stored)
        return cipher.open(data, iv, tag, meta.mac_aad())
    except GitvaultError:
        return None


def mac_matches(meta: md.Metadata, cipher: ValueCipher, plains: list[bytes]) -> bool:
    """The check :func:`gitvault.sops.document.decrypt_documents` makes, in constant time."""
    opened = stored_mac(meta, cipher)
    return opened is not None and compare_digest(opened.upper(), mac_text(plains))


def block_text(meta: md.Metadata, step: int) -> str:
    """The ``sops:`` block lines exactly as :func:`gitvault.sops.file.serialize` writes them
    (the last top-level entry: emitting it alone gives the same lines)."""
    from gitvault.yamlio.emit import emit_documents

    doc = Mapping([("sops", md.to_block(meta))])
    return emit_documents([doc], indent=step, inline_comments=md.current_layout(meta.version))
