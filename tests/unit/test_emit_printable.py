"""The emitter's printable-character tests, checked against the Unicode-class regexes they
replaced (libyaml's is_printable as go-yaml implements it)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gitvault.yamlio import emit

_CLASS = "\\n\\x20-\\x7e\\xa0-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd"
NON_PRINTABLE = re.compile(f"[^{_CLASS}]")
SPECIAL = re.compile(f"[^\\t{_CLASS}]")

# Every boundary of the class, plus the BOM, tabs, breaks and astral characters.
EDGES = [
    chr(o)
    for o in (
        0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x7E, 0x7F, 0x85, 0x9F, 0xA0, 0xD7FF,
        0xE000, 0xFEFE, 0xFEFF, 0xFF00, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x1F600,
    )
]  # fmt: skip
TEXT = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(EDGES)), max_size=40)


def test_every_boundary_character() -> None:
    for c in EDGES:
        assert emit._printable(c) == (NON_PRINTABLE.match(c) is None and c != "\ufeff"), hex(ord(c))
        assert emit._has_special(c) == (SPECIAL.search(c) is not None), hex(ord(c))


@settings(max_examples=400)
@given(TEXT)
def test_special_matches_the_regex(value: str) -> None:
    assert emit._has_special(value) == (SPECIAL.search(value) is not None)
    assert emit._has_special(value + "abc") == (SPECIAL.search(value + "abc") is not None)


@settings(max_examples=200)
@given(TEXT)
def test_double_quoting_is_unchanged(value: str) -> None:
    def old_printable(c: str) -> bool:
        return NON_PRINTABLE.match(c) is None and c != "\ufeff"

    out = ['"']
    for c in value:
        if c in emit._ESCAPES and (c in '"\\' or not old_printable(c) or c in emit._BREAKS):
            out.append("\\" + emit._ESCAPES[c])
        elif not old_printable(c) or c in emit._BREAKS:
            o = ord(c)
            out.append(
                f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"
            )
        else:
            out.append(c)
    assert emit._double_quoted(value) == "".join([*out, '"'])
