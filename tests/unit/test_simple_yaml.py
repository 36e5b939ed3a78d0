"""The policy's simple YAML reader gives the full parser's data, or declines.

Wherever :func:`load_simple` answers, the answer must equal (type for type)
``to_python(load_documents(text)[0])``; wherever the full parser refuses a
text, the simple reader must decline too (so the error still comes from the
full parser). Texts are generated from policy-like shapes mixed with the
tokens YAML treats specially.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.init import STARTER_POLICY
from gitvault.model import to_python
from gitvault.yamlio import load_documents
from gitvault.yamlio.simple import load_simple

TOKENS = [
    "abc", "90d", "1", "-1", "1.5", "1e3", ".inf", "0x1F", "0o17", "+1", "007", "true", "True",
    "yes", "on", "null", "~", "2024-01-02", "2024-01-02T03:04:05Z", "a b", "a  b", "a:b",
    "a: b", "a #b", "a#b", "-x", "*x", "&x", "!x", "@x", "%x", "`x", "?x", "|", ">", ":", "<<",
    "a,b", "[x]", "{x}", "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgp", "ssh-ed25519 AAAAC3Nz c@d",
    "password:32", "**", "secrets/**", "é", "x/y.z", "=", "a=b", "(x)", "$HOME", "^x",
    "http://a.b/c", "a*b", "", "18446744073709551615", "1_000",
]  # fmt: skip
KEYS = ["a", "b", "key", "db.password", "x-y", "_k", "on", "true", "1", "<<", "k k", "é", "a:b"]
# Most of a real policy is ordinary: draw these most of the time, so that many
# generated texts are answered and the comparison is not vacuous.
SAFE_TOKENS = ["abc", "90d", "1", "1.5", "true", "null", "a b", "a:b", "age1qyqszqgp", "x/y.z"]
SAFE_KEYS = ["a", "b", "key", "db.password", "x-y", "_k"]


def _scalar(draw: st.DrawFn) -> str:
    token = draw(st.sampled_from(TOKENS if draw(st.integers(0, 5)) == 0 else SAFE_TOKENS))
    style = draw(st.sampled_from(["plain", "plain", "double", "single"]))
    if style == "double":
        return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "single":
        return "'" + token.replace("'", "''") + "'"
    return token


def _inline(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["scalar", "scalar", "scalar", "flowseq", "flowmap"]))
    if kind == "scalar":
        return _scalar(draw)
    n = draw(st.integers(0, 3))
    if kind == "flowseq":
        return "[" + ", ".join(_scalar(draw) for _ in range(n)) + "]"
    keys = KEYS if draw(st.integers(0, 5)) == 0 else SAFE_KEYS
    return (
        "{" + ", ".join(f"{draw(st.sampled_from(keys))}: {_scalar(draw)}" for _ in range(n)) + "}"
    )


def _comment(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", "", "", "  # note", " #x", "    # a: b", "#tight"]))


def _mapping(draw: st.DrawFn, indent: int, depth: int, out: list[str]) -> None:
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(["", "# c", " " * indent + "# c", "   "])))
        key = draw(st.sampled_from(KEYS if draw(st.integers(0, 7)) == 0 else SAFE_KEYS))
        shape = draw(st.sampled_from(["inline", "inline", "map", "list", "empty"]))
        if depth >= 3:
            shape = "inline"
        pad = " " * indent
        if shape == "inline":
            out.append(f"{pad}{key}: {_inline(draw)}{_comment(draw)}")
        elif shape == "empty":
            out.append(f"{pad}{key}:{_comment(draw)}")
        elif shape == "map":
            out.append(f"{pad}{key}:{_comment(draw)}")
            _mapping(draw, indent + draw(st.sampled_from([2, 4, 1])), depth + 1, out)
        else:
            out.append(f"{pad}{key}:")
            _list(draw, indent + draw(st.sampled_from([0, 2, 4])), depth + 1, out)


def _list(draw: st.DrawFn, indent: int, depth: int, out: list[str]) -> None:
    pad = " " * indent
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()) and depth < 3:
            first = len(out)
            _mapping(draw, indent + 2, depth + 1, out)
            line = out[first]
            if line.startswith(" " * (indent + 2)) and line.strip() and line.strip()[0] != "#":
                out[first] = pad + "- " + line[indent + 2 :]
            else:
                out.insert(first, pad + "- " + _scalar(draw))
        else:
            out.append(f"{pad}- {_inline(draw)}{_comment(draw)}")


@st.composite
def documents(draw: st.DrawFn) -> str:
    out: list[str] = []
    _mapping(draw, 0, 0, out)
    return "\n".join(out) + "\n"


def _full(text: str) -> object:
    docs = load_documents(text)
    if len(docs) != 1:
        raise BadInput("not one document")
    return to_python(docs[0])


def _agree(text: str) -> bool:
    """Assert the readers agree on ``text``; True when the simple reader answered."""
    simple = load_simple(text)
    try:
        full = _full(text)
    except BadInput:
        assert simple is None, text
        return False
    if simple is not None:
        assert repr(simple) == repr(full), text
    return simple is not None


@settings(max_examples=600, deadline=None)
@given(documents())
def test_generated_documents_agree(text: str) -> None:
    _agree(text)


def test_the_generator_reaches_the_simple_path() -> None:
    """Guard against a vacuous property: many generated texts must be answered."""
    answered = 0

    # Derandomized: a count over random draws would fail now and then by chance.
    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(documents())
    def count(text: str) -> None:
        nonlocal answered
        answered += _agree(text)

    count()
    assert answered >= 60


def _example_policies() -> list[str]:
    root = Path(__file__).resolve().parents[2]
    found = [p.read_text() for p in root.glob("examples/**/.gitvault.yaml")]
    found.append(STARTER_POLICY.format(entry="  alice: age1qyqszqgpqyqszqgp", name="alice"))
    found.append(
        STARTER_POLICY.format(
            entry='  alice:\n    key: age1abc\n    email: "a@b.c"\n'
            "    signing_keys: [ssh-ed25519 AAAAC3Nz alice]",
            name="alice",
        )
    )
    return found


@pytest.mark.parametrize("text", _example_policies())
def test_real_policies_take_the_simple_path(text: str) -> None:
    assert _agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: |\n  text\n",
        "a: 1\na: 2\n",
        "a: 1\n---\nb: 2\n",
        'a: "x\\ny"\n',
        "a: 'it''s'\n",
        "a:\n\t- x\n",
        "- a\n",
        "a:\n  b\n",
        "a: b\n  c\n",
        "<<: {a: 1}\n",
        "a: [1, [2]]\n",
        "a: {b: {c: 1}}\n",
        "a: -1\n",
        "a: x\r\n",
        "a: 18446744073709551615\n",  # beyond int64: the full parser's error
    ],
)
def test_unusual_shapes_are_declined(text: str) -> None:
    assert load_simple(text) is None
