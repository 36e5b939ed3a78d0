"""The per-key three-way merge of one document, on plaintext models (pure, no I/O).

Every leaf key path is merged three-way: a key changed on one side takes that
side's value, keys changed on both sides to the same value are fine, and a key
changed differently on both sides (or removed on one side and changed on the
other) is a conflict. Lists and empty mappings are single values. The result
starts as a copy of ours (its order and comments).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gitvault.model import Comment, Mapping, Timestamp

_MISSING: Any = object()


@dataclass(frozen=True)
class Conflict:
    """One conflicting key path (its name only, never a value)."""

    key: str  # display key path
    kind: str  # "changed" (on both sides) | "removed" (on one, changed on the other)

    def describe(self) -> str:
        if self.kind == "removed":
            return f"{self.key} removed on one side and changed on the other"
        return f"{self.key} changed on both sides"


def _canon(node: Any) -> Any:
    """A comparable form that tells types apart (``1`` ≠ ``true`` ≠ ``"1"``)."""
    if isinstance(node, Mapping):
        return ("map", tuple((k, _canon(v)) for k, v in node.items()))
    if isinstance(node, list):
        return ("list", tuple(_canon(v) for v in node))
    if isinstance(node, Comment):
        return ("comment", node.text)
    if isinstance(node, Timestamp):
        return ("time", node.text)
    return (type(node).__name__, node)


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return bool(_canon(a) == _canon(b))


def _leaves(node: Mapping, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Leaf paths in document order: scalars, lists and empty mappings are leaves."""
    for key, value in node.items():
        here = (*path, key)
        if isinstance(value, Mapping) and len(value) > 0:
            yield from _leaves(value, here)
        else:
            yield here, value


def _display(prefix: str, path: tuple[str, ...]) -> str:
    from gitvault.sops.file import join_path

    out = prefix
    for part in path:
        out = join_path(out, part)
    return out


def _find(doc: Mapping, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node.get(part)
    return node


def _remove(doc: Mapping, path: tuple[str, ...], keep: set[tuple[str, ...]]) -> None:
    parent = _find(doc, path[:-1]) if path[:-1] else doc
    if not isinstance(parent, Mapping):
        return
    parent.remove(path[-1])
    # A mapping emptied by the removal goes too, unless theirs still has it.
    up = path[:-1]
    while up and isinstance(parent, Mapping) and len(parent) == 0 and up not in keep:
        grand = _find(doc, up[:-1]) if up[:-1] else doc
        if not isinstance(grand, Mapping):
            break
        grand.remove(up[-1])
        parent, up = grand, up[:-1]


def _insert(doc: Mapping, path: tuple[str, ...], value: Any, order: Mapping) -> bool:
    """Set ``path`` to ``value``, creating mappings; False when a non-mapping is in the way."""
    node: Any = doc
    source: Any = order
    for part in path[:-1]:
        nxt = node.get(part, _MISSING) if part in node else _MISSING
        if nxt is _MISSING:
            nxt = Mapping()
            _place(node, part, nxt, source)
        elif not isinstance(nxt, Mapping):
            return False
        node = nxt
        source = source.get(part) if isinstance(source, Mapping) else None
    key = path[-1]
    if key in node:
        node.set(key, copy.deepcopy(value))
    else:
        _place(node, key, copy.deepcopy(value), source)
    return True


def _place(node: Mapping, key: str, value: Any, source: Any) -> None:
    """Insert ``key`` after the nearest preceding sibling it has in ``source`` (theirs)."""
    if isinstance(source, Mapping):
        before = []
        for k, _v in source.items():
            if k == key:
                break
            before.append(k)
        for prev in reversed(before):
            for i, entry in enumerate(node.entries):
                if isinstance(entry, tuple) and entry[0] == prev:
                    node.entries.insert(i + 1, (key, value))
                    return
    node.entries.append((key, value))


def merge_document(
    base: Mapping, ours: Mapping, theirs: Mapping, prefix: str = ""
) -> tuple[Mapping, list[Conflict], list[str]]:
    """Three-way merge of one document: (result, conflicts, keys taken from theirs).

    The result starts as a copy of ours (its order and comments); changes theirs
    made to keys ours left alone are applied; conflicting keys keep ours's value.
    """
    b, o, t = dict(_leaves(base)), dict(_leaves(ours)), dict(_leaves(theirs))
    result = copy.deepcopy(ours)
    conflicts: list[Conflict] = []
    removals: list[tuple[str, ...]] = []
    updates: list[tuple[str, ...]] = []
    for path in dict.fromkeys([*o, *t, *b]):
        bv, ov, tv = b.get(path, _MISSING), o.get(path, _MISSING), t.get(path, _MISSING)
        if _same(ov, tv) or _same(bv, tv):
            continue  # both agree, or theirs left it alone: ours stands
        if _same(bv, ov):
            (removals if tv is _MISSING else updates).append(path)
            continue
        kind = "removed" if ov is _MISSING or tv is _MISSING else "changed"
        conflicts.append(Conflict(_display(prefix, path), kind))
    conflicted = {c.key for c in conflicts}
    keep = {p[:n] for p in t for n in range(1, len(p) + 1)}  # mappings theirs still has
    for path in removals:
        _remove(result, path, keep)
    merged = []
    for path in updates:
        shown = _display(prefix, path)
        if any(shown == c or shown.startswith(c + ".") for c in conflicted):
            continue
        if _insert(result, path, t[path], theirs):
            merged.append(shown)
        else:
            conflicts.append(Conflict(shown, "changed"))
    merged += [_display(prefix, p) for p in removals]
    return result, conflicts, merged
