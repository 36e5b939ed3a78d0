"""Hostile or malformed JSON/dotenv/binary input: one error line, the documented exit code,
no file touched, no traceback."""

from __future__ import annotations

import json
import re

import pytest

from gitvault.errors import BadInput
from gitvault.sops import formats
from gitvault.sops.stores import dotenv, flatten
from gitvault.sops.stores import json as jsonstore
from tests.formats.conftest import FormatVault, gv_bytes
from tests.helpers import run_cli


def _one_line_error(err: str, code: int, want: int) -> None:
    assert code == want, err
    assert err.startswith("gitvault: error: ") and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("gitvault: error:")]) == 1


@pytest.mark.parametrize(
    ("plain", "needle"),
    [
        (b'{"a": 1,}', "invalid JSON"),
        (b'{"a": 1, "a": 2}', "duplicate JSON key"),
        (b"[1, 2]", "top level"),
        (b'"text"', "top level"),
        (b'{"a": NaN}', "invalid JSON"),
        (b'{"a": Infinity}', "invalid JSON"),
        (b'{"a": 1e999}', "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"sops": 1}', "sops"),
    ],
    ids=lambda v: v[:12].decode("latin-1") if isinstance(v, bytes) else str(v),
)
def test_malformed_plaintext_json_is_refused(
    fvault: FormatVault, plain: bytes, needle: str
) -> None:
    path = fvault.path("app.json")
    path.write_bytes(plain)
    r = run_cli(["encrypt", str(path), "--in-place"], cwd=fvault.root)
    _one_line_error(r.stderr, r.code, 5)
    assert needle in r.stderr
    assert path.read_bytes() == plain


@pytest.mark.parametrize(
    ("mutate", "want"),
    [
        (lambda t: t[:-20], 5),  # truncated JSON
        (lambda t: t.replace('"sops": {', '"sops": {"age": 5, "x": {', 1), 5),
        (lambda t: t.replace('"db"', '"sops"', 1), 5),  # two "sops" keys
        (lambda t: re.sub(r',\s*"sops": \{.*\}\s*\}\s*$', "\n}\n", t, flags=re.S), 5),
    ],
)
def test_malformed_encrypted_json_is_refused(fvault: FormatVault, mutate, want: int) -> None:  # type: ignore[no-untyped-def]
    path = fvault.gv_encrypt("app.json", b'{"db": {"password": "hunter2"}}')
    bad = mutate(path.read_text())
    path.write_text(bad)
    for args in (["decrypt", str(path)], ["set", str(path), "db.password", "x"]):
        code, out, err = gv_bytes(args, cwd=fvault.root)
        _one_line_error(err, code, want)
        assert out == b"" and "hunter2" not in err
        assert path.read_text() == bad


def test_huge_input_is_capped(fvault: FormatVault) -> None:
    from gitvault.fsutil import MAX_INPUT_BYTES

    path = fvault.path("big.json")
    with path.open("wb") as fh:
        fh.write(b'{"a": "')
        fh.seek(MAX_INPUT_BYTES + 10)
        fh.write(b'"}')
    for args in (["encrypt", str(path), "--in-place"], ["decrypt", str(path)]):
        code, _, err = gv_bytes(args, cwd=fvault.root)
        _one_line_error(err, code, 5)
        assert "too large" in err


@pytest.mark.parametrize(
    ("plain", "needle"),
    [
        (b"NOEQUALS\n", "not KEY=VALUE"),
        (b"A=1\nA=2\n", "duplicate key"),
        (b"sops_mac=1\n", "sops"),
    ],
)
def test_malformed_plaintext_dotenv_is_refused(
    fvault: FormatVault, plain: bytes, needle: str
) -> None:
    path = fvault.path("app.env")
    path.write_bytes(plain)
    r = run_cli(["encrypt", str(path), "--in-place"], cwd=fvault.root)
    _one_line_error(r.stderr, r.code, 5)
    assert needle in r.stderr and path.read_bytes() == plain


def test_dotenv_metadata_bombs_are_refused() -> None:
    with pytest.raises(BadInput, match="list index"):
        flatten.unflatten({"age__list_99999999__map_enc": "x"}, "f")
    with pytest.raises(BadInput, match="too deeply"):
        flatten.unflatten({"age" + "__map_x" * 100_000: "y"}, "f")
    with pytest.raises(BadInput, match="conflicts"):
        flatten.unflatten({"age": "x", "age__list_0__map_enc": "y"}, "f")
    with pytest.raises(BadInput, match="shamir_threshold"):
        dotenv.split_metadata(dotenv.load("sops_shamir_threshold=x\n", "f"), "f")


def test_flatten_round_trip_matches_sops_layout() -> None:
    from gitvault.model import Mapping, Sequence

    block = Mapping(
        [
            ("age", Sequence([Mapping([("recipient", "age1x"), ("enc", "a\nb\n")])])),
            ("lastmodified", "2024-01-01T00:00:00Z"),
            ("mac", "ENC[x]"),
            ("mac_only_encrypted", True),
            ("version", "3.11.0"),
        ]
    )
    flat = flatten.flatten(block)
    assert flat["age__list_0__map_enc"] == "a\nb\n" and flat["mac_only_encrypted"] == "true"
    text = dotenv.dump(Mapping([("A", "1")]), block)
    assert text.splitlines()[1] == "sops_age__list_0__map_enc=a\\nb\\n"
    body, back = dotenv.split_metadata(dotenv.load(text, "f"), "f")
    assert body == Mapping([("A", "1")]) and back is not None
    assert flatten.flatten(back) == flat
    assert back.get("mac_only_encrypted") is True


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.yaml", "yaml"),
        ("a.YML", "yaml"),
        ("x/a.json", "json"),
        ("a.env", "dotenv"),
        (".env", "dotenv"),
        ("a.ini", "ini"),
        ("tls.key", "binary"),
        ("noext", "binary"),
        ("secrets/app.json (HEAD)", "json"),
    ],
)
def test_format_for_path_follows_sops(name: str, fmt: str) -> None:
    assert formats.format_for_path(name) == fmt


def test_json_writer_spells_like_go() -> None:
    from gitvault.model import Mapping, Sequence

    doc = Mapping(
        [
            ("s", '<&>\u2028\b\f\x01"\\\n'),
            ("f", Sequence([1.5e-7, 1e21, 0.1, -0.0, 3.0, 123456789.0])),
            ("e", Mapping()),
            ("l", Sequence()),
        ]
    )
    text = jsonstore.dump(doc)
    assert '"\\u003c\\u0026\\u003e\\u2028\\b\\f\\u0001\\"\\\\\\n"' in text
    assert "1.5e-7" in text and "1e+21" in text and "\t\t0.1," in text
    assert "\t\t-0,\n\t\t3,\n\t\t123456789\n" in text
    assert '"e": {},\n\t"l": []\n}\n' in text
    assert jsonstore.dump(doc, indent=2).startswith('{\n  "s"')
    assert json.loads(text)["f"][1] == 1e21


def test_ini_is_refused_everywhere(fvault: FormatVault) -> None:
    """sops INI files are refused with one line by every command, never rewritten."""
    path = fvault.path("conf.ini")
    path.write_bytes(b"[db]\npassword = hunter2\n")
    enc = fvault.sops("encrypt", "--age", fvault.key.public, str(path))
    path.write_bytes(enc)
    for args in (
        ["decrypt", str(path)],
        ["set", str(path), "db.password", "x"],
        ["unset", str(path), "db.password"],
        ["edit", str(path)],
        ["encrypt", str(path), "--in-place"],
    ):
        code, out, err = gv_bytes(args, cwd=fvault.root)
        _one_line_error(err, code, 5)
        assert "INI" in err and out == b""
        assert path.read_bytes() == enc


def test_hostile_json_shapes_are_linear_and_refused() -> None:
    """Unterminated strings full of escaped quotes, or deep nesting, are refused quickly
    (a quadratic pre-scan or a recursive walk would hang or crash instead)."""
    for text, needle in (
        ('"' + '\\"' * 2_000_000, "invalid JSON"),
        ('{"a":' * 300 + "1" + "}" * 300, "nested deeper"),
        ("[" * 200_000 + "]" * 200_000, "nested deeper"),
    ):
        with pytest.raises(BadInput, match=needle):
            jsonstore.load(text, "f")
