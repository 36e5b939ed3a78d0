"""sops's JSON store: an ordered object tree, written the way Go's encoding/json writes it.

Reading: the top level must be an object (as sops requires); object key order
is kept (the MAC covers values in document order); integers within the 64-bit
range are ``int``, other numbers ``float`` (what sops ≥ 3.13 does; 3.11 reads
every number as a float, and a float with an integral value is hashed and
written the same way, so files agree either way). Unlike Go's decoder, a
duplicate key is refused: which of two values a reader sees must not depend
on the parser. ``NaN``/``Infinity`` (not JSON) are refused.

Writing: sops encodes each value with Go's ``json.Marshal`` (which escapes
``<``, ``>``, ``&``, U+2028 and U+2029) and re-indents with ``json.Indent``:
a tab per level by default, or ``indent`` spaces (the ``.sops.yaml``
``stores: json: indent`` setting), empty objects and arrays as ``{}``/``[]``,
and a final newline.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from gitvault.errors import BadInput
from gitvault.model import Comment, Mapping, Node, Sequence, Timestamp

# Nesting deeper than this is refused before any recursive walk (the MAC walk,
# the writer) could come near Python's recursion limit; the parser itself
# raises RecursionError on a file of 100 000 "[", which is exit 5 too.
MAX_DEPTH = 200
_INT64 = (-(2**63), 2**63 - 1)


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> Mapping:
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            raise _Duplicate(k)
        seen.add(k)
    return Mapping([(k, v) for k, v in pairs])


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        if _INT64[0] <= value <= _INT64[1]:
            return value
    result = float(text)
    if math.isinf(result):
        raise ValueError("number out of range")
    return result


def _constant(text: str) -> object:
    raise ValueError(f"{text} is not JSON")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _depth_ok(value: object) -> bool:
    """Whether containers nest no deeper than MAX_DEPTH (iterative: no recursion to exhaust)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for _, v in node.items() if isinstance(v, Mapping | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, Mapping | list))
    return True


def _fix(node: Node) -> Node:
    """Lists as Sequence; lone surrogates (``"\\ud800"``) become U+FFFD, as Go's decoder does."""
    if isinstance(node, Mapping):
        node.entries = [(_fix_str(k), _fix(v)) for k, v in node.items()]
        return node
    if isinstance(node, list):
        return Sequence(_fix(v) for v in node)
    if isinstance(node, str):
        return _fix_str(node)
    return node


def _fix_str(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def load(text: str, name: str) -> Mapping:
    """Parse a JSON document whose top level is an object; BadInput (exit 5) otherwise."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
        )
    except _Duplicate as dup:
        raise BadInput(f"{name}: duplicate JSON key {json.dumps(dup.key)[:80]}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{name}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise BadInput(f"{name}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BadInput(f"{name}: invalid JSON (a number or constant JSON does not allow)") from None
    if not _depth_ok(value):
        raise BadInput(f"{name}: JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, Mapping):
        raise BadInput(
            f"{name}: sops stores only JSON objects at the top level",
            hint='wrap it in an object, e.g. {"data": [...]}',
        )
    fixed = _fix(value)
    assert isinstance(fixed, Mapping)
    return fixed


# ------------------------------------------------------------------ writing

_GO_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029]|[\udc80-\udcff]+')


def _escape_one(m: re.Match[str]) -> str:
    ch = m.group()
    if ch[0] >= "\udc80":
        # Bytes that are not UTF-8 (kept as surrogate escapes): Go writes U+FFFD for each.
        return "\ufffd" * len(ch)
    return _GO_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def quote(text: str) -> str:
    """A JSON string exactly as Go's json.Marshal writes it (HTML-safe escapes)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_one, text) + '"'


def format_float(value: float) -> str:
    """Go's json.Marshal of a float64: 'f' form, or 'e' below 1e-6 / from 1e21."""
    from gitvault.yamlio.scalars import format_float_f

    if math.isnan(value) or math.isinf(value):
        raise BadInput("JSON cannot hold NaN or infinite numbers")
    a = abs(value)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = repr(value)  # shortest round-trip digits, as Go's 'e' with precision -1
        mant, _, exp = text.partition("e")
        if mant.endswith(".0"):
            mant = mant[:-2]
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return format_float_f(value)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, Timestamp):
        return quote(value.text)
    if isinstance(value, str):
        return quote(value)
    raise BadInput(f"cannot write a {type(value).__name__} value as JSON")


def _emit(node: Node, pad: str, level: int, out: list[str]) -> None:
    if isinstance(node, Mapping):
        items = list(node.items())  # comments have no place in JSON (sops drops them)
        if not items:
            out.append("{}")
            return
        inner = "\n" + pad * (level + 1)
        out.append("{")
        for i, (key, value) in enumerate(items):
            out.append(("," if i else "") + inner + quote(key) + ": ")
            _emit(value, pad, level + 1, out)
        out.append("\n" + pad * level + "}")
    elif isinstance(node, list):
        values = [v for v in node if not isinstance(v, Comment)]
        if not values:
            out.append("[]")
            return
        inner = "\n" + pad * (level + 1)
        out.append("[")
        for i, value in enumerate(values):
            out.append(("," if i else "") + inner)
            _emit(value, pad, level + 1, out)
        out.append("\n" + pad * level + "]")
    else:
        out.append(_scalar(node))


def dump(doc: Mapping, indent: int | None = None) -> str:
    """The document as sops writes JSON: tab indent unless ``indent`` spaces are asked for."""
    if indent is not None and indent < 0:
        raise BadInput("JSON indent must be 0 or more spaces")
    pad = "\t" if indent is None else " " * indent
    out: list[str] = []
    _emit(doc, pad, 0, out)
    return "".join(out) + "\n"
