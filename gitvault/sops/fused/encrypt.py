"""``encrypt`` of a plaintext YAML file in the simple block-mapping subset, in one pass.

The plaintext lines are read with the canonical reader's scalar resolver, each
value sealed as the general walk seals it (same order, so the same random
bytes are drawn), and the lines formatted as the emitter formats them; the
``sops:`` block comes from the same serializer. Anything outside the subset
gives None: the caller then takes the general path.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gitvault.crypto.aead import ValueCipher
from gitvault.errors import GitvaultError
from gitvault.model import Timestamp
from gitvault.records import replace
from gitvault.sops.fused import layout
from gitvault.sops.fused.meta import block_text, mac_text
from gitvault.sops.metadata import DEFAULT_UNENCRYPTED_SUFFIX
from gitvault.yamlio.emit import INDENT

if TYPE_CHECKING:
    from gitvault.policy import Policy, Rule

# The scalar types the canonical reader's resolver gives for a plain value.
_SCALARS = (type(None), str, bool, int, float, Timestamp)


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
