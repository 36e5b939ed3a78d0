"""Fuzzing the parsers of untrusted input: any bytes give a value or a GitvaultError, never a crash."""

from __future__ import annotations

import contextlib

import pyrage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault.errors import GitvaultError
from gitvault.sops import file as sopsfile
from gitvault.yamlio import load_canonical, load_documents

_IDENT = pyrage.x25519.Identity.generate()
_VALID = sopsfile.encrypt_new(
    load_documents("db:\n    password: hunter2\n    port: 5432\nlist:\n    - a\n    - b\n# c\n"),
    [str(_IDENT.to_public())],
)
YAMLISH = st.text(
    st.sampled_from(list("ab:- \n#'\"[]{}&*!|>%@`?,.0123456789eE+~\t\\")), max_size=80
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=YAMLISH)
def test_yaml_reader_never_crashes(text: str) -> None:
    with contextlib.suppress(GitvaultError):
        load_documents(text)
    fast = load_canonical(text)
    if fast is not None:
        # whatever the fast reader accepts, the full parser reads identically
        assert fast == load_documents(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_vault_files_fail_cleanly(data: st.DataObject) -> None:
    raw = bytearray(_VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip":
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "delete":
            del raw[pos]
        else:
            raw.insert(pos, data.draw(st.integers(0, 255)))
    try:
        vault = sopsfile.parse_vault(bytes(raw), "fuzz")
        plain = sopsfile.open_file(vault, [_IDENT])
    except GitvaultError:
        return
    # A mutation that still decrypts must not have changed any value (e.g. it hit a comment
    # or whitespace the parser normalises): the MAC guarantees it.
    assert [p for p in plain.documents[0].items() if p[0] == "db"] == [
        p
        for p in sopsfile.open_file(sopsfile.parse_vault(_VALID, "v"), [_IDENT])
        .documents[0]
        .items()
        if p[0] == "db"
    ]
