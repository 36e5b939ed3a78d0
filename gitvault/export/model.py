"""Turn decrypted documents into named variables: the one naming rule.

The rule (documented in docs/ci.md, and the same for every format):

* every leaf of every document becomes one variable; empty maps and lists
  produce nothing;
* its name is the key path joined with ``_``: list items by their index, an
  optional per-file prefix first, a file with several YAML documents starts
  with the document index;
* the name is upper-cased and every character outside ``A-Z 0-9 _`` becomes
  ``_`` (``db.password`` -> ``DB_PASSWORD``, ``api-key`` -> ``API_KEY``,
  ``hosts[0]`` -> ``HOSTS_0``); a name that would start with a digit gets a
  leading ``_`` so it is a valid shell name;
* during a rotation's grace period the previous value of a key is exposed as
  ``NAME_PREVIOUS``, right after ``NAME``;
* two leaves (in one file or in two) that end up with the same name are an
  error (:class:`~gitvault.errors.BadInput`, exit 5) naming both sources, never
  a silent overwrite; with ``per_file`` (one Kubernetes Secret per file) only
  two leaves of the same file collide;
* with ``authenticated_only`` (what ``export``/``exec`` use), leaves no MAC
  covers are left out: empty strings and nulls (SOPS neither encrypts them nor
  feeds them to the MAC, so anyone can add ``LD_PRELOAD: ""`` to a file without
  a key and the file still verifies) and the leaves a source marks
  ``unauthenticated`` (plaintext values of a ``mac_only_encrypted`` file).
  ``dropped`` collects ``file:key.path is …`` for the caller's warning.

This module must never print, and its errors name files and key paths only,
never a value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitvault.errors import BadInput
from gitvault.keypath import display
from gitvault.model import Comment, Timestamp
from gitvault.model import Mapping as DocMapping

Scalar = str | int | float | bool | None
KeyPath = tuple[str | int, ...]

PREVIOUS_SUFFIX = "_PREVIOUS"
_NOT_NAME_CHAR = re.compile(r"[^A-Z0-9_]")


@dataclass(frozen=True)
class Source:
    """One decrypted file as the exporter sees it.

    ``label`` is how messages and the audit log name the file (a path relative
    to the repository). ``previous`` maps key paths of this file to the value
    they had before a rotation still inside its grace period; keys not present
    in ``documents`` any more are ignored.
    """

    label: str
    documents: Sequence[Any]
    prefix: str | None = None
    previous: Mapping[KeyPath, Scalar] = field(default_factory=dict)
    # (document index, key path) of leaves no MAC covers beyond empty/null values
    # (plaintext values of a ``mac_only_encrypted`` file): see ``api.unauthenticated_leaves``.
    unauthenticated: frozenset[tuple[int, KeyPath]] = frozenset()


@dataclass(frozen=True)
class Variable:
    """One exported value, with where it came from (for messages, never printed)."""

    name: str
    value: Scalar
    file: str
    key_path: KeyPath
    previous: bool = False

    @property
    def origin(self) -> str:
        """``file:key.path`` (plus `` (previous)``), safe to show: no value."""
        suffix = " (previous)" if self.previous else ""
        return f"{self.file}:{format_key_path(self.key_path)}{suffix}"

    @property
    def text(self) -> str:
        """The value as an environment variable holds it."""
        return scalar_text(self.value)


def format_key_path(key_path: KeyPath) -> str:
    """The key path as every other gitvault message shows it (``db.password``, ``hosts[0]``)."""
    return display(key_path)


def env_name(key_path: KeyPath, prefix: str | None = None) -> str:
    """Apply the naming rule to one key path (see the module docstring)."""
    segments = [str(s) for s in key_path]
    if prefix:
        # "app", "APP" and "APP_" all mean the same prefix.
        segments.insert(0, prefix.rstrip("_") or prefix)
    name = _NOT_NAME_CHAR.sub("_", "_".join(segments).upper())
    if name[:1].isdigit():
        name = "_" + name
    return name


def scalar_text(value: Scalar) -> str:
    """The text of a scalar in an environment variable.

    Strings are kept as they are; other scalars use their YAML spelling
    (``true``, ``42``, ``1.5``, ``.inf``), and null becomes the empty string.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return str(value)


def iter_leaves(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Scalar]]:
    """Yield ``(key_path, scalar)`` for every leaf of a tree, in document order.

    Accepts plain Python trees and the document model's trees (comments are
    skipped, timestamps become their text).
    """
    if isinstance(node, Mapping | DocMapping):
        for key, child in node.items():
            yield from iter_leaves(child, (*path, str(key)))
    elif isinstance(node, list | tuple):
        # Comments kept in a sequence by the document model are not items.
        items = [child for child in node if not isinstance(child, Comment)]
        for index, child in enumerate(items):
            yield from iter_leaves(child, (*path, index))
    elif node is None or isinstance(node, str | int | float | bool):
        yield path, node
    elif isinstance(node, Timestamp):
        yield path, node.text  # timestamps export as their RFC 3339 text
    else:
        # Only the decrypter builds these trees; anything else is a bug upstream.
        raise BadInput(f"unsupported value type at {format_key_path(path)}")


def is_unauthenticated(value: Scalar) -> bool:
    """True for a value no MAC covers: SOPS stores ``""`` and null in clear, unhashed."""
    return value is None or value == ""


def _unauthenticated(source: Source, index: int, path: KeyPath, value: Scalar) -> bool:
    return is_unauthenticated(value) or (index, path) in source.unauthenticated


def collect(
    sources: Sequence[Source],
    *,
    per_file: bool = False,
    authenticated_only: bool = False,
    dropped: list[str] | None = None,
) -> list[Variable]:
    """Name every leaf of every source; raise :class:`BadInput` on a collision.

    Order: sources in the order given, leaves in document order, each
    ``NAME_PREVIOUS`` right after its ``NAME``. ``per_file`` limits collisions
    to one source; ``authenticated_only`` leaves out the values no MAC covers
    (see the module docstring), naming each in ``dropped`` when given.
    """
    seen: dict[tuple[str, str], Variable] = {}
    result: list[Variable] = []

    def add(variable: Variable) -> None:
        if authenticated_only and is_unauthenticated(variable.value):
            return
        scope = variable.file if per_file else ""
        other = seen.get((scope, variable.name))
        if other is not None:
            raise BadInput(
                f"variable {variable.name} comes from both {other.origin} and {variable.origin}",
                hint="rename one key, or give each file its own --prefix",
            )
        seen[(scope, variable.name)] = variable
        result.append(variable)

    for source in sources:
        multi = len(source.documents) > 1
        for index, document in enumerate(source.documents):
            for path, value in iter_leaves(document):
                if not path:
                    raise BadInput(f"{source.label}: a document is a bare value, not a map")
                name_path: KeyPath = (index, *path) if multi else path
                if authenticated_only and _unauthenticated(source, index, path, value):
                    if dropped is not None:
                        why = "empty or null" if is_unauthenticated(value) else "plaintext"
                        dropped.append(f"{source.label}:{format_key_path(name_path)} is {why}")
                    continue  # and no NAME_PREVIOUS for it either
                name = env_name(name_path, source.prefix)
                add(Variable(name, value, source.label, name_path))
                if name_path in source.previous:
                    old = source.previous[name_path]
                    add(Variable(name + PREVIOUS_SUFFIX, old, source.label, name_path, True))
    return result


def require_env_safe(variables: Sequence[Variable]) -> None:
    """Raise :class:`BadInput` if a value cannot live in an environment variable.

    The only such value is one containing a NUL byte (C strings end there).
    """
    for variable in variables:
        if "\x00" in variable.text:
            raise BadInput(
                f"{variable.origin} contains a NUL byte, which an environment variable cannot hold",
                hint="use --format json or yaml for this value",
            )
