"""The two walks over a sops document: encrypt or decrypt every leaf, feeding the MAC.

They follow sops 3.11 exactly: leaves in document order; additional data is
the key path joined by ``:`` plus a trailing ``:`` (lists add no index);
comments are encrypted in place with the path of the collection holding them
and never enter the MAC; ``null`` is never encrypted and empty strings are
stored as ``""``. The common leaf (a string in a mapping, no comment rule) is
handled inline; everything else goes through the general functions.
:mod:`gitvault.sops.document` runs them and checks or writes the MAC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from gitvault.crypto.aead import ValueCipher
from gitvault.errors import IntegrityError
from gitvault.model import Comment, Mapping, Node, Sequence
from gitvault.records import field, record
from gitvault.sops import value as encval
from gitvault.sops.selector import Selector
from gitvault.yamlio.scalars import from_sops_bytes, to_sops_bytes

if TYPE_CHECKING:
    import hashlib

# (aad, type, plaintext bytes) -> the ENC[…] text it was stored as. Re-encrypting
# an unchanged value gives back exactly that text (AES-GCM with the same key, IV,
# additional data and plaintext is deterministic; sops re-uses the IV the same
# way), so diffs show only what really changed, and no AES work is repeated.
IvStash = dict[tuple[bytes, str, bytes], str]


def _aad(path: list[str]) -> bytes:
    return (":".join(path) + ":").encode("utf-8", "surrogateescape")


@record
class Walk:
    cipher: ValueCipher
    selector: Selector
    hasher: hashlib._Hash
    stash: IvStash = field(default_factory=dict)
    record_ivs: bool = False


_NodeFn = Callable[["Walk", Node, list[str], list[list[str]], bool | None], Node]
_CommentFn = Callable[["Walk", Comment, list[str], list[list[str]], bool | None], Comment]


def _walk_mapping(
    w: Walk,
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
    w: Walk, c: Comment, path: list[str], stack: list[list[str]], state: bool | None
) -> Comment:
    out = _enc_leaf(w, c, path, stack, True, state)
    assert isinstance(out, Comment)
    return out


# ------------------------------------------------------------------ encryption


def _enc_leaf(
    w: Walk,
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
    w: Walk, node: Mapping, path: list[str], stack: list[list[str]], state: bool | None
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
        append((key, enc_node(w, value, path, stack, sub)))
        path.pop()
    return out


def enc_node(
    w: Walk, node: Node, path: list[str], stack: list[list[str]], state: bool | None
) -> Node:
    if isinstance(node, Mapping):
        if w.selector.incremental:
            return _enc_mapping_settled(w, node, path, stack, state)
        return _walk_mapping(w, node, path, stack, state, enc_node, _enc_comment)
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
            seq.append(enc_node(w, item, path, inner, state))
            level.clear()
        return seq
    if node is None:
        return None
    return _enc_leaf(w, node, path, stack, False, state)  # type: ignore[return-value]


# ------------------------------------------------------------------ decryption


def _open(w: Walk, text: str, path: list[str]) -> tuple[object, bool]:
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
    w: Walk, c: Comment, path: list[str], stack: list[list[str]], state: bool | None
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
    w: Walk, value: object, path: list[str], stack: list[list[str]], state: bool | None
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
    w: Walk, node: Mapping, path: list[str], stack: list[list[str]], state: bool | None
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
        append((key, dec_node(w, value, path, stack, sub)))
        path.pop()
    return out


def dec_node(
    w: Walk, node: Node, path: list[str], stack: list[list[str]], state: bool | None
) -> Node:
    if isinstance(node, Mapping):
        if w.selector.incremental:
            return _dec_mapping_settled(w, node, path, stack, state)
        return _walk_mapping(w, node, path, stack, state, dec_node, _dec_comment)
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
                seq.append(dec_node(w, cast(Node, item), path, inner, state))
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
