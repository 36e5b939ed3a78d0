"""``set`` of one existing string value of a YAML vault file, in one pass.

Every value is opened and the old MAC checked (as the general path's decrypt
does); every line but the changed one is kept byte for byte (the general path
re-emits the very same text: unchanged values keep their ciphertext through its
IV stash, and only files already in the emitter's layout for the file's indent
are accepted); the changed value is sealed under a fresh IV; the MAC,
``lastmodified`` and the ``sops:`` block are written by the same functions the
general path uses. Anything outside the accepted subset, and every integrity
problem, gives None: the caller then takes the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.crypto.digest import compare_digest
from gitvault.errors import GitvaultError
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

if TYPE_CHECKING:
    from gitvault.edits import Change


def set_string(path: Path, key: str, value: str, identities: Keys) -> Change | None:
    """``edits.set_key`` for an existing string leaf of a YAML vault file, or None.

    The result (the file's new bytes, or the "unchanged" outcome) is what the
    general path returns for the same call, apart from the fresh IV of the
    changed value and of the MAC, and ``lastmodified``.
    """
    from gitvault import edits, fsutil, keypath, schemacheck
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
        if meta is None or edits.schema_check(path) is not schemacheck.no_check:
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
