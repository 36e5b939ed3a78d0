"""Key-less structure checks of a vault file against its rule."""

from __future__ import annotations

import re

import pyrage
import pytest

from gitvault.sops.file import encrypt_new, parse_vault
from gitvault.sops.structure import structure_problems
from gitvault.yamlio import load_documents

DOC = "a: 1\nb: text\nc_unencrypted: visible\nl: [1, two]\nn: null\ne: ''\n"


@pytest.fixture(scope="module")
def text() -> str:
    ident = pyrage.x25519.Identity.generate()
    return encrypt_new(load_documents(DOC, "x"), [str(ident.to_public())]).decode()


def _problems(text: str, selection: dict[str, object] | None = None) -> list[str]:
    vault = parse_vault(text.encode(), "x")
    return structure_problems(vault.documents, vault.meta, selection or {})


def test_a_file_made_for_the_rule_has_no_problems(text: str) -> None:
    assert _problems(text) == []


def test_a_plaintext_value_is_named_by_key_never_by_value(text: str) -> None:
    bad = re.sub(r"b: ENC\[[^\]]*\]", "b: hunter2", text)
    [problem] = _problems(bad)
    assert "b" in problem and "hunter2" not in problem


def test_a_list_item_in_plaintext_is_found(text: str) -> None:
    bad = re.sub(r"- ENC\[[^\]]*type:str\]", "- two", text, count=1)
    assert any("l" in p for p in _problems(bad))


def test_a_malformed_enc_shape_is_found(text: str) -> None:
    bad = re.sub(r"(b: ENC\[AES256_GCM,data:[^,]*,iv:)[^,]*", r"\1QUJD", text)
    assert _problems(bad)


def test_selection_metadata_must_be_the_rules(text: str) -> None:
    assert "selection metadata" in _problems(text, {"encrypted_regex": "^a$"})[0]
    smuggled = text.replace("unencrypted_suffix: _unencrypted", "unencrypted_regex: .*")
    smuggled = re.sub(r"b: ENC\[[^\]]*\]", "b: plain", smuggled)
    problems = _problems(smuggled)
    assert any("selection metadata" in p for p in problems)
    assert any("not encrypted" in p and "b" in p for p in problems)  # judged by the rule


def test_mac_shape_is_checked(text: str) -> None:
    bad = re.sub(r"mac: ENC\[[^\]]*\]", "mac: nothing", text)
    assert any("MAC" in p for p in _problems(bad))
