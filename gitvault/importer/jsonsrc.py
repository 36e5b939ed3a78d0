"""JSON input for ``import``: strict parsing, duplicate keys refused, key lines recorded.

Python's :mod:`json` decodes the values (types kept: strings, integers,
floats, booleans, null, objects, arrays); a small scanner beside it records
the line of every object key, so the dry run can say where each key came
from. Refused: duplicate keys in one object, ``NaN``/``Infinity`` (and numbers
like ``1e400`` that overflow a float), integers outside the 64-bit range sops
stores, a top level that is not an object.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gitvault.errors import BadInput

INT64 = (-(2**63), 2**63 - 1)
MAX_DEPTH = 100  # as for YAML (gitvault.yamlio.parse.MAX_DEPTH)
Path_ = tuple[str | int, ...]


def parse(text: str, name: str) -> tuple[Any, dict[Path_, int]]:
    """The decoded document and ``{key path: line}``; raises :class:`BadInput`."""
    if text.startswith("\ufeff"):
        text = text[1:]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise BadInput(f"{name}: duplicate key {key[:60]!r} in one JSON object")
            out[key] = value
        return out

    def constant(token: str) -> Any:
        raise BadInput(f"{name}: {token} is not valid JSON (sops cannot store it)")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{name}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise BadInput(f"{name}: nested too deeply") from None
    lines = key_lines(text)
    _check_ints(data, (), name, lines)
    return data, lines


def _check_ints(node: Any, path: Path_, name: str, lines: dict[Path_, int]) -> None:
    if len(path) > MAX_DEPTH:
        raise BadInput(f"{name}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, dict):
        for k, v in node.items():
            _check_ints(v, (*path, k), name, lines)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_ints(v, (*path, i), name, lines)
    elif isinstance(node, int) and not isinstance(node, bool) and not INT64[0] <= node <= INT64[1]:
        where = _nearest_line(path, lines)
        at = f":{where}" if where else ""
        raise BadInput(f"{name}{at}: an integer outside the 64-bit range (sops cannot store it)")
    elif isinstance(node, float) and not math.isfinite(node):
        where = _nearest_line(path, lines)
        at = f":{where}" if where else ""
        raise BadInput(f"{name}{at}: a number too large for a 64-bit float")


def _nearest_line(path: Path_, lines: dict[Path_, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def key_lines(text: str) -> dict[Path_, int]:
    """``{key path: 1-based line}`` for every object key of valid JSON ``text``.

    Runs only on text :func:`json.loads` accepted, so it can be simple: it
    tracks strings, nesting and array positions, nothing else.
    """
    out: dict[Path_, int] = {}
    # Each frame: [is_object, current key or index]
    stack: list[list[Any]] = []
    line = 1
    i = 0
    n = len(text)
    expect_key = False
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if expect_key and stack and stack[-1][0]:
                key = json.loads(text[i : j + 1])
                stack[-1][1] = key
                out[tuple(f[1] for f in stack)] = line
                expect_key = False
            i = j
        elif ch == "{":
            stack.append([True, None])
            expect_key = True
        elif ch == "[":
            stack.append([False, 0])
        elif ch in "}]":
            stack.pop()
        elif ch == ",":
            if stack and stack[-1][0]:
                expect_key = True
            elif stack:
                stack[-1][1] += 1
        i += 1
    return out
