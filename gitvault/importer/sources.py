"""Read import sources into units: one set of keys bound for one vault file.

The format of a source comes from its name (``--format`` overrides it):
``*.json`` is JSON; ``*.yaml``/``*.yml`` is YAML; ``.env``, ``.env.*`` and
``*.env`` are dotenv. Inside JSON and YAML the content decides the rest: a
top-level ``sops`` object makes it a sops file (decrypted with the user's
identities, MAC verified), and Kubernetes ``Secret`` objects (one per
document, or in a ``List``) become one unit per Secret. Any other document is
one unit of ordinary keys; a YAML stream with several such documents is
refused (one source, one vault file).

sops files in other formats (JSON, dotenv, binary) go through
:data:`SOPS_READERS`, keyed by format: a format without a reader is refused
with one line, so adding one means adding an entry, nothing else.

This module never prints and never writes; values stay in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput
from gitvault.model import Comment, Mapping, from_python

if TYPE_CHECKING:
    from gitvault.identities import Identities

KeyPath = tuple[str | int, ...]
FORMATS = ("dotenv", "json", "yaml")


@dataclass
class Unit:
    """Keys read from one source (or one Secret in it), before a destination is chosen."""

    source: str  # the source path as the user gave it
    kind: str  # dotenv, json, yaml, secret; "sops-" prefixed when it was decrypted
    document: Mapping = field(repr=False)
    lines: dict[KeyPath, int] = field(repr=False, default_factory=dict)  # key path -> line
    secret: str | None = None  # "namespace/name" or "name" for a Kubernetes Secret
    name: str | None = None
    namespace: str | None = None

    def origin(self, path: KeyPath) -> str:
        """``source:line`` of a key (the nearest enclosing key with a known line)."""
        probe = path
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return f"{self.source}:{line}"
            probe = probe[:-1]
        return self.source


def read_source(path: Path, roots: dict[str, Path] | None = None) -> bytes:
    """A source's bytes: capped, a regular file, and not a link leading elsewhere.

    A source inside a repository (or vault) may not be a link out of it, as for
    every input file; a source outside any repository may not be a link out of
    its own directory. Either would let a planted link make ``import`` read
    ``~/.ssh`` or another checkout into a vault file.
    """
    from gitvault.fsutil import _enclosing_root, read_input

    absolute = Path(os.path.abspath(path))
    folder = str(absolute.parent)
    root = roots.get(folder) if roots is not None else None
    if root is None:
        root = _enclosing_root(absolute) or absolute.parent
        if roots is not None:
            roots[folder] = root  # one walk up per folder, not per source
    return read_input(path, root=root)


def detect_format(path: Path) -> str | None:
    """The format a file name says, or None when it says nothing we know."""
    name = path.name.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return "dotenv"
    return None


IdentityLoader = Callable[[], "Identities"]
SopsReader = Callable[[bytes, str, "Identities"], list[Mapping]]


def _sops_reader(fmt: str) -> SopsReader:
    """A reader of sops files in ``fmt``, through the vault read path (MAC verified)."""

    def read(data: bytes, name: str, ids: Identities) -> list[Mapping]:
        from gitvault.sops import file as sopsfile
        from gitvault.vault import decrypt

        vault = sopsfile.parse_vault(data, name, fmt)
        return decrypt(vault, ids).documents

    return read


# Format -> reader of an encrypted sops file of that format (INI is not read:
# gitvault refuses sops INI files everywhere, see docs/formats.md).
SOPS_READERS: dict[str, SopsReader] = {
    fmt: _sops_reader(fmt) for fmt in ("yaml", "json", "dotenv", "binary")
}


def decrypt_sops(fmt: str, data: bytes, name: str, ids: IdentityLoader) -> list[Mapping]:
    """Decrypted documents of a sops file of format ``fmt``; refused when none reads it."""
    reader = SOPS_READERS.get(fmt)
    if reader is None:
        raise BadInput(
            f"{name}: a sops {fmt} file; only sops YAML files can be imported for now",
            hint="convert it with `sops decrypt --output-type yaml` piped to `sops encrypt`, "
            "or import the original plaintext",
        )
    return reader(data, name, ids())


def read_units(
    path: Path, data: bytes, fmt: str | None, ids: IdentityLoader, label: str | None = None
) -> list[Unit]:
    """Parse one source's bytes into units (see the module docstring)."""
    name = label or str(path)
    fmt = fmt or detect_format(path)
    if fmt is None:
        raise BadInput(
            f"{name}: cannot tell the format from the file name",
            hint="name it *.env, *.json, *.yaml, or pass --format dotenv|json|yaml",
        )
    if b"\x00" in data:
        raise BadInput(f"{name}: contains NUL bytes: a binary file, not {fmt} text")
    from gitvault.sops.file import decode_utf8

    text = decode_utf8(data, name)
    if fmt == "dotenv":
        return [_dotenv_unit(text, name, data, ids)]
    if fmt == "json":
        return _json_units(text, name, data, ids)
    if fmt == "yaml":
        return _yaml_units(text, name, data, ids)
    raise BadInput(f"unknown input format {fmt!r}")


def _dotenv_unit(text: str, name: str, data: bytes, ids: IdentityLoader) -> Unit:
    from gitvault.importer import dotenv

    entries = dotenv.parse(text, name)
    keys = {e.key for e in entries}
    if "sops_mac" in keys and "sops_version" in keys:
        docs = decrypt_sops("dotenv", data, name, ids)
        return Unit(name, "sops-dotenv", docs[0], {})
    if not entries:
        raise BadInput(f"{name}: no KEY=value lines")
    doc = Mapping([(e.key, e.value) for e in entries])
    return Unit(name, "dotenv", doc, {(e.key,): e.line for e in entries})


def _json_units(text: str, name: str, data: bytes, ids: IdentityLoader) -> list[Unit]:
    from gitvault.importer import jsonsrc, kube

    value, lines = jsonsrc.parse(text, name)
    if not isinstance(value, dict):
        raise BadInput(f"{name}: the top level must be a JSON object")
    kind = "json"
    if isinstance(value.get("sops"), dict):
        fmt = "binary" if set(value) == {"data", "sops"} else "json"
        doc = decrypt_sops(fmt, data, name, ids)[0]
        kind, lines = f"sops-{fmt}", {}
    else:
        converted = from_python(value)
        assert isinstance(converted, Mapping)
        doc = converted
    if kube.is_manifest(doc):
        prefix = "sops-" if kind.startswith("sops") else ""
        return _secret_units(kube.secrets_of([doc], name), name, [lines], prefix + "secret")
    return [_plain_unit(doc, name, lines, kind)]


def _yaml_units(text: str, name: str, data: bytes, ids: IdentityLoader) -> list[Unit]:
    from gitvault.importer import kube
    from gitvault.yamlio import load_with_lines

    docs, key_lines = load_with_lines(text, name)
    docs = [d for d in docs if len(d) > 0]
    if not docs:
        raise BadInput(f"{name}: no keys (an empty YAML document)")
    lines = [_path_lines(d, key_lines) for d in docs]
    kind = "yaml"
    if "sops" in docs[0] and isinstance(docs[0].get("sops"), Mapping):
        docs = decrypt_sops("yaml", data, name, ids)
        kind = "sops-yaml"
    if any(kube.is_manifest(d) for d in docs):
        prefix = "sops-" if kind.startswith("sops") else ""
        return _secret_units(kube.secrets_of(docs, name), name, lines, prefix + "secret")
    if len(docs) > 1:
        raise BadInput(
            f"{name}: {len(docs)} YAML documents; import reads one document per file "
            "(Kubernetes Secret streams excepted)",
            hint="split the stream into one file per document",
        )
    return [_plain_unit(docs[0], name, lines[0], kind)]


def _plain_unit(doc: Mapping, name: str, lines: dict[KeyPath, int], kind: str) -> Unit:
    return Unit(name, kind, doc, lines)


def _secret_units(
    secrets: list[Any], name: str, lines: list[dict[KeyPath, int]], kind: str
) -> list[Unit]:
    units = []
    for s in secrets:
        doc_lines = lines[s.doc_index] if s.doc_index < len(lines) else {}
        unit_lines: dict[KeyPath, int] = {
            (key,): doc_lines[origin] for key, origin in s.origins.items() if origin in doc_lines
        }
        label = f"{s.namespace}/{s.name}" if s.namespace else s.name
        units.append(
            Unit(name, kind, s.document, unit_lines, label, name=s.name, namespace=s.namespace)
        )
    return units


def _path_lines(doc: Mapping, key_lines: dict[tuple[int, str], int]) -> dict[KeyPath, int]:
    """``{key path: line}`` of one parsed document from the parser's per-mapping table."""
    out: dict[KeyPath, int] = {}

    def walk(node: object, path: KeyPath) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                sub = (*path, key)
                line = key_lines.get((id(node), key))
                if line is not None:
                    out[sub] = line
                walk(value, sub)
        elif isinstance(node, list):
            items = [x for x in node if not isinstance(x, Comment)]
            for i, item in enumerate(items):
                walk(item, (*path, i))

    walk(doc, ())
    return out
