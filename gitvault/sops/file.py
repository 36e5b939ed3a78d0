"""Vault files as bytes: parse, serialize, open with identities, create.

This is the seam the rest of gitvault uses for the format. A :class:`VaultFile`
is the encrypted file as parsed (no key needed: history, review and the hooks
read it without decrypting); :func:`open_file` unwraps the data key with the
caller's identities and returns MAC-verified plaintext.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from gitvault.crypto import envelope
from gitvault.errors import AccessDenied, BadInput
from gitvault.model import Comment, Mapping, Node
from gitvault.records import record, replace
from gitvault.sops import formats
from gitvault.sops import metadata as md
from gitvault.sops import value as encval
from gitvault.sops.document import IvStash, Plain, decrypt_documents, encrypt_documents
from gitvault.yamlio import emit_documents, load_canonical, load_documents


@record(frozen=True)
class VaultFile:
    """An encrypted SOPS file as parsed: documents (without ``sops:``) and metadata."""

    name: str
    documents: list[Mapping]
    meta: md.Metadata
    # The sops store (gitvault.sops.formats.FORMATS) the file is written in.
    format: str = "yaml"

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.meta.recipients

    def leaves(self) -> dict[str, str]:
        """Display key path -> stored text (``ENC[…]`` or the plaintext of unencrypted leaves).

        Lets history and review see *which* values changed without a key.
        """
        out: dict[str, str] = {}
        for d, doc in enumerate(self.documents):
            prefix = f"[{d}]" if len(self.documents) > 1 else ""
            _flat(doc, prefix, out)
        return out


def _flat(node: Node, prefix: str, out: dict[str, str]) -> None:
    if isinstance(node, Mapping):
        for k, v in node.items():
            _flat(v, join_path(prefix, k), out)
    elif isinstance(node, list):
        for i, v in enumerate(x for x in node if not isinstance(x, Comment)):
            if isinstance(v, str) and encval.looks_encrypted(v) and v.endswith("type:comment]"):
                continue
            _flat(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = "" if node is None else str(node)


def join_path(prefix: str, key: str) -> str:
    """Display form of a key path: ``db.password``, or ``["a.b"]`` when a key has a dot."""
    if "." in key or "[" in key or not key:
        part = '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'
        return prefix + part
    return f"{prefix}.{key}" if prefix else key


def parse_vault(data: bytes, name: str, fmt: str | None = None) -> VaultFile:
    """Parse the bytes of an encrypted file; no key needed. Raises :class:`BadInput`.

    ``fmt`` is the sops store (``--input-type``); by default it follows the
    name's extension as sops does (:func:`gitvault.sops.formats.vault_format`).
    """
    fmt = fmt or formats.vault_format(name, data)
    if fmt == "yaml":
        text = decode_utf8(data, name)
        docs = load_canonical(text) or load_documents(text, name)
        block: object = docs[0].get("sops") if docs and "sops" in docs[0] else _NO_BLOCK
        for doc in docs:
            doc.remove("sops")
    else:
        docs, block = formats.parse_encrypted(data, name, fmt)
        if block is None:
            block = _NO_BLOCK
    if block is _NO_BLOCK:
        raise BadInput(
            f"{name}: not a vault file (no sops metadata)",
            hint="encrypt it with `gitvault encrypt`",
        )
    meta = md.from_block(block, name)  # type: ignore[arg-type]
    if meta.key_groups is not None or (meta.shamir_threshold or 0) > 1:
        raise BadInput(
            f"{name}: files split into key groups (shamir_threshold) are not supported yet",
            hint="re-encrypt it with a single group of age recipients using sops",
        )
    if not meta.age:
        kinds = ", ".join(sorted(meta.foreign)) or "none"
        raise BadInput(f"{name}: the file has no age recipients (key types: {kinds})")
    return VaultFile(name, docs, meta, fmt)


_NO_BLOCK = object()


def decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text (byte {exc.start})") from None


def serialize(
    documents: list[Mapping],
    meta: md.Metadata,
    fmt: str = "yaml",
    *,
    indent: int | None = None,
    name: str = "<vault file>",
) -> bytes:
    """The file's bytes in ``fmt``: the documents with the ``sops`` metadata added.

    ``indent`` is the store's indent from ``.sops.yaml`` (see
    :func:`gitvault.sopsconfig.indent_for`): for YAML the indent step (None is
    sops's 4), for JSON the number of spaces (None is sops's default, a tab).
    A YAML file's layout follows the sops release in ``meta.version``: from
    3.13 on, inline comments stay on their line and the block's keys are sorted.
    A document the format cannot hold (nested values in dotenv, anything but
    ``data`` in a binary file) raises :class:`BadInput`; nothing is written.
    """
    block = md.to_block(meta)
    if fmt != "yaml":
        return formats.emit_encrypted(documents, block, fmt, name, indent)
    out = []
    for doc in documents:
        out.append(Mapping([*doc.entries, ("sops", block)]))
    text = emit_documents(out, indent=indent or 4, inline_comments=md.current_layout(meta.version))
    return text.encode("utf-8", "surrogateescape")


def data_key_for(
    vault: VaultFile,
    identities: Sequence[Any],
    sources: Sequence[str] = (),
    names: Callable[[str], str | None] | None = None,
) -> bytes:
    """Unwrap the data key or raise :class:`AccessDenied` naming who could read it.

    ``names`` maps a recipient to its policy name, so the message says "alice"
    rather than a public key when a policy is at hand.
    """
    stanzas = [(s.recipient, s.enc) for s in vault.meta.age]
    key = envelope.unwrap_any(stanzas, identities)
    if key is None:
        readers = ", ".join(
            ((names(r) if names else None) or envelope.short_recipient(r)) for r in vault.recipients
        )
        tried = ", ".join(sources) if sources else "no identity found"
        raise AccessDenied(
            f"{vault.name}: none of your identities can decrypt this file (readable by: {readers})",
            hint=f"tried: {tried}",
        )
    return key


def open_file(
    vault: VaultFile,
    identities: Sequence[Any],
    sources: Sequence[str] = (),
    *,
    record_ivs: bool = False,
    names: Callable[[str], str | None] | None = None,
) -> Plain:
    """Decrypt and MAC-verify a parsed vault file."""
    key = data_key_for(vault, identities, sources, names)
    plain = decrypt_documents(vault.documents, vault.meta, key, record_ivs=record_ivs)
    return plain if vault.format == "yaml" else replace(plain, format=vault.format)


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_metadata(recipients: Sequence[str], data_key: bytes, **selection: Any) -> md.Metadata:
    """Metadata for a brand-new file: one age stanza per recipient."""
    if not recipients:
        raise BadInput("no recipients: the policy rule names nobody who could read this file")
    stanzas = tuple(md.AgeStanza(r, enc) for r, enc in envelope.wrap_all(data_key, recipients))
    return md.Metadata(age=stanzas, lastmodified="", mac="", **selection).with_defaults()


def encrypt_new(
    documents: list[Mapping],
    recipients: Sequence[str],
    *,
    lastmodified: str | None = None,
    fmt: str = "yaml",
    indent: int | None = None,
    name: str = "<vault file>",
    version: str | None = None,
    **selection: Any,
) -> bytes:
    """Encrypt plaintext documents to ``recipients`` under a fresh data key, in ``fmt``.

    ``version`` (default :data:`gitvault.sops.metadata.FORMAT_VERSION`) picks
    the layout of the new file; ``indent`` as for :func:`serialize`.
    """
    formats.check_writable(documents, fmt, name)
    data_key = os.urandom(32)
    meta = new_metadata(recipients, data_key, **selection)
    if version is not None:
        meta = replace(meta, version=version)
    enc_docs, meta = encrypt_documents(
        documents, meta, data_key, lastmodified=lastmodified or now_rfc3339()
    )
    return serialize(enc_docs, meta, fmt, indent=indent, name=name)


def reencrypt(
    plain_docs: list[Mapping],
    previous: Plain,
    *,
    lastmodified: str | None = None,
    stash: IvStash | None = None,
    indent: int | None = None,
    name: str = "<vault file>",
) -> bytes:
    """Re-encrypt edited documents under the same data key and recipients.

    Unchanged values keep their ciphertext (IV reuse for identical plaintext
    and path, as sops does), so the diff shows only real changes. The file
    keeps the format it was read in (``previous.format``).
    """
    formats.check_writable(plain_docs, previous.format, name)
    enc_docs, meta = encrypt_documents(
        plain_docs,
        previous.meta,
        previous.data_key,
        lastmodified=lastmodified or now_rfc3339(),
        stash=previous.stash if stash is None else stash,
    )
    return serialize(enc_docs, meta, previous.format, indent=indent, name=name)


def rewrap(vault: VaultFile, data_key: bytes, recipients: Sequence[str]) -> md.Metadata:
    """Metadata with the same data key wrapped for a new recipient list (like updatekeys)."""
    stanzas = tuple(md.AgeStanza(r, enc) for r, enc in envelope.wrap_all(data_key, recipients))
    return replace(vault.meta, age=stanzas)
