"""Plan an import: read every source, choose every destination, check everything.

:func:`plan_import` does all the reading and checking and writes nothing: a
plan that comes back can be applied (:mod:`gitvault.importer.apply`) without
any new way to fail on the inputs. It never prints and never puts a value in
a message; values travel in the plan's documents (hidden from ``repr``) and
leave it only encrypted.

Destinations (docs/import.md):

- ``to``: every source's keys go into that one vault file;
- ``into``: each source becomes ``DIR/<stem>.yaml``, where the stem is the
  source's file name without a leading dot and without a final ``.env``,
  ``.json``, ``.yaml`` or ``.yml``, then without a final ``.sops`` or ``.enc``
  (``.env`` → ``env``, ``.env.prod`` → ``env.prod``, ``prod.env`` → ``prod``,
  ``app.json`` → ``app``, ``app.sops.yaml`` → ``app``); each
  Kubernetes Secret becomes ``DIR/<namespace>/<name>.yaml`` (``DIR/<name>.yaml``
  without a namespace).

Keys are kept exactly as written. Refused: a key given twice for one file
(within a source or across sources), an empty key, a key with a control
character, a top-level ``sops`` key, and a key the rule's selection settings
(``unencrypted_suffix`` …) would store unencrypted. An existing destination is
refused unless ``merge`` (add keys; a key already there is refused unless
``overwrite`` too, which replaces its value) or ``overwrite`` alone (replace
the whole file).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput, UsageError
from gitvault.importer.sources import KeyPath, Unit, read_units
from gitvault.model import Comment, Mapping, Node

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy, Rule
    from gitvault.sops.document import Plain

# Caps (docs/limits.md): one source is read like any input file (32 MiB at most);
# all sources of one import together at most this much; at most this many sources.
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_SOURCES = 100_000
_STRIP_SUFFIXES = (".env", ".json", ".yaml", ".yml")
_SOPS_INFIXES = (".sops", ".enc")


@dataclass(frozen=True)
class ImportOptions:
    """How to map sources to vault files (see the module docstring)."""

    to: Path | None = None
    into: Path | None = None
    fmt: str | None = None  # force the input format: dotenv, json or yaml
    merge: bool = False
    overwrite: bool = False
    identity: Path | None = None  # only this identity file (for sops sources and --merge)


@dataclass(frozen=True)
class PlannedKey:
    """One key the import writes: its display path and where its value came from."""

    path: str
    origin: str  # source:line
    action: str  # "add" or "replace"


@dataclass(frozen=True)
class PlannedFile:
    """One vault file the import writes, with everything needed to encrypt it."""

    path: Path
    relpath: str  # relative to the vault root (the policy's directory)
    root: Path
    action: str  # "create", "merge" or "overwrite"
    recipients: tuple[str, ...]  # policy names
    sources: tuple[str, ...]
    keys: tuple[PlannedKey, ...]
    document: Mapping = field(repr=False, compare=False)
    recipient_keys: tuple[str, ...] = field(repr=False, default=())
    selection: dict[str, Any] = field(repr=False, default_factory=dict)
    previous: Plain | None = field(repr=False, default=None, compare=False)  # merge only
    before_digest: bytes | None = field(repr=False, default=None)  # the file as planned over


@dataclass(frozen=True)
class ImportPlan:
    """Every file an import writes; nothing has been written yet."""

    files: tuple[PlannedFile, ...]

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON-ready data: paths, keys, origins, recipients — never a value."""
        return {
            "version": 1,
            "files": [
                {
                    "path": str(f.path),
                    "vault_path": f.relpath,
                    "action": f.action,
                    "recipients": list(f.recipients),
                    "sources": list(f.sources),
                    "keys": [{"key": k.path, "from": k.origin, "action": k.action} for k in f.keys],
                }
                for f in self.files
            ],
            "summary": {
                "files": len(self.files),
                "keys": sum(len(f.keys) for f in self.files),
                "create": sum(1 for f in self.files if f.action == "create"),
                "merge": sum(1 for f in self.files if f.action == "merge"),
                "overwrite": sum(1 for f in self.files if f.action == "overwrite"),
            },
        }


def plan_import(
    sources: Sequence[Path],
    options: ImportOptions,
    *,
    identities: Identities | None = None,
) -> ImportPlan:
    """Read, map and check every source; raises a :class:`GitvaultError`, writes nothing.

    ``identities`` opens sops sources and existing files for ``merge``; by
    default they are loaded (DESIGN §4 order, or only ``options.identity``)
    the first time one is needed.
    """
    if not sources:
        raise UsageError("give at least one SOURCE file")
    if (options.to is None) == (options.into is None):
        raise UsageError("give exactly one of --to FILE or --into DIR")
    if len(sources) > MAX_SOURCES:
        raise BadInput(f"{len(sources)} sources; at most {MAX_SOURCES} per import")
    loader = _IdentityCache(identities, options.identity)
    units: list[Unit] = []
    total = 0
    roots: dict[str, Path] = {}
    for src in sources:
        data = read_source(src, roots)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise BadInput(
                f"the sources add up to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB",
                hint="import them in several runs",
            )
        units.extend(read_units(src, data, options.fmt, loader))
    return plan_units(units, options, identities=loader)


def plan_units(
    units: Sequence[Unit],
    options: ImportOptions,
    *,
    identities: Callable[[], Identities] | Identities | None = None,
) -> ImportPlan:
    """Plan already-read units (:class:`~gitvault.importer.sources.Unit`); writes nothing.

    For callers that hold values in memory rather than in files (``migrate``
    builds one unit per vault file from scan findings, with ``lines`` naming
    where each key was found): the same destinations, name checks, collision
    rules, merge semantics and schema checks as :func:`plan_import`.
    """
    if (options.to is None) == (options.into is None):
        raise UsageError("give exactly one of --to FILE or --into DIR")
    loader = identities if callable(identities) else _IdentityCache(identities, options.identity)
    groups = _group(list(units), options)
    policies: dict[Path, Policy] = {}
    places = _Places()
    files = [
        _plan_file(dest, members, options, policies, loader, places) for dest, members in groups
    ]
    return ImportPlan(tuple(files))


class _IdentityCache:
    """Load the user's identities once, on first use."""

    def __init__(self, given: Identities | None, explicit: Path | None) -> None:
        self._ids = given
        self._explicit = explicit

    def __call__(self) -> Identities:
        if self._ids is None:
            from gitvault.identities import load_identities

            self._ids = load_identities(self._explicit)
        return self._ids


class _Places:
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


def destination(unit: Unit, options: ImportOptions) -> Path:
    """Where one unit's keys go."""
    if options.to is not None:
        return options.to
    assert options.into is not None
    if unit.name is not None:
        base = options.into / unit.namespace if unit.namespace else options.into
        return base / f"{unit.name}.yaml"
    return options.into / f"{stem_for(Path(unit.source))}.yaml"


def _group(units: list[Unit], options: ImportOptions) -> list[tuple[Path, list[Unit]]]:
    """Units per destination, in the order their destinations first appear."""
    groups: dict[str, tuple[Path, list[Unit]]] = {}
    for unit in units:
        dest = destination(unit, options)
        key = os.path.normpath(os.path.abspath(dest))
        groups.setdefault(key, (dest, []))[1].append(unit)
    return list(groups.values())


def _plan_file(
    dest: Path,
    units: list[Unit],
    options: ImportOptions,
    policies: dict[Path, Policy],
    ids: Callable[[], Identities],
    places: _Places,
) -> PlannedFile:
    from gitvault import vault

    loc = places.locate(dest)
    if loc.root is None or loc.relpath is None:
        raise BadInput(f"{dest}: no .gitvault.yaml here or in any parent directory")
    pol = policies.get(loc.root)
    if pol is None:
        pol = policies[loc.root] = vault.load_policy_for(loc)
    rule = vault.rule_for(pol, loc)
    incoming, origins = _combine(units, loc.relpath)
    check_names(incoming, rule, loc.relpath, origins)
    leaves = list(_leaf_paths(incoming))
    exists = dest.exists() or dest.is_symlink()
    document = incoming
    previous = None
    digest = None
    replaced: set[str] = set()
    if not exists:
        action = "create"
    elif not (options.merge or options.overwrite):
        raise BadInput(
            f"{loc.relpath}: already exists",
            hint="pass --merge to add the keys to it, or --overwrite to replace it",
        )
    else:
        from gitvault.fsutil import read_input

        current = read_input(dest, root=loc.root)
        digest = hashlib.sha256(current).digest()
        if not options.merge:
            action = "overwrite"
        else:
            action = "merge"
            vf = vault.read_vault(dest, current)
            previous = vault.decrypt(vf, ids(), record_ivs=True, pol=pol)
            if len(previous.documents) != 1:
                raise BadInput(f"{loc.relpath}: has several YAML documents; cannot merge into it")
            document = previous.documents[0]
            clash = [k for k, _ in incoming.items() if k in document]
            if clash and not options.overwrite:
                shown = ", ".join(_display((k,)) for k in clash[:5])
                more = f" and {len(clash) - 5} more" if len(clash) > 5 else ""
                raise BadInput(
                    f"{loc.relpath}: already has {shown}{more}",
                    hint="pass --overwrite with --merge to replace those values",
                )
            replaced = set(clash)
            for key, value in incoming.items():
                document.set(key, value)
    vault.validate_schema([document], pol, rule, loc.relpath)
    keys = tuple(
        PlannedKey(
            _display(path),
            origins[str(path[0])].origin(path),
            "replace" if path[0] in replaced else "add",
        )
        for path in leaves
    )
    return PlannedFile(
        path=dest,
        relpath=loc.relpath,
        root=loc.root,
        action=action,
        recipients=tuple(pol.reader_names(rule)),
        sources=tuple(dict.fromkeys(_source_label(u) for u in units)),
        keys=keys,
        document=document,
        recipient_keys=tuple(pol.reader_keys(rule)),
        selection=vault.selection_for(rule),
        previous=previous,
        before_digest=digest,
    )


def _source_label(unit: Unit) -> str:
    return f"{unit.source} (Secret {unit.secret})" if unit.secret else unit.source


def _combine(units: list[Unit], relpath: str) -> tuple[Mapping, dict[str, Unit]]:
    """The top-level keys of every unit bound for one file; a key from two is an error."""
    entries: list[tuple[str, Node] | Comment] = []
    origins: dict[str, Unit] = {}
    for unit in units:
        for entry in unit.document.entries:
            if isinstance(entry, Comment):
                if len(units) == 1:
                    entries.append(entry)
                continue
            key = entry[0]
            if key in origins:
                first = origins[key].origin((key,))
                raise BadInput(
                    f"{relpath}: key {_display((key,))} comes from both {first} "
                    f"and {unit.origin((key,))}"
                )
            origins[key] = unit
            entries.append(entry)
    if not origins:
        raise BadInput(f"{relpath}: nothing to import (no keys)")
    return Mapping(entries), origins


def check_names(doc: Mapping, rule: Rule, relpath: str, origins: dict[str, Unit]) -> None:
    """Refuse keys that cannot be stored as written (module docstring)."""
    from gitvault.sops import metadata as md
    from gitvault.sops.document import Selector

    selector = Selector(md.Metadata(age=(), lastmodified="", mac="", **rule.selection))
    if "sops" in doc:
        raise BadInput(
            f"{origins['sops'].origin(('sops',))}: a top-level key named 'sops' is reserved "
            "by the file format",
            hint="rename it in the source",
        )
    for path in _all_key_paths(doc):
        where = origins[str(path[0])].origin(path)
        key = path[-1]
        if isinstance(key, str):
            if key == "":
                raise BadInput(f"{where}: an empty key name cannot be stored")
            if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in key):
                raise BadInput(f"{where}: a key name with a control character cannot be stored")
    for path in _leaf_paths(doc):
        names = [str(p) for p in path if isinstance(p, str)]
        if not selector.encrypted(names, [], False):
            raise BadInput(
                f"{origins[str(path[0])].origin(path)}: {_display(path)} would be stored "
                f"unencrypted in {relpath} (the rule's selection settings)",
                hint="rename the key (e.g. drop a _unencrypted suffix) or change the rule",
            )


def _all_key_paths(node: Node, path: KeyPath = ()) -> list[KeyPath]:
    out: list[KeyPath] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            out.append((*path, key))
            out.extend(_all_key_paths(value, (*path, key)))
    elif isinstance(node, list):
        for i, item in enumerate(x for x in node if not isinstance(x, Comment)):
            out.extend(_all_key_paths(item, (*path, i)))
    return out


def _leaf_paths(node: Node, path: KeyPath = ()) -> list[KeyPath]:
    """Paths of the values a file holds (an empty map or list counts as one value)."""
    if isinstance(node, Mapping) and len(node):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        items = [x for x in node if not isinstance(x, Comment)]
        if items:
            return [p for i, v in enumerate(items) for p in _leaf_paths(v, (*path, i))]
    return [path] if path else []


def _display(path: KeyPath) -> str:
    from gitvault.keypath import display

    return display(list(path))
