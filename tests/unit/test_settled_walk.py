"""The inline mapping loops of the encrypt/decrypt walks agree with the general walk.

``_enc_mapping_settled``/``_dec_mapping_settled`` open and seal the common
string leaf inline. Forcing the general walk (a selector that is never
"incremental") over the same documents, with the same IVs, must give the same
bytes, the same plaintext, the same MAC and the same IV stash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault.crypto import aead
from gitvault.errors import IntegrityError
from gitvault.model import Mapping
from gitvault.records import replace
from gitvault.sops import document
from gitvault.sops.metadata import Metadata
from gitvault.yamlio import emit_documents, load_documents

KEY = bytes(range(32))
SELECTIONS: list[dict[str, object]] = [
    {},
    {"unencrypted_suffix": "_plain"},
    {"encrypted_suffix": "_secret"},
    {"encrypted_regex": "^(pass|tok)"},
    {"unencrypted_regex": "^pub"},
    {"encrypted_suffix": "_secret", "mac_only_encrypted": True},
]
TEXT = """\
# top comment
db:
    password: hunter2
    password_plain: visible
    port: 5432
    ratio: 1.5
    on: true
    empty: ""
    nothing: null
    when: 2024-01-02T03:04:05Z
    # inner comment
    tok_secret: "x: y"
pub_key: abc
list:
    - one
    # a comment in a list
    - 2
    - k: v
      pass: w
nested:
    deeper:
        deepest_secret: ünïcode ✓
---
second: document
"""


class _General(document.Selector):
    def __init__(self, meta: Metadata) -> None:
        super().__init__(meta)
        self.incremental = False


@pytest.fixture
def counter_ivs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Deterministic IVs, restarted for each encryption, so two walks can be compared."""
    state = {"n": 0}

    def fresh_iv(self: aead.ValueCipher) -> bytes:
        state["n"] += 1
        return state["n"].to_bytes(32, "big")

    monkeypatch.setattr(aead.ValueCipher, "fresh_iv", fresh_iv)
    yield None


def _counter() -> Callable[[aead.ValueCipher], bytes]:
    """A fresh_iv that counts from 1: the same IV sequence for each walk compared."""
    count = {"n": 0}

    def fresh_iv(self: aead.ValueCipher) -> bytes:
        count["n"] += 1
        return count["n"].to_bytes(32, "big")

    return fresh_iv


def _meta(selection: dict[str, object]) -> Metadata:
    return Metadata(age=(), lastmodified="2024-01-02T03:04:05Z", mac="", **selection)  # type: ignore[arg-type]


def _both(
    docs: list[Mapping], selection: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = _meta(selection)
    results = []
    for general in (False, True):
        with monkeypatch.context() as m:
            if general:
                m.setattr(document, "Selector", _General)
            m.setattr(aead.ValueCipher, "fresh_iv", _counter())
            enc, enc_meta = document.encrypt_documents(
                docs, meta, KEY, lastmodified="2024-01-02T03:04:05Z"
            )
            plain = document.decrypt_documents(enc, enc_meta, KEY, record_ivs=True)
            results.append((emit_documents(enc), enc_meta.mac, plain))
    (enc_a, mac_a, plain_a), (enc_b, mac_b, plain_b) = results
    assert enc_a == enc_b
    assert mac_a == mac_b
    assert emit_documents(plain_a.documents) == emit_documents(plain_b.documents)
    assert emit_documents(plain_a.documents) == emit_documents(docs)
    assert plain_a.stash == plain_b.stash


@pytest.mark.parametrize("selection", SELECTIONS)
def test_fixed_document(selection: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    _both(load_documents(TEXT), selection, monkeypatch)


_keys = st.sampled_from(["a", "b_secret", "pass", "pub", "c_plain", "tok", "x.y", "ü"])
_scalars = st.one_of(
    st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none(), st.floats(0, 2, width=16)
)


def _tree(depth: int) -> st.SearchStrategy[object]:
    if depth == 0:
        return _scalars
    child = _tree(depth - 1)
    return st.one_of(
        _scalars,
        st.dictionaries(_keys, child, max_size=4),
        st.lists(child, max_size=3),
    )


def _to_model(value: object) -> object:
    if isinstance(value, dict):
        return Mapping([(k, _to_model(v)) for k, v in value.items()])  # type: ignore[misc]
    if isinstance(value, list):
        return [_to_model(v) for v in value]
    return value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=st.dictionaries(_keys, _tree(2), min_size=1, max_size=5), which=st.integers(0, 5))
def test_generated_documents(
    tree: dict[str, object], which: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Go through text so the tree is exactly what a file would give.
    docs = load_documents(emit_documents([_to_model(tree)]))  # type: ignore[list-item]
    _both(docs, SELECTIONS[which], monkeypatch)


def test_tampered_value_is_refused_by_the_inline_loop(counter_ivs: None) -> None:
    meta = _meta({})
    enc, enc_meta = document.encrypt_documents(
        load_documents("a: secret\nb: other\n"), meta, KEY, lastmodified="2024-01-02T03:04:05Z"
    )
    value = enc[0].get("a")
    assert isinstance(value, str)
    # Swap two values: each is authentic, but under the other key path.
    other = enc[0].get("b")
    assert isinstance(other, str)
    enc[0].set("a", other)
    enc[0].set("b", value)
    with pytest.raises(IntegrityError):
        document.decrypt_documents(enc, enc_meta, KEY)


def test_fresh_ivs_are_distinct() -> None:
    cipher = aead.ValueCipher(os.urandom(32))
    ivs = {cipher.fresh_iv() for _ in range(1000)}
    assert len(ivs) == 1000
    assert all(len(iv) == aead.IV_SIZE for iv in ivs)


def test_seal_text_opens_with_the_value_codec() -> None:
    from gitvault.sops import value as encval

    cipher = aead.ValueCipher(KEY)
    text = cipher.seal_text(b"hello", b"a:", "str")
    parsed = encval.parse(text)
    assert str(parsed) == text
    assert cipher.open(parsed.data, parsed.iv, parsed.tag, b"a:") == b"hello"
    assert replace(parsed, type="int").type == "int"


def _regex_parts(text: str) -> tuple[bytes, bytes, bytes, str] | None:
    """The reference: the documented ``_ENC`` shape plus strict base64."""
    import binascii

    from gitvault.sops import value as encval

    m = encval._ENC.fullmatch(text)
    if m is None or m.group(4) not in encval.TYPES:
        return None
    try:
        a2b = binascii.a2b_base64
        return (
            a2b(m.group(1), strict_mode=True) if m.group(1) else b"",
            a2b(m.group(2), strict_mode=True),
            a2b(m.group(3), strict_mode=True),
            m.group(4),
        )
    except (binascii.Error, ValueError):
        return None


def _split_parts(text: str) -> tuple[bytes, bytes, bytes, str] | None:
    from gitvault.sops import value as encval

    try:
        return encval.parts(text)
    except IntegrityError:
        return None


_GOOD = aead.ValueCipher(KEY).seal_text(b"hello world", b"a:", "str")


@settings(max_examples=400, deadline=None)
@given(
    pos=st.integers(0, len(_GOOD)),
    cut=st.integers(0, 3),
    insert=st.text(alphabet="A=/+,:]ENC[ \n\x00éa-z0", max_size=3),
)
def test_value_parts_accept_exactly_what_the_shape_regex_accepts(
    pos: int, cut: int, insert: str
) -> None:
    text = _GOOD[:pos] + insert + _GOOD[pos + cut :]
    assert _split_parts(text) == _regex_parts(text)


@pytest.mark.parametrize(
    "text",
    [
        _GOOD,
        "ENC[AES256_GCM,data:,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
        "ENC[AES256_GCM,data:,iv:,tag:AAAA,type:str]",
        "ENC[AES256_GCM,data:,iv:AAAA,tag:,type:str]",
        "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:nope]",
        "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]]",
        "ENC[AES256_GCM,data:AA,AA,iv:AAAA,tag:AAAA,type:str]",
        "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str,x:y]",
        "ENC[AES256_GCM,data:AAA,iv:AAAA,tag:AAAA,type:str]",
        "ENC[AES256_GCM,data:AAAA,iv:AA AA,tag:AAAA,type:str]",
        "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:]",
        "ENC[AES256_GCM,data:AAAA,tag:AAAA,iv:AAAA,type:str]",
    ],
)
def test_value_parts_edge_cases(text: str) -> None:
    assert _split_parts(text) == _regex_parts(text)
