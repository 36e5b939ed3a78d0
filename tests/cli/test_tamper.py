"""Tampering with a vault file is detected (exit 4, or 3 when no identity matches), nothing is printed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli


def _flip_data(text: str) -> str:
    m = re.search(r"password: ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),", text)
    assert m
    raw = bytearray(base64.b64decode(m.group(1)))
    raw[0] ^= 1
    return text.replace(m.group(1), base64.b64encode(bytes(raw)).decode(), 1)


def _swap_values(text: str) -> str:
    a = re.search(r"(    password: )(ENC\[[^\]]+\])", text)
    b = re.search(r"(api_token: )(ENC\[[^\]]+\])", text)
    assert a and b
    return (
        text.replace(a.group(2), "@@A@@")
        .replace(b.group(2), a.group(2))
        .replace("@@A@@", b.group(2))
    )


def _remove_key(text: str) -> str:
    return re.sub(r"api_token: ENC\[[^\]]+\]\n", "", text)


def _reorder(text: str) -> str:
    pw = re.search(r"    password: ENC\[[^\]]+\]\n", text)
    port = re.search(r"    port: ENC\[[^\]]+\]\n", text)
    assert pw and port
    return text.replace(pw.group(0) + port.group(0), port.group(0) + pw.group(0))


def _alter_mac(text: str) -> str:
    m = re.search(r"mac: ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),", text)
    assert m
    raw = bytearray(base64.b64decode(m.group(1)))
    raw[5] ^= 0x20
    return text.replace(m.group(1), base64.b64encode(bytes(raw)).decode())


def _alter_lastmodified(text: str) -> str:
    return re.sub(
        r'lastmodified: "(\d{4})-', lambda m: f'lastmodified: "{int(m.group(1)) - 1}-', text
    )


def _truncate_armor(text: str) -> str:
    lines = text.splitlines(keepends=True)
    idx = next(i for i, line in enumerate(lines) if "BEGIN AGE" in line)
    del lines[idx + 2]
    return "".join(lines)


def _rewrap_armor(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "BEGIN AGE" in line)
    end = next(i for i, line in enumerate(lines) if "END AGE" in line)
    body = "".join(line.strip() for line in lines[start + 1 : end])
    pad = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    rewrapped = [pad + body[i : i + 76] + "\n" for i in range(0, len(body), 76)]
    return "".join(lines[: start + 1] + rewrapped + lines[end:])


def _plaintext_value(text: str) -> str:
    return re.sub(r"api_token: ENC\[[^\]]+\]", "api_token: tok-abc-123", text)


@pytest.mark.parametrize(
    "tamper",
    [
        _flip_data,
        _swap_values,
        _remove_key,
        _reorder,
        _alter_mac,
        _alter_lastmodified,
        _truncate_armor,
        _rewrap_armor,
        _plaintext_value,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tamper_is_integrity_failure(vault: Vault, tamper: Callable[[str], str]) -> None:
    original = vault.secret_file.read_text()
    vault.secret_file.write_text(tamper(original))
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 4, r.output
    assert r.stdout == ""
    for secret in ("hunter2hunter2", "tok-abc-123", "5432"):
        assert secret not in r.stderr


def test_stanza_for_another_key_is_access_denied(vault: Vault, tmp_path: Path) -> None:
    from gitvault.crypto.envelope import wrap

    other = tmp_path / "o.txt"
    run_cli(["keygen", "-o", str(other)])
    other_pub = other.read_text().splitlines()[1].split(": ")[1]
    text = vault.secret_file.read_text()
    start = text.index("-----BEGIN AGE")
    end = text.index("-----END AGE ENCRYPTED FILE-----") + len("-----END AGE ENCRYPTED FILE-----\n")
    foreign = wrap(b"\x00" * 32, other_pub)
    indent = " " * 12
    block = "".join(indent + line + "\n" for line in foreign.splitlines())
    vault.secret_file.write_text(text[:start] + block.lstrip() + text[end:])
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 3 and r.stdout == ""


def test_wrong_data_key_in_own_stanza_is_integrity_failure(vault: Vault) -> None:
    """A stanza re-made for our own key but holding another data key: MAC and values fail."""
    from gitvault.crypto.envelope import wrap

    text = vault.secret_file.read_text()
    start = text.index("-----BEGIN AGE")
    end = text.index("-----END AGE ENCRYPTED FILE-----") + len("-----END AGE ENCRYPTED FILE-----\n")
    forged = wrap(b"\x11" * 32, vault.public)
    block = "".join(" " * 12 + line + "\n" for line in forged.splitlines())
    vault.secret_file.write_text(text[:start] + block.lstrip() + text[end:])
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 4 and r.stdout == ""
