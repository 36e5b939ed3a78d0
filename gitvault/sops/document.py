"""SOPS v3 documents: walk the tree to encrypt or decrypt every leaf and compute the MAC.

The walk follows sops 3.11 exactly: leaves in document order across all YAML
documents; additional data is the key path joined by ``:`` plus a trailing
``:`` (lists add no index); comments are encrypted in place with the path of
the collection holding them and never enter the MAC; ``null`` is never
encrypted and empty strings are stored as ``""``.

Decryption verifies the MAC before it returns anything: callers never see
plaintext from a file whose MAC does not match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from gitvault.crypto.aead import ValueCipher
from gitvault.crypto.digest import compare_digest, sha512
from gitvault.errors import BadInput, IntegrityError
from gitvault.model import Comment, Mapping, Node, Sequence
from gitvault.records import field, record, replace
from gitvault.sops import value as encval
from gitvault.sops.metadata import Metadata
from gitvault.yamlio.scalars import from_sops_bytes, to_sops_bytes

if TYPE_CHECKING:
    import hashlib

MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
)

# (aad, type, plaintext bytes) -> the ENC[…] text it was stored as. Re-encrypting
# an unchanged value gives back exactly that text (AES-GCM with the same key, IV,
# additional data and plaintext is deterministic; sops re-uses the IV the same
# way), so diffs show only what really changed, and no AES work is repeated.
IvStash = dict[tuple[bytes, str, bytes], str]


def compile_selection(pattern: str | None) -> Any:
    """Compile a selection regex from a file's metadata or the policy.

    These patterns come from files anyone can write, and are used before the
    MAC can be checked, so they are compiled with RE2: linear time whatever the
    pattern (no catastrophic backtracking) and the same syntax as the Go
    regexp sops uses. A pattern RE2 rejects is bad input, not a crash.
    """
    if not pattern:
        return None
    import re2

    try:
        return re2.compile(pattern)
    except re2.error:
        raise BadInput("a selection regex in the sops metadata or policy is invalid") from None


class Selector:
    """Decides whether the leaf at a key path is encrypted (the file's selection rule)."""

    def __init__(self, meta: Metadata) -> None:
        meta = meta.with_defaults()
        self.meta = meta
        self._unenc_re = compile_selection(meta.unencrypted_regex)
        self._enc_re = compile_selection(meta.encrypted_regex)
        self._unenc_c = compile_selection(meta.unencrypted_comment_regex)
        self._enc_c = compile_selection(meta.encrypted_comment_regex)
        self.uses_comments = bool(self._unenc_c or self._enc_c)
        # Without comment rules the decision depends only on the path's components,
        # and a match anywhere settles it for the whole subtree: the walk carries
        # that state down instead of re-testing every component at every leaf.
        self.incremental = not self.uses_comments
        self.default = not (meta.encrypted_suffix or self._enc_re is not None)
        # settle(key, None) depends on the key alone, and key names repeat
        # across a file: the inline walks look it up here first.
        self.memo: dict[str, bool | None] = {}

    def settle(self, key: str, state: bool | None) -> bool | None:
        """The subtree's state after descending into ``key`` (None: not settled yet)."""
        if state is not None or not self.incremental:
            return state
        m = self.meta
        if m.unencrypted_suffix and key.endswith(m.unencrypted_suffix):
            return False
        if self._unenc_re is not None and self._unenc_re.search(key):
            return False
        if m.encrypted_suffix and key.endswith(m.encrypted_suffix):
            return True
        if self._enc_re is not None and self._enc_re.search(key):
            return True
        return None

    def decide(
        self, state: bool | None, path: list[str], stack: list[list[str]], is_comment: bool
    ) -> bool:
        """Whether the leaf at ``path`` is encrypted, using the carried state when possible."""
        if self.incremental:
            return self.default if state is None else state
        return self.encrypted(path, stack, is_comment)

    def encrypted(self, path: list[str], stack: list[list[str]], is_comment: bool) -> bool:
        m = self.meta
        result = True
        if m.unencrypted_suffix and any(p.endswith(m.unencrypted_suffix) for p in path):
            result = False
        if m.encrypted_suffix:
            result = any(p.endswith(m.encrypted_suffix) for p in path)
        if self._unenc_re is not None and any(self._unenc_re.search(p) for p in path):
            result = False
        if self._enc_re is not None:
            result = any(self._enc_re.search(p) for p in path)
        if self._unenc_c is not None and any(self._unenc_c.search(c) for cs in stack for c in cs):
            result = False
        if self._enc_c is not None:
            result = False
            last = len(stack) - 1
            for i, cs in enumerate(stack):
                for j, c in enumerate(cs):
                    # sops does not let a matching comment line encrypt itself.
                    if is_comment and i == last and j == len(cs) - 1:
                        continue
                    if self._enc_c.search(c):
                        return True
        return result


def _aad(path: list[str]) -> bytes:
    return (":".join(path) + ":").encode("utf-8", "surrogateescape")


@record
class _Walk:
    cipher: ValueCipher
    selector: Selector
    hasher: hashlib._Hash
    stash: IvStash = field(default_factory=dict)
    record_ivs: bool = False


_NodeFn = Callable[["_Walk", Node, list[str], list[list[str]], bool | None], Node]
_CommentFn = Callable[["_Walk", Comment, list[str], list[list[str]], bool | None], Comment]


def _walk_mapping(
    w: _Walk,
    node: Mapping,
    path: list[str],
    stack: list[list[str]],
    state: bool | None,
    recurse: _NodeFn,
    on_comment: _CommentFn,
) -> Mapping:
    """One mapping level of either walk: comments in place, values under their key path.

    ``level`` holds the comments seen since the last value, which is what the
    comment-based selection rules look at (as sops's walk does).
    """
    out = Mapping()
    level: list[str] = []
    inner = [*stack, level]
    for entry in node.entries:
        if isinstance(entry, Comment):
            level.append(entry.text)
            out.entries.append(on_comment(w, entry, path, inner, state))
            continue
        key, value = entry
        path.append(key)
        out.entries.append((key, recurse(w, value, path, inner, w.selector.settle(key, state))))
        path.pop()
        level.clear()
    return out


def _enc_comment(
    w: _Walk, c: Comment, path: list[str], stack: list[list[str]], state: bool | None
) -> Comment:
    out = _enc_leaf(w, c, path, stack, True, state)
    assert isinstance(out, Comment)
    return out


# ------------------------------------------------------------------ encryption


def _enc_leaf(
    w: _Walk,
    value: object,
    path: list[str],
    stack: list[list[str]],
    comment: bool,
    state: bool | None,
) -> object:
    encrypt = w.selector.decide(state, path, stack, comment)
    if comment:
        assert isinstance(value, Comment)
        if not encrypt or value.text == "":
            return value
        plain, type_ = value.text.encode("utf-8", "surrogateescape"), "comment"
    else:
        plain, type_ = to_sops_bytes(value)
        if not w.selector.meta.mac_only_encrypted or encrypt:
            w.hasher.update(plain)
        if not encrypt:
            return value
        if value == "":
            return ""
    aad = _aad(path)
    text = w.stash.get((aad, type_, plain))
    if text is None and type_ == "int":
        # sops 3.11 reads every JSON number as a float: an unchanged `5432` it
        # stored as type:float is the same number with the same bytes (and MAC
        # input), so it keeps its ciphertext instead of churning on every edit.
        text = w.stash.get((aad, "float", plain))
    if text is None:
        text = w.cipher.seal_text(plain, aad, type_)
    # An inline comment stays inline once encrypted (sops >= 3.13 keeps the flag).
    return Comment(text, value.inline) if isinstance(value, Comment) else text


def _enc_mapping_settled(
    w: _Walk, node: Mapping, path: list[str], stack: list[list[str]], state: bool | None
) -> Mapping:
    """:func:`_walk_mapping` for encryption when no comment rule applies (nearly every file).

    The mirror of :func:`_dec_mapping_settled`: a non-empty string leaf that is
    to be encrypted is hashed and sealed inline (or taken from the stash), in
    the same order and with the same additional data as the general walk;
    everything else goes through the general functions.
    """
    sel = w.selector
    settle = sel.settle
    memo = sel.memo
    default = sel.default
    update = w.hasher.update
    seal_text = w.cipher.seal_text
    stash = w.stash
    prefix = ":".join(path) + ":" if path else ""
    out = Mapping()
    append = out.entries.append
    for entry in node.entries:
        if isinstance(entry, Comment):
            append(_enc_comment(w, entry, path, stack, state))
            continue
        key, value = entry
        sub: bool | None
        if state is not None:
            sub = state
        elif key in memo:
            sub = memo[key]
        else:
            sub = memo[key] = settle(key, None)
        if type(value) is str and value and (default if sub is None else sub):
            plain = value.encode("utf-8", "surrogateescape")
            update(plain)
            aad = (prefix + key + ":").encode("utf-8", "surrogateescape")
            text = stash.get((aad, "str", plain)) if stash else None
            append((key, seal_text(plain, aad, "str") if text is None else text))
            continue
        path.append(key)
        append((key, _enc_node(w, value, path, stack, sub)))
        path.pop()
    return out


def _enc_node(
    w: _Walk, node: Node, path: list[str], stack: list[list[str]], state: bool | None
) -> Node:
    if isinstance(node, Mapping):
        if w.selector.incremental:
            return _enc_mapping_settled(w, node, path, stack, state)
        return _walk_mapping(w, node, path, stack, state, _enc_node, _enc_comment)
    if isinstance(node, list):
        seq = Sequence()
        level: list[str] = []
        inner = [*stack, level]
        for item in node:
            if isinstance(item, Comment):
                level.append(item.text)
                enc = _enc_leaf(w, item, path, inner, True, state)
                # In a list sops stores an encrypted comment as a plain item.
                seq.append(enc.text if isinstance(enc, Comment) and enc is not item else enc)
                continue
            seq.append(_enc_node(w, item, path, inner, state))
            level.clear()
        return seq
    if node is None:
        return None
    return _enc_leaf(w, node, path, stack, False, state)  # type: ignore[return-value]


# ------------------------------------------------------------------ decryption


def _open(w: _Walk, text: str, path: list[str]) -> tuple[object, bool]:
    """Decrypt one ENC string; return (value, is_comment)."""
    enc = encval.parse(text)
    aad = _aad(path)
    plain = w.cipher.open(enc.data, enc.iv, enc.tag, aad)
    if w.record_ivs:
        w.stash[(aad, enc.type, plain)] = text
    if enc.type == "str":
        # The common case: the MAC hashes exactly these bytes (see _dec_scalar).
        return plain.decode("utf-8", "surrogateescape"), False
    if enc.type == "comment":
        return Comment(plain.decode("utf-8", "surrogateescape")), True
    try:
        return from_sops_bytes(plain, enc.type), False
    except ValueError:
        raise IntegrityError("an encrypted value is malformed or was tampered with") from None


def _dec_comment(
    w: _Walk, c: Comment, path: list[str], stack: list[list[str]], state: bool | None
) -> Comment:
    if c.text == "" or not w.selector.decide(state, path, stack, True):
        return c
    if not encval.looks_encrypted(c.text):
        return c  # a comment written in plaintext (older sops, or hand-added)
    value, is_comment = _open(w, c.text, path)
    if is_comment:
        assert isinstance(value, Comment)
        return Comment(value.text, c.inline)
    return Comment(str(value), c.inline)


def _dec_scalar(
    w: _Walk, value: object, path: list[str], stack: list[list[str]], state: bool | None
) -> tuple[object, bool]:
    if not w.selector.decide(state, path, stack, False):
        plain, _ = to_sops_bytes(value)
        if not w.selector.meta.mac_only_encrypted:
            w.hasher.update(plain)
        return value, False
    if value == "":
        return "", False
    if not isinstance(value, str):
        raise IntegrityError("a value that must be encrypted is stored in plaintext")
    result, is_comment = _open(w, value, path)
    if not is_comment:
        # sops hashes the re-encoded typed value (a stored "1.50" hashes as "1.5").
        w.hasher.update(to_sops_bytes(result)[0])
    return result, is_comment


def _dec_mapping_settled(
    w: _Walk, node: Mapping, path: list[str], stack: list[list[str]], state: bool | None
) -> Mapping:
    """:func:`_walk_mapping` for decryption when no comment rule applies (nearly every file).

    Same order, same checks, same MAC input as the general walk, but the common
    leaf (an ``ENC[…,type:str]`` string) is opened inline: no per-leaf calls
    through the generic callbacks, the key path's additional data built from a
    per-mapping prefix. Every other leaf and every nested node goes through the
    general functions.
    """
    sel = w.selector
    settle = sel.settle
    memo = sel.memo
    default = sel.default
    update = w.hasher.update
    open_value = w.cipher.open
    parts = encval.parts
    record = w.stash if w.record_ivs else None
    prefix = ":".join(path) + ":" if path else ""
    out = Mapping()
    append = out.entries.append
    for entry in node.entries:
        if isinstance(entry, Comment):
            append(_dec_comment(w, entry, path, stack, state))
            continue
        key, value = entry
        sub: bool | None
        if state is not None:
            sub = state
        elif key in memo:
            sub = memo[key]
        else:
            sub = memo[key] = settle(key, None)
        if type(value) is str and value and (default if sub is None else sub):
            data, iv, tag, type_ = parts(value)
            if type_ == "str":
                aad = (prefix + key + ":").encode("utf-8", "surrogateescape")
                plain = open_value(data, iv, tag, aad)
                if record is not None:
                    record[(aad, type_, plain)] = value
                # decode/encode with surrogateescape round-trips: these are the
                # very bytes the general walk hashes (to_sops_bytes of the str).
                update(plain)
                append((key, plain.decode("utf-8", "surrogateescape")))
                continue
        path.append(key)
        append((key, _dec_node(w, value, path, stack, sub)))
        path.pop()
    return out


def _dec_node(
    w: _Walk, node: Node, path: list[str], stack: list[list[str]], state: bool | None
) -> Node:
    if isinstance(node, Mapping):
        if w.selector.incremental:
            return _dec_mapping_settled(w, node, path, stack, state)
        return _walk_mapping(w, node, path, stack, state, _dec_node, _dec_comment)
    if isinstance(node, list):
        seq = Sequence()
        level: list[str] = []
        inner = [*stack, level]
        for item in node:
            if isinstance(item, Comment):
                level.append(item.text)
                seq.append(_dec_comment(w, item, path, inner, state))
                continue
            if isinstance(item, Mapping | list) or item is None:
                seq.append(_dec_node(w, cast(Node, item), path, inner, state))
                level.clear()
                continue
            leaf, _ = _dec_scalar(w, item, path, inner, state)
            seq.append(leaf)
            if isinstance(leaf, Comment):
                level.append(leaf.text)
            else:
                level.clear()
        return seq
    if node is None:
        return None
    leaf, _ = _dec_scalar(w, node, path, stack, state)
    return cast(Node, leaf)


# ------------------------------------------------------------------ public API


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
    w = _Walk(cipher, Selector(meta), _new_hasher(meta), record_ivs=record_ivs)
    plain_docs = []
    for doc in docs:
        out = _dec_node(w, doc, [], [], None)
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
    w = _Walk(cipher, Selector(meta), _new_hasher(meta), stash=dict(stash or {}))
    enc_docs = []
    for doc in docs:
        out = _enc_node(w, doc, [], [], None)
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


def leaves(node: Node, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every scalar leaf with its key path (list items share their list's path)."""
    out: list[tuple[tuple[str, ...], object]] = []
    _collect(node, path, out)
    return out


def _collect(node: Node, path: tuple[str, ...], out: list[tuple[tuple[str, ...], object]]) -> None:
    if isinstance(node, Mapping):
        for k, v in node.items():
            _collect(v, (*path, k), out)
    elif isinstance(node, list):
        for i, v in enumerate(x for x in node if not isinstance(x, Comment)):
            _collect(v, (*path, str(i)), out)
    else:
        out.append((path, node))


def check_keys(doc: Mapping, name: str) -> None:
    """Refuse documents sops cannot store (a top-level ``sops`` key)."""
    if "sops" in doc:
        raise BadInput(
            f"{name}: the document already has a top-level 'sops' key",
            hint="is it already encrypted?",
        )
