"""Generators: formats, lengths, complexity, randomness, and spec errors."""

from __future__ import annotations

import base64
import string
import uuid

import pytest

from gitvault.errors import BadInput, ExitCode
from gitvault.rotate.generators import Generator, parse_generator


def test_password_default_is_complex_and_shell_safe() -> None:
    gen = parse_generator("password:32")
    assert isinstance(gen, Generator) and gen.spec == "password:32"
    for _ in range(200):
        value = gen.generate()
        assert len(value) == 32
        assert any(c.isupper() for c in value) and any(c.islower() for c in value)
        assert any(c.isdigit() for c in value) and any(c in "-_." for c in value)
        assert value[0].isalpha()
        assert not set(value) & set("0O1lI")
        assert set(value) <= set(string.ascii_letters + string.digits + "-_.")
    assert gen.entropy_bits > 180


def test_password_full_uses_all_symbols() -> None:
    gen = parse_generator("password:64:full")
    seen = set("".join(gen.generate() for _ in range(100)))
    assert seen & set("!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~")
    assert gen.spec == "password:64:full"


@pytest.mark.parametrize(
    ("spec", "check"),
    [
        ("hex:16", lambda v: len(v) == 32 and int(v, 16) >= 0),
        ("base64:32", lambda v: len(base64.b64decode(v, validate=True)) == 32),
        ("base64url:32", lambda v: len(base64.urlsafe_b64decode(v + "=")) == 32 and "=" not in v),
        ("alnum:40", lambda v: len(v) == 40 and v.isalnum()),
        ("digits:6", lambda v: len(v) == 6 and v.isdigit()),
        ("token:sk_live_:32", lambda v: v.startswith("sk_live_") and len(v) == 40),
        ("token::16", lambda v: len(v) == 16 and v.isalnum()),
        ("uuid", lambda v: uuid.UUID(v).version == 4),
    ],
)
def test_formats(spec: str, check: object) -> None:
    gen = parse_generator(spec)
    values = {gen.generate() for _ in range(20)}
    assert len(values) == 20  # never repeats
    assert all(check(v) for v in values)  # type: ignore[operator]
    assert parse_generator(gen.spec).spec == gen.spec


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "nope",
        "password",
        "password:7",
        "password:abc",
        "password:32:weird",
        "hex:0",
        "hex:-1",
        "hex:99999",
        "base64:",
        "token:bad prefix:32",
        "token:x:4",
        "uuid:4",
        "alnum",
    ],
)
def test_bad_specs(spec: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_generator(spec)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in err.value.message


def test_error_names_spec_but_truncates_long_input() -> None:
    with pytest.raises(BadInput) as err:
        parse_generator("S3cr3t-value-pasted-by-mistake-into-generate-flag")
    assert "S3cr3t-value-pasted-by-mistake-into-generate-flag" not in err.value.message
    assert "unknown generator spec" in err.value.message
