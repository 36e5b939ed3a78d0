"""Plan an import: read every source, choose every destination, check everything.

:func:`plan_import` does all the reading and checking and writes nothing: a
plan that comes back can be applied (:mod:`gitvault.importer.apply`) without
any new way to fail on the inputs. It never prints and never puts a value in
a message; values travel in the plan's documents (hidden from ``repr``) and
leave it only encrypted.

Where keys go and which names are refused: :mod:`gitvault.importer.names`
(docs/import.md). An existing destination is refused unless ``merge`` (add
keys; a key already there is refused unless ``overwrite`` too, which replaces
its value) or ``overwrite`` alone (replace the whole file); a key given twice
for one file (within a source or across sources) is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput, UsageError
from gitvault.importer.names import Places, check_names, display, group, leaf_paths
from gitvault.importer.sources import Unit, read_source, read_units
from gitvault.model import Comment, Mapping, Node

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy
    from gitvault.sops.document import Plain

# Caps (docs/limits.md): one source is read like any input file (32 MiB at most);
# all sources of one import together at most this much; at most this many sources.
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_SOURCES = 100_000


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
    groups = group(list(units), options.to, options.into)
    policies: dict[Path, Policy] = {}
    places = Places()
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


def _plan_file(
    dest: Path,
    units: list[Unit],
    options: ImportOptions,
    policies: dict[Path, Policy],
    ids: Callable[[], Identities],
    places: Places,
) -> PlannedFile:
    from gitvault import schemacheck, vault

    loc = places.locate(dest)
    if loc.root is None or loc.relpath is None:
        raise BadInput(f"{dest}: no .gitvault.yaml here or in any parent directory")
    pol = policies.get(loc.root)
    if pol is None:
        pol = policies[loc.root] = vault.load_policy_for(loc)
    rule = vault.rule_for(pol, loc)
    incoming, origins = _combine(units, loc.relpath)
    check_names(incoming, rule, loc.relpath, origins)
    leaves = list(leaf_paths(incoming))
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
                shown = ", ".join(display((k,)) for k in clash[:5])
                more = f" and {len(clash) - 5} more" if len(clash) > 5 else ""
                raise BadInput(
                    f"{loc.relpath}: already has {shown}{more}",
                    hint="pass --overwrite with --merge to replace those values",
                )
            replaced = set(clash)
            for key, value in incoming.items():
                document.set(key, value)
    schemacheck.validate_schema([document], pol, rule, loc.relpath)
    keys = tuple(
        PlannedKey(
            display(path),
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
                    f"{relpath}: key {display((key,))} comes from both {first} "
                    f"and {unit.origin((key,))}"
                )
            origins[key] = unit
            entries.append(entry)
    if not origins:
        raise BadInput(f"{relpath}: nothing to import (no keys)")
    return Mapping(entries), origins
