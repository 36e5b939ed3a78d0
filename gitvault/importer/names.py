"""Names: where each source's keys go, and which key names can be stored.

Destinations (docs/import.md):

- ``to``: every source's keys go into that one vault file;
- ``into``: each source becomes ``DIR/<stem>.yaml``, where the stem is the
  source's file name without a leading dot and without a final ``.env``,
  ``.json``, ``.yaml`` or ``.yml``, then without a final ``.sops`` or ``.enc``
  (``.env`` → ``env``, ``.env.prod`` → ``env.prod``, ``prod.env`` → ``prod``,
  ``app.json`` → ``app``, ``app.sops.yaml`` → ``app``); each
  Kubernetes Secret becomes ``DIR/<namespace>/<name>.yaml`` (``DIR/<name>.yaml``
  without a namespace).

Keys are kept exactly as written. Refused (:func:`check_names`): an empty key,
a key with a control character, a top-level ``sops`` key, and a key the
rule's selection settings (``unencrypted_suffix`` …) would store unencrypted.
Nothing here reads values, prints, or writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput
from gitvault.importer.sources import KeyPath, Unit
from gitvault.model import Comment, Mapping, Node

if TYPE_CHECKING:
    from gitvault.policy import Rule

_STRIP_SUFFIXES = (".env", ".json", ".yaml", ".yml")
_SOPS_INFIXES = (".sops", ".enc")


def stem_for(path: Path) -> str:
    """The vault file name stem for a source file name (module docstring)."""
    name = path.name.lstrip(".")
    lowered = name.lower()
    for suffix in _STRIP_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    for infix in _SOPS_INFIXES:  # app.sops.yaml, app.enc.json: already encrypted sources
        if name.lower().endswith(infix) and len(name) > len(infix):
            name = name[: -len(infix)]
            break
    return name or "env"


def destination(unit: Unit, to: Path | None, into: Path | None) -> Path:
    """Where one unit's keys go: ``to``, or its place under ``into``."""
    if to is not None:
        return to
    assert into is not None
    if unit.name is not None:
        base = into / unit.namespace if unit.namespace else into
        return base / f"{unit.name}.yaml"
    return into / f"{stem_for(Path(unit.source))}.yaml"


def group(units: list[Unit], to: Path | None, into: Path | None) -> list[tuple[Path, list[Unit]]]:
    """Units per destination, in the order their destinations first appear."""
    groups: dict[str, tuple[Path, list[Unit]]] = {}
    for unit in units:
        dest = destination(unit, to, into)
        key = os.path.normpath(os.path.abspath(dest))
        groups.setdefault(key, (dest, []))[1].append(unit)
    return list(groups.values())


class Places:
    """Where destinations sit in their vault, worked out once per folder.

    Hundreds of files go into a handful of folders: finding the vault root,
    resolving links and checking that missing folders can be created inside
    the vault (:func:`gitvault.vault.check_parents`) is done per folder.
    """

    def __init__(self) -> None:
        self._folders: dict[str, tuple[Path | None, str | None]] = {}

    def locate(self, dest: Path) -> Any:
        from gitvault import vault

        if dest.name in ("", ".", ".."):
            raise BadInput(f"{dest}: not a file name")
        folder = os.path.abspath(dest.parent)
        known = self._folders.get(folder)
        if known is None:
            vault.check_parents(dest)  # refuses folders that would land outside the vault
            probe = vault.locate(Path(folder, "probe"))
            rel_folder: str | None = None
            if probe.relpath is not None:
                rel_folder = probe.relpath.rpartition("/")[0]
            known = self._folders[folder] = (probe.root, rel_folder)
        root, rel_folder = known
        if root is None or rel_folder is None:
            return vault.Location(dest, None, None)
        rel = f"{rel_folder}/{dest.name}" if rel_folder else dest.name
        return vault.Location(dest, root, rel)


def check_names(doc: Mapping, rule: Rule, relpath: str, origins: dict[str, Unit]) -> None:
    """Refuse keys that cannot be stored as written (module docstring)."""
    from gitvault.sops import metadata as md
    from gitvault.sops.selector import Selector

    selector = Selector(md.Metadata(age=(), lastmodified="", mac="", **rule.selection))
    if "sops" in doc:
        raise BadInput(
            f"{origins['sops'].origin(('sops',))}: a top-level key named 'sops' is reserved "
            "by the file format",
            hint="rename it in the source",
        )
    for path in all_key_paths(doc):
        where = origins[str(path[0])].origin(path)
        key = path[-1]
        if isinstance(key, str):
            if key == "":
                raise BadInput(f"{where}: an empty key name cannot be stored")
            if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in key):
                raise BadInput(f"{where}: a key name with a control character cannot be stored")
    for path in leaf_paths(doc):
        names = [str(p) for p in path if isinstance(p, str)]
        if not selector.encrypted(names, [], False):
            raise BadInput(
                f"{origins[str(path[0])].origin(path)}: {display(path)} would be stored "
                f"unencrypted in {relpath} (the rule's selection settings)",
                hint="rename the key (e.g. drop a _unencrypted suffix) or change the rule",
            )


def all_key_paths(node: Node, path: KeyPath = ()) -> list[KeyPath]:
    out: list[KeyPath] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            out.append((*path, key))
            out.extend(all_key_paths(value, (*path, key)))
    elif isinstance(node, list):
        for i, item in enumerate(x for x in node if not isinstance(x, Comment)):
            out.extend(all_key_paths(item, (*path, i)))
    return out


def leaf_paths(node: Node, path: KeyPath = ()) -> list[KeyPath]:
    """Paths of the values a file holds (an empty map or list counts as one value)."""
    if isinstance(node, Mapping) and len(node):
        return [p for k, v in node.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        items = [x for x in node if not isinstance(x, Comment)]
        if items:
            return [p for i, v in enumerate(items) for p in leaf_paths(v, (*path, i))]
    return [path] if path else []


def display(path: KeyPath) -> str:
    from gitvault.keypath import display as show

    return show(list(path))
