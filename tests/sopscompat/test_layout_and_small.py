"""sops 3.13 layout (learned from the sops source: the binary here is 3.11), missing MAC, comment regex."""

from __future__ import annotations

import re
from pathlib import Path

import pyrage
import pytest

from gitvault.errors import IntegrityError
from gitvault.sops import file as sopsfile
from gitvault.sops import metadata as md
from gitvault.yamlio import emit_documents, load_documents
from tests.compat.sopsenv import make_key, run_sops
from tests.helpers import run_cli

SOURCE = """\
a: 1 # inline a
d: [x, y] # after flow
list:
    # before item
    - a: 1
      b: 2 # inline b
    - plain # inline item
k: # key note
    sub: 1
"""
# What sops 3.13 writes for SOURCE, derived from getsops/sops v3.13.2
# stores/yaml/store.go (value.LineComment -> Comment{Inline}, restored as the
# value node's LineComment) and go-yaml v3's emitter (" #" after the value).
EXPECTED_313 = """\
a: 1 # inline a
d:
    # after flow
    - x
    - "y"
list:
    # before item
    - a: 1
      b: 2 # inline b
    - plain # inline item
# key note
k:
    sub: 1
"""
# sops 3.11 (the binary here) puts every comment on its own line.
EXPECTED_311 = """\
# inline a
a: 1
d:
    # after flow
    - x
    - "y"
list:
    # before item
    - a: 1
      # inline b
      b: 2
    # inline item
    - plain
# key note
k:
    sub: 1
"""


def test_comment_layouts() -> None:
    docs = load_documents(SOURCE)
    assert emit_documents(docs) == EXPECTED_313
    assert emit_documents(docs, inline_comments=False) == EXPECTED_311
    assert emit_documents(load_documents(EXPECTED_313)) == EXPECTED_313


def test_311_layout_matches_the_sops_binary(tmp_path: Path) -> None:
    key = make_key(tmp_path)
    src = tmp_path / "s.yaml"
    src.write_text(SOURCE)
    enc = run_sops(["encrypt", "--age", key.public, str(src)], key).stdout
    (tmp_path / "e.yaml").write_bytes(enc)
    assert run_sops(["decrypt", str(tmp_path / "e.yaml")], key).stdout.decode() == EXPECTED_311


def test_current_layout_file_inline_encrypted_comments_and_sorted_metadata(tmp_path: Path) -> None:
    key = make_key(tmp_path)
    data = sopsfile.encrypt_new(
        load_documents(SOURCE), [key.public], version=md.CURRENT_SOPS_VERSION
    )
    text = data.decode()
    # key: ENC[...] #ENC[...,type:comment] on one line, as sops >= 3.13 writes it
    assert re.search(r"^a: ENC\[[^\]]*type:int\] #ENC\[[^\]]*type:comment\]$", text, re.M)
    block = text.split("\nsops:\n", 1)[1]
    # sops 3.13 sorts the block's keys at every level: enc before recipient
    assert re.match(r"    age:\n        - enc: \|\n", block)
    keys = re.findall(r"^    (\w+):", block, re.M)
    assert keys == sorted(keys)
    assert f"version: {md.CURRENT_SOPS_VERSION}" in block
    # the 3.11 binary still decrypts it (comment back on its own line) and verifies the MAC
    f = tmp_path / "v.yaml"
    f.write_bytes(data)
    assert run_sops(["decrypt", str(f)], key).stdout.decode() == EXPECTED_311
    # and gitvault reads it back with the comment inline
    ident = pyrage.x25519.Identity.from_str(key.secret)
    plain = sopsfile.open_file(sopsfile.parse_vault(data, "v"), [ident])
    # in a list sops stores an encrypted comment as an item, so it comes back on its own line
    assert emit_documents(plain.documents) == EXPECTED_313.replace(
        "    - plain # inline item\n", "    # inline item\n    - plain\n"
    )


def test_legacy_files_keep_their_layout(tmp_path: Path) -> None:
    """A file sops 3.11 wrote is rewritten in 3.11 layout: struct key order, own-line comments."""
    key = make_key(tmp_path)
    src = tmp_path / "s.yaml"
    src.write_text(SOURCE)
    enc = run_sops(["encrypt", "--age", key.public, str(src)], key).stdout
    ident = pyrage.x25519.Identity.from_str(key.secret)
    plain = sopsfile.open_file(sopsfile.parse_vault(enc, "v"), [ident], record_ivs=True)
    again = sopsfile.reencrypt(plain.documents, plain, lastmodified=plain.meta.lastmodified)
    assert again == enc


def test_hckms_is_written_where_sops_writes_it() -> None:
    meta = md.Metadata(
        age=(md.AgeStanza("age1x", "E"),),
        lastmodified="2020-01-01T00:00:00Z",
        mac="M",
        version="3.12.0",
        foreign={"hckms": [{"key_id": "k"}], "kms": [{"arn": "a"}], "pgp": [{"fp": "f"}]},
    )
    # sops 3.12 struct order: kms, gcp_kms, hckms, azure_kv, hc_vault, age, ...
    assert md.to_block(meta).keys() == [
        "kms",
        "hckms",
        "age",
        "lastmodified",
        "mac",
        "pgp",
        "unencrypted_suffix",
        "version",
    ] or md.to_block(meta).keys() == [
        "kms",
        "hckms",
        "age",
        "lastmodified",
        "mac",
        "pgp",
        "version",
    ]
    new = md.to_block(md.Metadata(**{**meta.__dict__, "version": "3.13.2"}))
    assert new.keys() == sorted(new.keys())


def test_missing_mac_is_an_integrity_failure(tmp_path: Path) -> None:
    key = make_key(tmp_path)
    data = sopsfile.encrypt_new(load_documents("a: 1\n"), [key.public]).decode()
    stripped = re.sub(r"\n    mac: ENC\[[^\]]*\]", "", data)
    assert "mac:" not in stripped
    f = tmp_path / "v.yaml"
    f.write_text(stripped)
    ident = pyrage.x25519.Identity.from_str(key.secret)
    with pytest.raises(IntegrityError):
        sopsfile.open_file(sopsfile.parse_vault(stripped.encode(), "v"), [ident])
    r = run_cli(["decrypt", "--identity", str(key.file), str(f)], cwd=tmp_path)
    assert r.code == 4, r.output
    assert "a: 1" not in r.stdout


def test_encrypted_comment_regex_policy_interop(tmp_path: Path) -> None:
    key = make_key(tmp_path)
    (tmp_path / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  me: {key.public}\n"
        "rules:\n  - path: '*.yaml'\n    recipients: [me]\n    encrypted_comment_regex: 'sops:enc'\n"
    )
    (tmp_path / "p.yaml").write_text("public: visible\n# sops:enc\nsecret: hidden-value\n")
    r = run_cli(["encrypt", "p.yaml", "-o", "v.yaml"], cwd=tmp_path)
    assert r.code == 0, r.output
    text = (tmp_path / "v.yaml").read_text()
    assert "public: visible" in text and "hidden-value" not in text
    assert "encrypted_comment_regex: sops:enc" in text
    out = run_sops(["decrypt", str(tmp_path / "v.yaml")], key).stdout.decode()
    assert out == "public: visible\n# sops:enc\nsecret: hidden-value\n"
    # sops's own file under the same option verifies against the policy
    enc = run_sops(
        [
            "--encrypt",
            "--age",
            key.public,
            "--encrypted-comment-regex",
            "sops:enc",
            str(tmp_path / "p.yaml"),
        ],
        key,
    ).stdout
    (tmp_path / "s.yaml").write_bytes(enc)
    r = run_cli(
        ["verify", "--identity", str(key.file), "--no-freshness", "s.yaml", "v.yaml"], cwd=tmp_path
    )
    assert r.code == 0, r.output


@pytest.mark.parametrize("version", ["3.11.0", "3.13.2"])
def test_history_fast_scanner_reads_both_metadata_orders(tmp_path: Path, version: str) -> None:
    """log/due read every version of every file: the line scanner must take both layouts."""
    from gitvault.sops import view

    keys = [make_key(tmp_path, "a").public, make_key(tmp_path, "b").public]
    data = sopsfile.encrypt_new(load_documents("a: 1\nb:\n    c: x\n"), keys, version=version)
    fast = view._scan_canonical(data)
    assert fast is not None
    vault = sopsfile.parse_vault(data, "x")
    assert fast.recipients == tuple(keys) == vault.recipients
    assert fast.leaves == vault.leaves()
    assert fast.data_key_wrapping == view._wrapping([s.enc for s in vault.meta.age])
