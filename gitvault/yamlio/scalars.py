"""Scalar typing and formatting exactly as go-yaml v3 and Go's strconv do them.

SOPS hashes the *typed* value of every leaf into its MAC, so a reader that
types ``1e10``, ``017`` or ``yes`` differently from go-yaml v3 computes a
different MAC. This module re-implements, from go-yaml v3's ``resolve.go`` and
Go's ``strconv``/``time`` behaviour, the rules for:

- resolving a plain scalar to str/int/float/bool/null/timestamp;
- the bytes SOPS encrypts and hashes for each type (``to_sops_bytes``);
- the text go-yaml writes for ints, floats and timestamps.

Pure functions only; no YAML library, no I/O.
"""

from __future__ import annotations

import math
import re

from gitvault.errors import BadInput
from gitvault.model import Timestamp

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

_MAP: dict[str, object] = {}
for _s in ("true", "True", "TRUE"):
    _MAP[_s] = True
for _s in ("false", "False", "FALSE"):
    _MAP[_s] = False
for _s in ("", "~", "null", "Null", "NULL"):
    _MAP[_s] = None
for _s in (".nan", ".NaN", ".NAN"):
    _MAP[_s] = math.nan
for _s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"):
    _MAP[_s] = math.inf
for _s in ("-.inf", "-.Inf", "-.INF"):
    _MAP[_s] = -math.inf

_MERGE = object()  # "<<" resolves to the merge tag; callers treat it as a string

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
# YAML 1.1 booleans: go-yaml quotes them on output for older parsers' sake.
_OLD_BOOLS = frozenset(
    {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
    | {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}
)

# Go's time.Parse layouts used by go-yaml, as regexes. Go's "1"/"2"/"15"/"4"/"5"
# accept one or two digits; the year must have exactly four.
_TS_FULL = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})"
    r"(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})"
)
_TS_SPACE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?")
_TS_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class _NotTimestamp(Exception):
    pass


def _go_parse_int(text: str, base: int = 0) -> int | None:
    """Go's strconv.ParseInt/ParseUint syntax (without range checks); None if invalid."""
    s = text
    sign = 1
    if s[:1] in ("+", "-"):  # not `in "+-"`: the empty string is in every string
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s:
        return None
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1] in "xX":
                base, s = 16, s[2:]
            elif len(s) >= 3 and s[1] in "oO":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1] in "bB":
                base, s = 2, s[2:]
            elif len(s) > 1:
                base, s = 8, s[1:]
    digits = "0123456789abcdef"[:base]
    if not s or any(c.lower() not in digits for c in s):
        return None
    return sign * int(s, base)


def _timestamp(text: str) -> Timestamp | None:
    """go-yaml's parseTimestamp, returning Go's RFC3339Nano text or None."""
    if len(text) < 5 or not text[:4].isdigit() or text[4] != "-":
        return None
    for pattern in (_TS_FULL, _TS_SPACE, _TS_DATE):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        try:
            return _format_time(m.groups(), pattern is _TS_FULL)
        except _NotTimestamp:
            return None
    return None


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _format_time(groups: tuple[str | None, ...], has_zone: bool) -> Timestamp:
    year, month, day = int(groups[0] or 0), int(groups[1] or 0), int(groups[2] or 0)
    hour = minute = second = 0
    frac = ""
    zone = "Z"
    if len(groups) > 3:
        hour, minute, second = int(groups[3] or 0), int(groups[4] or 0), int(groups[5] or 0)
        frac = groups[6] or ""
        if has_zone:
            zone = groups[7] or "Z"
    if not (1 <= month <= 12) or hour > 23 or minute > 59 or second > 59:
        raise _NotTimestamp
    if not 1 <= day <= _days_in_month(year, month):
        raise _NotTimestamp
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 24 or zm > 59:  # Go rejects out-of-range zone fields
            raise _NotTimestamp
        if zh == 0 and zm == 0:
            zone = "Z"  # Go formats a zero offset as Z
    # Go keeps nanoseconds: longer fractions are truncated, then trailing zeros trimmed.
    frac = frac[:9].rstrip("0")
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if frac:
        text += "." + frac
    return Timestamp(text + zone)


def resolve_plain(text: str) -> object:
    """Type a plain (unquoted, untagged) scalar as go-yaml v3 does.

    Returns str, int, float, bool, None, :class:`Timestamp`, or ``_MERGE``
    for ``<<``. Integers outside int64 but inside uint64 raise
    :class:`BadInput`: the real sops cannot store them.
    """
    hint = text[:1]
    if text in _MAP:
        return _MAP[text]
    if text == "<<":
        return _MERGE
    if hint == "" or hint in "yYnNtTfFoO~":
        return text
    if hint == ".":
        f = _go_parse_float(text)
        return text if f is None else f
    if hint in "+-0123456789":
        ts = _timestamp(text)
        if ts is not None:
            return ts
        plain = text.replace("_", "")
        n = _go_parse_int(plain)
        if n is not None:
            if INT64_MIN <= n <= INT64_MAX:
                return n
            if 0 <= n <= UINT64_MAX:
                raise BadInput(
                    "integer beyond the 64-bit signed range; sops cannot store it",
                    hint="quote the value to keep it as a string",
                )
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            f = _go_parse_float(plain)
            if f is not None:
                return f
        for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
            if plain.startswith(prefix):
                digits = plain[len(prefix) :]
                n = _go_parse_int(("-" if prefix[0] == "-" else "") + digits, base)
                if n is not None and INT64_MIN <= n <= INT64_MAX:
                    return n
                if n is not None and 0 <= n <= UINT64_MAX:
                    raise BadInput(
                        "integer beyond the 64-bit signed range; sops cannot store it",
                        hint="quote the value to keep it as a string",
                    )
                break
    return text


_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat for the decimal forms go-yaml lets through."""
    if not _GO_FLOAT.fullmatch(text):
        return None
    value = float(text)
    if math.isinf(value):
        return None  # Go reports a range error; go-yaml then keeps the string
    return value


def resolve_tagged(tag: str, text: str, plain: bool) -> object:
    """Type a scalar with an explicit tag (``!!str``, ``!!int``…) as go-yaml does."""
    short = tag.replace("tag:yaml.org,2002:", "!!")
    if short in ("!!str", "!"):
        return text
    if short == "!!binary":
        import base64
        import binascii

        try:
            data = base64.b64decode("".join(text.split()), validate=True)
            return data.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadInput("a !!binary value is not base64 of UTF-8 text") from exc
    if short not in ("!!int", "!!float", "!!bool", "!!null", "!!timestamp"):
        return text  # unknown tags: go-yaml decodes the text as a string
    if short == "!!timestamp":
        ts = _timestamp(text)
        if ts is None:
            raise BadInput("a value tagged !!timestamp is not a valid timestamp")
        return ts
    value = resolve_plain(text)
    if short == "!!float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = {
        "!!int": isinstance(value, int) and not isinstance(value, bool),
        "!!float": isinstance(value, float),
        "!!bool": isinstance(value, bool),
        "!!null": value is None,
    }[short]
    if not ok:
        raise BadInput(f"a value tagged {short} does not parse as one")
    return value


def resolve(text: str, tag: str | None, plain: bool) -> object:
    """Type any scalar: plain and untagged → go-yaml resolution, quoted → str."""
    if tag and tag != "?":
        return resolve_tagged(tag, text, plain)
    if not plain:
        return text
    return resolve_plain(text)


# ----------------------------------------------------------------- formatting


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(value)`` and the decimal-point position.

    ``value == 0.DIGITS × 10**dp``, the same pair Go's strconv works from;
    Python's repr and Go both produce the shortest digits that round-trip.
    """
    from decimal import Decimal  # only floats need it; keep it off the start-up path

    dec = Decimal(repr(abs(value)))
    if dec == 0:
        return "0", 1
    digits = "".join(map(str, dec.as_tuple().digits)).rstrip("0")
    return digits, dec.adjusted() + 1


def format_float_f(value: float) -> str:
    """strconv.FormatFloat(v, 'f', -1, 64): SOPS's plaintext bytes for floats."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    neg = math.copysign(1.0, value) < 0
    digits, dp = _shortest_digits(value)
    if digits == "0":
        body = "0"
    elif dp <= 0:
        body = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        body = digits + "0" * (dp - len(digits))
    else:
        body = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + body


def format_float_g(value: float) -> str:
    """go-yaml's float text: strconv 'g' shortest, with YAML spellings of inf/nan."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    neg = math.copysign(1.0, value) < 0
    digits, dp = _shortest_digits(value)
    exp = dp - 1
    # Go's 'g' with shortest precision switches to an exponent below 1e-4 and from 1e6.
    if digits != "0" and (exp < -4 or exp >= 6):
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "-" if exp < 0 else "+"
        body = f"{mant}e{sign}{abs(exp):02d}"
    else:
        body = format_float_f(abs(value))
    return ("-" if neg else "") + body


def to_sops_bytes(value: object) -> tuple[bytes, str]:
    """The plaintext bytes SOPS encrypts and hashes for a scalar, and its type name."""
    if isinstance(value, bool):
        return (b"True" if value else b"False"), "bool"
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape"), "str"
    if isinstance(value, int):
        return str(value).encode(), "int"
    if isinstance(value, float):
        return format_float_f(value).encode(), "float"
    if isinstance(value, Timestamp):
        return value.text.encode(), "time"
    raise TypeError(f"cannot encrypt a value of type {type(value).__name__}")


_GO_BOOL = {
    "1": True,
    "t": True,
    "T": True,
    "TRUE": True,
    "true": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "FALSE": False,
    "false": False,
    "False": False,
}


def from_sops_bytes(data: bytes, type_name: str) -> object:
    """Inverse of :func:`to_sops_bytes` (with the looser forms sops accepts)."""
    text = data.decode("utf-8", "surrogateescape")
    if type_name in ("str", "bytes"):
        return text
    if type_name == "int":
        n = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None
        if n is None or not INT64_MIN <= n <= INT64_MAX:
            raise ValueError("bad int")
        return n
    if type_name == "float":
        low = text.lower().lstrip("+-")
        if low in ("inf", "infinity"):
            return -math.inf if text.startswith("-") else math.inf
        if low == "nan":
            return math.nan
        f = _go_parse_float(text)
        if f is None:
            raise ValueError("bad float")
        return f
    if type_name == "bool":
        if text not in _GO_BOOL:
            raise ValueError("bad bool")
        return _GO_BOOL[text]
    if type_name == "time":
        m = _TS_FULL.fullmatch(text)
        if m is None:
            raise ValueError("bad time")
        try:
            return _format_time(m.groups(), True)
        except _NotTimestamp as exc:
            raise ValueError("bad time") from exc
    raise ValueError("unknown type")


def is_plain_safe(text: str) -> bool:
    """go-yaml's canUsePlain: the text reads back as the same string when unquoted."""
    try:
        typed = resolve_plain(text)
    except BadInput:
        return False
    if not isinstance(typed, str):
        return False
    if text in _OLD_BOOLS:
        return False
    if text[:1] and (text[0] in "+-" or text[0].isdigit()) and ":" in text:
        return _BASE60_FLOAT.fullmatch(text) is None
    return True


def is_merge_key(value: object) -> bool:
    return value is _MERGE
