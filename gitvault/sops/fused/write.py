"""``set`` of one existing string value and ``encrypt`` of a plaintext YAML file, in one pass.

``set``: every value is opened and the old MAC checked (as the general path's
decrypt does); every line but the changed one is kept byte for byte (the
general path re-emits the very same text: unchanged values keep their
ciphertext through its IV stash, and only files already in the emitter's
layout for the file's indent are accepted); the changed value is sealed under
a fresh IV; the MAC, ``lastmodified`` and the ``sops:`` block are written by
the same functions the general path uses.

``encrypt``: the plaintext lines are read with the canonical reader's scalar
resolver, each value sealed as the general walk seals it (same order, so the
same IVs are drawn), and the lines formatted as the emitter formats them.

Both return None for anything outside the accepted subset or on any integrity
problem; the caller then takes the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.crypto.aead import ValueCipher
from gitvault.crypto.digest import compare_digest
from gitvault.errors import GitvaultError
from gitvault.model import Timestamp
from gitvault.records import replace
from gitvault.sops import value as encval
from gitvault.sops.fused import layout
from gitvault.sops.fused.meta import (
    KeyProblem,
    Keys,
    block_text,
    data_key,
    mac_text,
    open_values,
    read_meta,
    stored_mac,
)
from gitvault.sops.metadata import DEFAULT_UNENCRYPTED_SUFFIX
from gitvault.yamlio.emit import INDENT

# The scalar types the canonical reader's resolver gives for a plain value.
_SCALARS = (type(None), str, bool, int, float, Timestamp)

if TYPE_CHECKING:
    from gitvault.edits import Change
    from gitvault.policy import Policy, Rule


def set_string(path: Path, key: str, value: str, identities: Keys) -> Change | None:
    """``edits.set_key`` for an existing string leaf of a YAML vault file, or None.

    The result (the file's new bytes, or the "unchanged" outcome) is what the
    general path returns for the same call, apart from the fresh IV of the
    changed value and of the MAC, and ``lastmodified``.
    """
    from gitvault import fsutil, keypath, schemacheck
    from gitvault.sops.formats import vault_format
    from gitvault.sopsconfig import indent_for

    name = str(path)
    try:
        parts = keypath.parse(key)
        data = fsutil.read_input(path)
        if vault_format(name, data) != "yaml" or not value:
            return None
        if not all(type(p) is str and p and ":" not in p for p in parts):
            return None
        text = data.decode("utf-8")
        step = indent_for("yaml", Path(name)) or INDENT
        cut = layout.split(text)
        if cut is None:
            return None
        lines, block = cut
        records = layout.entries(lines, step=step, canonical_keys=True)
        if records is None:
            return None
        meta = read_meta(block, name)
        if meta is None or schemacheck.schema_check(path) is not schemacheck.no_check:
            return None  # a JSON schema is checked on the document tree: general path
        return _set(records, lines, meta, lambda: data_key(meta, identities), parts, value, step)
    except KeyProblem as problem:
        raise problem.error from None  # the general path's error, without a second prompt
    except (GitvaultError, UnicodeDecodeError):
        return None


def _set(
    records: list[layout.Entry],
    lines: list[str],
    meta: Any,
    unwrap: Callable[[], bytes | None],
    parts: list[str | int],
    value: str,
    step: int,
) -> Change | None:
    from gitvault import keypath
    from gitvault.edits import Change
    from gitvault.sops.file import now_rfc3339

    target_key = parts[-1]
    target_prefix = "".join(f"{p}:" for p in parts[:-1])
    target_depth = len(parts) - 1
    suffix = DEFAULT_UNENCRYPTED_SUFFIX
    texts: list[str] = []
    aads: list[bytes] = []
    found = -1
    slot = -1
    for n, (depth, key, rest, prefix) in enumerate(records):
        if key.endswith(suffix):
            return None
        if depth == target_depth and key == target_key and prefix == target_prefix:
            if rest is None:
                return None  # a mapping, not a leaf
            found, slot = n, len(texts)
        if rest is None:
            continue
        texts.append(rest)
        aads.append((prefix + key + ":").encode("utf-8", "surrogateescape"))
    fields = list(map(encval.parts, texts))  # IntegrityError on a malformed value
    if any(f[3] != "str" for f in fields):
        return None  # typed values may not re-encode to the same bytes
    if found < 0:
        return None  # a new key: the general path adds it
    # The data key only now, for a file this pass will finish: a passphrase
    # prompt is never repeated by the general path for a file refused here.
    dkey = unwrap()
    if dkey is None:
        return None
    cipher, plains = open_values(dkey, fields, aads)
    old_mac = stored_mac(meta, cipher)
    if old_mac is None:
        return None
    if not compare_digest(old_mac.upper(), mac_text(plains)):
        return None
    display = keypath.display(parts)
    if plains[slot].decode("utf-8", "surrogateescape") == value:
        return Change(display, "unchanged", None)
    depth, key, _, prefix = records[found]
    new_plain = value.encode("utf-8", "surrogateescape")
    aad = (prefix + key + ":").encode("utf-8", "surrogateescape")
    sealed = cipher.seal_text(new_plain, aad, "str")
    plains[slot] = new_plain
    new_meta = replace(meta.with_defaults(), lastmodified=now_rfc3339())
    mac_plain = mac_text(plains)
    mac_aad = new_meta.mac_aad()
    if mac_aad == meta.mac_aad() and meta.mac.endswith(",type:str]") and mac_plain == old_mac:
        mac = meta.mac  # the general path's IV stash gives the stored text back
    else:
        mac = cipher.seal_text(mac_plain, mac_aad, "str")
    new_meta = replace(new_meta, mac=mac)
    out = list(lines)
    out[found] = f"{' ' * (step * depth)}{key}: {sealed}"
    text = "\n".join(out) + "\n" + block_text(new_meta, step)
    return Change(display, "changed", text.encode("utf-8", "surrogateescape"))


def encrypt_yaml(
    data: bytes, name: str, pol: Policy, rule: Rule, indent: int | None
) -> bytes | None:
    """``vault.encrypt_plaintext`` of a plaintext YAML file for the rule's readers, or None.

    Only the default selection (no selection options on the rule) and no
    schema; the caller checks the formats.
    """
    from gitvault.sops.file import new_metadata, now_rfc3339
    from gitvault.yamlio.emit import _key as emitted_key
    from gitvault.yamlio.emit import format_scalar
    from gitvault.yamlio.fast import _Bail, _scalar
    from gitvault.yamlio.scalars import to_sops_bytes

    if rule.schema or rule.selection:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not layout.plain_text(text):
        return None
    records = layout.entries(text[:-1].split("\n"))
    if records is None:
        return None
    step = indent or INDENT
    suffix = DEFAULT_UNENCRYPTED_SUFFIX
    plains: list[bytes] = []
    aads: list[bytes] = []
    types: list[str] = []
    slots: list[int] = []  # where in ``out`` each value to seal goes
    out: list[str] = []
    append = out.append
    keys: dict[str, str] = {}
    pads = [" " * (step * d) for d in range(layout.MAX_DEPTH + 2)]
    # One pass: resolve, refuse or lay out every line; the sealing (and every
    # random draw, in the general path's order) comes after, all at once.
    for depth, key, rest, prefix in records:
        if key.endswith(suffix):
            return None
        ktext = keys.get(key)
        if ktext is None:
            ktext = keys[key] = emitted_key(key)
        if rest is None:
            append(f"{pads[depth]}{ktext}:")
            continue
        try:
            item = _scalar(rest)
        except _Bail:
            return None
        if type(item) is str and item:
            plain, type_ = item.encode("utf-8", "surrogateescape"), "str"  # to_sops_bytes
        elif type(item) not in _SCALARS:
            return None  # {} and [] (and anything else): the general path
        elif item is None:
            append(f"{pads[depth]}{ktext}: null")
            continue
        elif item == "":
            append(f"{pads[depth]}{ktext}: {format_scalar('', step * depth + step, step)}")
            continue
        else:
            plain, type_ = to_sops_bytes(item)
        slots.append(len(out))
        plains.append(plain)
        aads.append((prefix + key + ":").encode("utf-8", "surrogateescape"))
        types.append(type_)
        append(f"{pads[depth]}{ktext}: ")
    try:
        recipients = pol.reader_keys(rule)
        import os

        dkey = os.urandom(32)
        meta = new_metadata(recipients, dkey)
    except GitvaultError:
        return None
    meta = replace(meta.with_defaults(), lastmodified=now_rfc3339())
    cipher = ValueCipher(dkey)
    # The empty string adds nothing to the MAC, so the sealed values' plaintexts are its input.
    for n, sealed in zip(slots, cipher.seal_many(plains, aads, types), strict=True):
        out[n] += sealed
    seal = cipher.seal_text
    meta = replace(meta, mac=seal(mac_text(plains), meta.mac_aad(), "str"))
    result = "\n".join(out) + "\n" + block_text(meta, step)
    return result.encode("utf-8", "surrogateescape")
