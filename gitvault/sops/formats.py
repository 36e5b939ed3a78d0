"""Which sops store a file uses, and the one dispatcher to the stores.

sops picks a file's format from its extension: ``.yaml``/``.yml`` YAML,
``.json`` JSON, ``.env`` dotenv, ``.ini`` INI, anything else binary (the whole
file encrypted as one value) — ``--input-type``/``--output-type`` override it.
gitvault does the same, with one leniency when *reading*: a file whose name
says binary but whose bytes are not a JSON object is read as YAML, because
gitvault wrote every vault file as YAML before it knew other formats; such a
file keeps being written as YAML (never turned into something else).

INI is recognised but not supported: sops writes its metadata section in Go
map order (it changes between runs), so gitvault could promise neither
no-churn writes nor a stable read; INI files are refused with one line.

This module imports nothing heavy: the YAML path (by far the common one) only
calls :func:`format_for_path`; the stores are imported when a file needs one.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from gitvault.errors import BadInput

if TYPE_CHECKING:
    from gitvault.model import Mapping

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
# What --input-type/--output-type accept (sops's names).
TYPE_CHOICES = ("yaml", "json", "dotenv", "ini", "binary")
_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


def format_for_path(name: str) -> str:
    """sops's choice of store for a path: by extension, binary when none matches."""
    if name.endswith(")") and " (" in name:
        # Callers decorate names for messages ("app.json (HEAD)"); the format is the path's.
        name = name[: name.rindex(" (")]
    base = posixpath.basename(name.replace("\\", "/"))
    _, ext = posixpath.splitext(base)
    if not ext and base.startswith(".") and base.lower() == ".env":
        return "dotenv"  # sops: a file named ".env" is dotenv too
    return _EXTENSIONS.get(ext.lower(), "binary")


def vault_format(name: str, data: bytes) -> str:
    """The format to read an encrypted file in (see the module note on the YAML leniency)."""
    fmt = format_for_path(name)
    if fmt == "binary" and data.lstrip()[:1] != b"{":
        return "yaml"
    return fmt


# Cheap byte checks (no parse) for "this is an encrypted sops file" in each
# format, compiled on first use: the YAML decrypt path never needs them.
_CHECKS: list[tuple[re.Pattern[bytes], re.Pattern[bytes]]] = []


def _checks() -> list[tuple[re.Pattern[bytes], re.Pattern[bytes]]]:
    if not _CHECKS:
        _CHECKS.extend(
            (re.compile(block), re.compile(mac))
            for block, mac in (
                (rb"(?m)^sops:[ \t]*\r?$", rb"(?m)^[ \t]+mac:[ \t]*\S"),  # YAML
                (rb'(?m)^[ \t]*"sops":[ \t]*\{', rb'"mac":[ \t]*"'),  # JSON, binary
                (rb"(?m)^sops_(?:version|lastmodified|mac)=", rb"(?m)^sops_mac=\S"),  # dotenv
            )
        )
    return _CHECKS


def looks_encrypted(data: bytes, *, need_mac: bool = True) -> bool:
    """Whether ``data`` carries sops metadata in any format (with a ``mac``, by default).

    A byte check only (commits, the merge driver and the journal use it before
    any parse); a NUL byte never appears in an encrypted file of any format.
    """
    if b"\0" in data:
        return False
    return any(
        block.search(data) and (not need_mac or mac.search(data)) for block, mac in _checks()
    )


def sniff(data: bytes) -> str:
    """The format of an encrypted file whose name says nothing (a journal copy)."""
    if data.lstrip()[:1] == b"{":
        return "json"
    yaml_block, dotenv_block = _checks()[0][0], _checks()[2][0]
    if dotenv_block.search(data) and not yaml_block.search(data):
        return "dotenv"
    return "yaml"


def refuse_ini(name: str) -> BadInput:
    return BadInput(
        f"{name}: INI vault files are not supported (sops writes their metadata in random order)",
        hint="use sops for this file, or store it as .yaml, .json or .env",
    )


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text (byte {exc.start})") from None


def parse_encrypted(data: bytes, name: str, fmt: str) -> tuple[list[Mapping], object]:
    """A non-YAML encrypted file: its document (without metadata) and its ``sops`` block."""
    if fmt == "ini":
        raise refuse_ini(name)
    if fmt in ("json", "binary"):
        from gitvault.sops.stores import json as jsonstore

        doc = jsonstore.load(_text(data, name), name)
        block = doc.get("sops")
        doc.remove("sops")
        return [doc], block
    if fmt == "dotenv":
        from gitvault.sops.stores import dotenv

        doc, meta = dotenv.split_metadata(dotenv.load(_text(data, name), name), name)
        return [doc], meta
    raise BadInput(f"{name}: unknown file format {fmt!r}")


def check_writable(documents: list[Mapping], fmt: str, name: str) -> None:
    """Refuse documents the format cannot hold, before anything is encrypted or written."""
    if fmt == "yaml":
        return
    if fmt == "ini":
        raise refuse_ini(name)
    if len(documents) != 1:
        raise BadInput(f"{name}: a {fmt} file holds exactly one document")
    if fmt == "dotenv":
        from gitvault.sops.stores import dotenv

        dotenv.check(documents[0], name)
    elif fmt == "binary":
        from gitvault.sops.stores import binary

        binary.check(documents[0], name)


def emit_encrypted(
    documents: list[Mapping], block: Mapping, fmt: str, name: str, indent: int | None = None
) -> bytes:
    """The encrypted file's bytes in a non-YAML format (``block`` is the ``sops`` mapping)."""
    check_writable(documents, fmt, name)
    from gitvault.model import Mapping as M

    if fmt in ("json", "binary"):
        from gitvault.sops.stores import json as jsonstore

        doc = M([*documents[0].entries, ("sops", block)])
        return jsonstore.dump(doc, indent).encode("utf-8", "surrogateescape")
    from gitvault.sops.stores import dotenv

    return dotenv.dump(documents[0], block).encode("utf-8", "surrogateescape")


def load_plain(data: bytes, name: str, fmt: str) -> list[Mapping]:
    """Plaintext bytes in ``fmt`` as documents (what ``encrypt`` and ``edit`` read)."""
    if fmt == "yaml":
        from gitvault.yamlio import load_canonical, load_documents

        text = _text(data, name)
        return load_canonical(text) or load_documents(text, name)
    if fmt == "ini":
        raise refuse_ini(name)
    if fmt == "binary":
        from gitvault.sops.stores import binary

        return [binary.load_plain(data)]
    if fmt == "json":
        from gitvault.sops.stores import json as jsonstore

        return [jsonstore.load(_text(data, name), name)]
    if fmt == "dotenv":
        from gitvault.sops.stores import dotenv

        doc = dotenv.load(_text(data, name), name)
        return [doc]
    raise BadInput(f"{name}: unknown file format {fmt!r}")


def emit_plain(documents: list[Mapping], fmt: str, name: str, indent: int | None = None) -> bytes:
    """Decrypted documents as sops prints them for ``fmt`` (``sops decrypt``'s output)."""
    if fmt == "yaml":
        from gitvault.yamlio import emit_documents

        return emit_documents(documents).encode("utf-8", "surrogateescape")
    check_writable(documents, fmt, name)
    if fmt == "binary":
        from gitvault.sops.stores import binary

        return binary.dump_plain(documents[0], name)
    if fmt == "json":
        from gitvault.sops.stores import json as jsonstore

        return jsonstore.dump(documents[0], indent).encode("utf-8", "surrogateescape")
    from gitvault.sops.stores import dotenv

    return dotenv.dump(documents[0]).encode("utf-8", "surrogateescape")
