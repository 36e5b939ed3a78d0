"""Fuzz the import parsers: any input either parses or raises BadInput (one line, no value)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.importer import dotenv
from gitvault.importer.sources import read_units

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


def _no_identities() -> object:
    raise AssertionError("no source here needs an identity")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_dotenv_never_crashes(text: str) -> None:
    try:
        entries = dotenv.parse(text, "f.env")
    except BadInput as err:
        assert "\n" not in err.message
        return
    assert len({e.key for e in entries}) == len(entries)


def _quote(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return '"' + escaped.replace("$", "\\$") + '"'


@settings(max_examples=200)
@given(st.dictionaries(NAMES, VALUES, max_size=8))
def test_dotenv_round_trip_of_double_quoted_values(values: dict[str, str]) -> None:
    text = "".join(f"{k}={_quote(v)}\n" for k, v in values.items())
    got = {e.key: e.value for e in dotenv.parse(text, "f.env")}
    # A \t written raw stays \t; everything escaped comes back exactly.
    assert got == values


@settings(max_examples=200)
@given(st.binary(max_size=200), st.sampled_from(["a.env", "a.json", "a.yaml"]))
def test_read_units_never_crashes(data: bytes, name: str) -> None:
    try:
        read_units(Path(name), data, None, _no_identities)  # type: ignore[arg-type]
    except BadInput as err:
        assert "\n" not in err.message


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | VALUES,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(NAMES, kids, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150)
@given(st.dictionaries(NAMES, JSONISH, min_size=1, max_size=5))
def test_json_units_keep_values(doc: dict[str, object]) -> None:
    from gitvault.model import to_python

    (unit,) = read_units(Path("a.json"), json.dumps(doc).encode(), None, _no_identities)  # type: ignore[arg-type]
    assert to_python(unit.document) == doc
