"""sops's flattened metadata (dotenv, INI): ``age__list_0__map_recipient`` and friends.

sops marshals its metadata struct to JSON, flattens nested maps and lists into
one level (``__map_KEY`` / ``__list_N`` separators), writes booleans and
numbers as text and newlines as ``\\n``. Reading reverses it into the same
``sops:`` mapping the YAML and JSON stores hold, so :func:`metadata.from_block`
validates every format alike.
"""

from __future__ import annotations

import re

from gitvault.errors import BadInput
from gitvault.model import Mapping, Node, Sequence, Timestamp

MAP_SEP = "__map_"
LIST_SEP = "__list_"
# A flattened list index larger than this is refused (each index allocates),
# and so is a key of more parts than this (sops's own metadata has at most 5).
MAX_INDEX = 1024
MAX_PARTS = 16
_TOKEN = re.compile(r"(__map_|__list_)")


def _text(value: Node) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Timestamp):
        return value.text
    return str(value)


def flatten(block: Mapping) -> dict[str, str]:
    """``sops:`` mapping -> flat key -> text (newlines still real; callers escape them)."""
    out: dict[str, str] = {}

    def walk(node: Node, prefix: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, prefix + MAP_SEP + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{prefix}{LIST_SEP}{i}")
        elif node is not None:
            out[prefix] = _text(node)

    for key, value in block.items():
        if isinstance(value, Mapping | list):
            walk(value, key)
        elif value is not None:
            out[key] = _text(value)
    return out


def unflatten(flat: dict[str, str], name: str) -> Mapping:
    """Flat key -> text back into a ``sops:`` mapping (lists rebuilt by index)."""
    root: dict[str, object] = {}
    for key, value in flat.items():
        parts = _TOKEN.split(key)
        if len(parts) > 2 * MAX_PARTS:
            raise BadInput(f"{name}: sops metadata: {key[:80]} is nested too deeply")
        # parts: first key, then (separator, token) pairs
        node: object = root
        steps: list[tuple[str, str]] = [(MAP_SEP, parts[0])]
        steps += [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
        for n, (sep, tok) in enumerate(steps):
            last = n == len(steps) - 1
            # Lists are dicts keyed by int until _build turns them into lists.
            child: object = value if last else {}
            if sep == LIST_SEP:
                if not tok.isdigit() or int(tok) > MAX_INDEX:
                    raise BadInput(f"{name}: sops metadata: bad list index in {key[:80]}")
                tok = str(int(tok))
                child_key: object = int(tok)
            else:
                child_key = tok
            if not isinstance(node, dict):
                raise BadInput(f"{name}: sops metadata: {key[:80]} conflicts with another key")
            if last:
                if child_key in node:
                    raise BadInput(f"{name}: sops metadata: {key[:80]} is given twice")
                node[child_key] = child
            else:
                node = node.setdefault(child_key, child)
    return _build(root)  # type: ignore[return-value]


def _build(node: object) -> Node:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            size = max(node) + 1
            return Sequence(_build(node.get(i)) for i in range(size))
        return Mapping([(str(k), _build(v)) for k, v in node.items()])
    assert node is None or isinstance(node, str)
    return node


def decode_non_strings(block: Mapping, name: str) -> Mapping:
    """Undo sops's EncodeNonStrings: ``mac_only_encrypted`` and ``shamir_threshold``."""
    out = Mapping()
    for key, value in block.items():
        if key == "mac_only_encrypted":
            value = value == "true"
        elif key == "shamir_threshold" and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise BadInput(
                    f"{name}: sops metadata: shamir_threshold is not an integer"
                ) from None
        out.entries.append((key, value))
    return out
