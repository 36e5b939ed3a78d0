"""The history parser: the fast canonical-layout scanner agrees with the full parser."""

from __future__ import annotations

import pytest

from gitvault import identities
from gitvault.errors import BadInput
from gitvault.sops import file as sopsfile
from gitvault.sops import view as sources
from gitvault.yamlio import load_documents

PLAINTEXTS = [
    "password: hunter2\n",
    "db:\n    password: p\n    port: 5432\n    nested:\n        deeper: true\napi_key: k\n",
    "a-b_c: 1.5\nz: x\n",
    # These need the full parser: lists, dotted keys, unencrypted leaves, comments.
    "list:\n    - one\n    - two\n",
    "dotted.key: v\n",
    "user_unencrypted: visible\npassword: p\n",
    "# a comment\npassword: p\n",
    "multi: |\n    line one\n    line two\n",
]


def full(data: bytes, name: str) -> sources.ParsedVault:
    vault = sopsfile.parse_vault(data, name)
    return sources.ParsedVault(
        leaves=vault.leaves(),
        recipients=vault.recipients,
        data_key_wrapping=sources._wrapping([s.enc for s in vault.meta.age]),
        lastmodified=vault.meta.lastmodified,
    )


@pytest.mark.parametrize("plaintext", PLAINTEXTS)
def test_fast_path_agrees_or_falls_back(plaintext: str) -> None:
    publics = [identities.generate()[1] for _ in range(2)]
    data = sopsfile.encrypt_new(load_documents(plaintext, "t.yaml"), publics)
    expected = full(data, "t.yaml")
    fast = sources._scan_canonical(data)
    if fast is not None:
        assert fast == expected
    assert sources.parse_for_history(data, "t.yaml") == expected


def test_canonical_files_take_the_fast_path() -> None:
    public = identities.generate()[1]
    data = sopsfile.encrypt_new(load_documents(PLAINTEXTS[1], "t.yaml"), [public])
    assert sources._scan_canonical(data) is not None


@pytest.mark.parametrize(
    "data",
    [b"password: plain\n", b"sops:\n    mac: x\n", b"\xff\xfe", b"a: ENC[AES256_GCM,data:x]\n"],
)
def test_non_vault_files_raise_bad_input(data: bytes) -> None:
    assert sources._scan_canonical(data) is None
    with pytest.raises(BadInput):
        sources.parse_for_history(data, "t.yaml")
