"""Decrypt a YAML vault file straight to the YAML ``gitvault decrypt`` prints, in one pass.

The general path builds a tree (the canonical reader), decrypts it into a
second tree (verifying the MAC), and emits that as YAML. Here each data line
is read, its value opened with the line's key path as additional data, its
plaintext kept for the MAC, and its output line formatted with the emitter's
own scalar and key functions; the collected text is returned only after the
MAC has been verified. Files outside the accepted subset (see
:mod:`gitvault.sops.fused.layout`) and every integrity problem give None: the
caller then runs the general path, which prints the same text or raises its
usual error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitvault.errors import GitvaultError
from gitvault.sops import value as encval
from gitvault.sops.fused import layout
from gitvault.sops.fused.meta import (
    KeyProblem,
    Keys,
    data_key,
    mac_matches,
    open_values,
    read_meta,
)
from gitvault.sops.metadata import DEFAULT_UNENCRYPTED_SUFFIX
from gitvault.yamlio.emit import INDENT, format_scalar, format_string
from gitvault.yamlio.emit import _key as emitted_key
from gitvault.yamlio.scalars import from_sops_bytes, to_sops_bytes


def decrypt_path(path: Path, identities: Keys) -> str | None:
    """What ``gitvault decrypt PATH`` prints for a YAML vault file, or None (general path)."""
    from gitvault import fsutil
    from gitvault.sops.formats import vault_format

    try:
        data = fsutil.read_input(path)
    except GitvaultError:
        return None
    name = str(path)
    if vault_format(name, data) != "yaml":
        return None
    return decrypt_text(data, name, identities)


def decrypt_text(data: bytes, name: str, identities: Keys) -> str | None:
    """The decrypted file as ``vault.render(plain, "yaml")`` writes it, MAC verified; or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    cut = layout.split(text)
    if cut is None:
        return None
    lines, block = cut
    records = layout.entries(lines)
    if records is None:
        return None
    meta = read_meta(block, name)
    if meta is None:
        return None
    try:
        return _walk(records, lambda: data_key(meta, identities), meta)
    except KeyProblem as problem:
        raise problem.error from None  # the general path's error, without a second prompt
    except (GitvaultError, ValueError, TypeError):
        # a malformed value (IntegrityError), a typed value that does not read
        # back: the general path raises the proper error for it.
        return None


def _walk(records: list[layout.Entry], unwrap: Callable[[], bytes | None], meta: Any) -> str | None:
    """Three batched steps: lay out the lines (values left open), open every value
    (parse, then decrypt in one C-level loop), then hash, check the MAC, format.

    ``unwrap`` gives the data key; it is called only once the file is known to be
    in the accepted subset, so an identity that asks for a passphrase is never
    asked twice (here and again on the general path) for a file refused here.
    """
    out: list[str] = []
    append = out.append
    slots: list[tuple[int, str, int]] = []  # (index in out, "key: " head, block indent)
    texts: list[str] = []
    aads: list[bytes] = []
    suffix = DEFAULT_UNENCRYPTED_SUFFIX
    keys: dict[str, str] = {}
    step = INDENT  # `decrypt` always prints sops's default indent
    for depth, key, rest, prefix in records:
        if key.endswith(suffix):
            return None  # an unencrypted subtree: the general path handles it
        text = keys.get(key)
        if text is None:
            text = keys[key] = emitted_key(key)
        pad = " " * (step * depth)
        if rest is None:
            append(f"{pad}{text}:\n")
        elif rest[:20] == "ENC[AES256_GCM,data:":
            slots.append((len(out), f"{pad}{text}: ", step * depth + step))
            texts.append(rest)
            aads.append((prefix + key + ":").encode("utf-8", "surrogateescape"))
            append("")
        elif rest == "null":
            append(f"{pad}{text}: null\n")
        elif rest == '""':
            append(f"{pad}{text}: {format_scalar('', step * depth + step, step)}\n")
        else:
            return None  # plaintext where a value must be encrypted, or another form
    fields = list(map(encval.parts, texts))  # IntegrityError on a malformed value
    dkey = unwrap()
    if dkey is None:
        return None
    cipher, plains = open_values(dkey, fields, aads)
    hashed: list[bytes] = []
    keep = hashed.append
    for (n, head, nested), (_, _, _, type_), plain in zip(slots, fields, plains, strict=True):
        if type_ == "str":
            keep(plain)
            value = plain.decode("utf-8", "surrogateescape")
            out[n] = f"{head}{format_string(value, nested, step=step)}\n"
            continue
        if type_ == "comment":
            return None
        typed = from_sops_bytes(plain, type_)
        # sops hashes the re-encoded typed value (a stored "1.50" hashes as "1.5").
        keep(to_sops_bytes(typed)[0])
        out[n] = f"{head}{format_scalar(typed, nested, step)}\n"
    if not mac_matches(meta, cipher, hashed):
        return None
    return "".join(out)
