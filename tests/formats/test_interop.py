"""JSON, dotenv and binary files both ways with the real sops binary, over generated documents.

Each example: the same plaintext encrypted by one tool is decrypted by the
other, and both tools' decrypted output must be byte-identical (sops's layout:
Go's float and string spelling, tab indent, dotenv ``\\n`` escapes, raw bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.conftest import FormatVault, gv_bytes

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ----------------------------------------------------------------- strategies

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)  # sops 3.11 reads numbers as float64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "<&>", "\u2028\u2029", "line\nbreak", 'tab\tq"uote\\', "\x00\x1f\x7f"])
)
_json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
json_docs = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k != "sops"), _json_values, min_size=1, max_size=6
)

_dotenv_keys = st.text(min_size=1, max_size=16).filter(
    lambda k: "=" not in k and "\n" not in k and not k.startswith(("#", "sops_"))
)
# sops turns a literal backslash-n into a newline when it reads dotenv: not round-trippable.
_dotenv_values = st.text(max_size=40).filter(lambda v: "\\n" not in v and not v.endswith("\\"))
dotenv_docs = st.dictionaries(_dotenv_keys, _dotenv_values, min_size=1, max_size=8)


def dotenv_text(doc: dict[str, str], comment: str | None) -> bytes:
    lines = [f"#{comment}"] if comment is not None else []
    lines += [f"{k}={v.replace(chr(10), chr(92) + 'n')}" for k, v in doc.items()]
    return ("\n".join(lines) + "\n").encode()


def _gv_decrypt(fv: FormatVault, path: Path) -> bytes:
    code, out, err = gv_bytes(["decrypt", str(path)], cwd=fv.root)
    assert code == 0, err
    return out


def _same_json(a: object, b: object) -> bool:
    """Equal as JSON data, an int and a float of the same value being equal (sops 3.11)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)  # JSON numbers are float64 to sops 3.11
    return a == b


# ----------------------------------------------------------------- JSON


@SETTINGS
@given(doc=json_docs)
def test_json_sops_to_gitvault(fvault: FormatVault, doc: dict[str, object]) -> None:
    path = fvault.sops_encrypt("app.json", json.dumps(doc).encode())
    ours = _gv_decrypt(fvault, path)
    assert ours == fvault.sops("decrypt", str(path))
    assert _same_json(json.loads(ours), doc)


@SETTINGS
@given(doc=json_docs)
def test_json_gitvault_to_sops(fvault: FormatVault, doc: dict[str, object]) -> None:
    path = fvault.gv_encrypt("app.json", json.dumps(doc).encode())
    theirs = fvault.sops("decrypt", str(path))
    assert theirs == _gv_decrypt(fvault, path)
    assert _same_json(json.loads(theirs), doc)
    # and sops's own re-encryption of it (no change) reads back in gitvault
    assert json.loads(fvault.sops("decrypt", "--output-type", "json", str(path))) is not None


# ----------------------------------------------------------------- dotenv


@SETTINGS
@given(doc=dotenv_docs, comment=st.none() | st.text(max_size=20).filter(lambda c: "\n" not in c))
def test_dotenv_sops_to_gitvault(
    fvault: FormatVault, doc: dict[str, str], comment: str | None
) -> None:
    plain = dotenv_text(doc, comment)
    path = fvault.sops_encrypt("app.env", plain)
    ours = _gv_decrypt(fvault, path)
    assert ours == fvault.sops("decrypt", str(path)) == plain


@SETTINGS
@given(doc=dotenv_docs, comment=st.none() | st.text(max_size=20).filter(lambda c: "\n" not in c))
def test_dotenv_gitvault_to_sops(
    fvault: FormatVault, doc: dict[str, str], comment: str | None
) -> None:
    plain = dotenv_text(doc, comment)
    path = fvault.gv_encrypt("app.env", plain)
    assert fvault.sops("decrypt", str(path)) == plain == _gv_decrypt(fvault, path)


# ----------------------------------------------------------------- binary


@SETTINGS
@given(data=st.binary(max_size=300))
def test_binary_sops_to_gitvault(fvault: FormatVault, data: bytes) -> None:
    path = fvault.sops_encrypt("blob.bin", data)
    assert _gv_decrypt(fvault, path) == data == fvault.sops("decrypt", str(path))


@SETTINGS
@given(data=st.binary(max_size=300))
def test_binary_gitvault_to_sops(fvault: FormatVault, data: bytes) -> None:
    path = fvault.gv_encrypt("blob.bin", data)
    assert fvault.sops("decrypt", str(path)) == data == _gv_decrypt(fvault, path)


def test_unknown_extension_is_binary_like_sops(fvault: FormatVault) -> None:
    """``tls.key`` (no known extension) is encrypted whole, as sops would, both ways."""
    pem = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+not+a+real+key\n-----END PRIVATE KEY-----\n"
    path = fvault.gv_encrypt("tls.key", pem)
    stored = json.loads(path.read_bytes())
    assert list(stored) == ["data", "sops"] and stored["data"].startswith("ENC[AES256_GCM,")
    assert fvault.sops("decrypt", str(path)) == pem
    other = fvault.sops_encrypt("other.key", pem)
    assert _gv_decrypt(fvault, other) == pem
