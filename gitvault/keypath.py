"""Key paths: ``db.password``, sops's ``["db"]["password"]``, and list indexes ``hosts[0]``.

Parsing and the get/set/unset operations on model trees. Pure functions.
"""

from __future__ import annotations

import re

from gitvault.errors import BadInput
from gitvault.model import Comment, Mapping, Node, Sequence

_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)|(\.)')


def parse(text: str) -> list[str | int]:
    """``a.b``, ``["a.b"]["c"]``, ``a[0].b`` → components (ints index lists)."""
    if not text:
        raise BadInput("empty key path")
    out: list[str | int] = []
    pos = 0
    expect_part = True
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise BadInput(f"invalid key path {text!r}")
        quoted, index, bare, dot = m.groups()
        if dot is not None:
            if expect_part:
                raise BadInput(f"invalid key path {text!r}")
            expect_part = True
        elif quoted is not None:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
            expect_part = False
        elif index is not None:
            if not out:
                raise BadInput(f"invalid key path {text!r}: a path cannot start with an index")
            out.append(int(index))
            expect_part = False
        else:
            if not expect_part:
                raise BadInput(f"invalid key path {text!r}")
            out.append(bare)
            expect_part = False
        pos = m.end()
    if expect_part:
        raise BadInput(f"invalid key path {text!r}")
    return out


def display(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """The canonical display form of a parsed path."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif "." in p or "[" in p or "]" in p or not p:
            out += '["' + p.replace("\\", "\\\\").replace('"', '\\"') + '"]'
        else:
            out += f".{p}" if out else p
    return out


def _items(seq: list[Node | Comment]) -> list[int]:
    return [i for i, v in enumerate(seq) if not isinstance(v, Comment)]


def get(doc: Node, parts: list[str | int]) -> Node:
    """The node at ``parts``; :class:`BadInput` naming the path when absent."""
    node = doc
    for depth, p in enumerate(parts):
        if isinstance(p, int) and isinstance(node, list):
            idx = _items(node)
            if p >= len(idx):
                break
            node = node[idx[p]]
            continue
        if isinstance(p, str) and isinstance(node, Mapping) and p in node:
            node = node.get(p)
            continue
        raise BadInput(f"no key {display(parts[: depth + 1])!r} in the file")
    else:
        return node
    raise BadInput(f"no key {display(parts)!r} in the file")


def set_value(doc: Mapping, parts: list[str | int], value: Node) -> bool:
    """Set the value at ``parts``, creating mappings on the way; True if it was new."""
    node: Node = doc
    for depth, p in enumerate(parts[:-1]):
        nxt = parts[depth + 1]
        if isinstance(node, Mapping) and isinstance(p, str):
            child = node.get(p)
            if p not in node or child is None:
                child = Sequence() if isinstance(nxt, int) else Mapping()
                node.set(p, child)
            node = child
        elif isinstance(node, list) and isinstance(p, int):
            idx = _items(node)
            if p >= len(idx):
                raise BadInput(f"no item {display(parts[: depth + 1])!r} in the file")
            node = node[idx[p]]
        else:
            raise BadInput(f"{display(parts[: depth + 1])!r} is not a mapping or list")
    last = parts[-1]
    if isinstance(node, Mapping) and isinstance(last, str):
        new = last not in node
        node.set(last, value)
        return new
    if isinstance(node, list) and isinstance(last, int):
        idx = _items(node)
        if last == len(idx):
            node.append(value)
            return True
        if last > len(idx):
            raise BadInput(f"no item {display(parts)!r} in the file")
        node[idx[last]] = value
        return False
    raise BadInput(f"cannot set {display(parts)!r}: its parent is not a mapping or list")


def unset(doc: Mapping, parts: list[str | int]) -> None:
    """Remove the value at ``parts``; :class:`BadInput` when absent."""
    parent = get(doc, parts[:-1]) if len(parts) > 1 else doc
    last = parts[-1]
    if isinstance(parent, Mapping) and isinstance(last, str) and parent.remove(last):
        return
    if isinstance(parent, list) and isinstance(last, int):
        idx = _items(parent)
        if last < len(idx):
            del parent[idx[last]]
            return
    raise BadInput(f"no key {display(parts)!r} in the file")
