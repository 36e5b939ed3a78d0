"""Small frictions: tampered-file errors name the file, typo'd commands get a suggestion."""

from __future__ import annotations

import base64
import re

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli


def _tamper(vault: Vault) -> None:
    text = vault.secret_file.read_text()
    m = re.search(r"password: ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),", text)
    assert m
    raw = bytearray(base64.b64decode(m.group(1)))
    raw[0] ^= 1
    vault.secret_file.write_text(text.replace(m.group(1), base64.b64encode(bytes(raw)).decode()))


@pytest.mark.parametrize(
    "args",
    [
        ["decrypt", "{f}"],
        ["decrypt", "{f}", "--extract", "db.port"],
        ["set", "{f}", "db.port", "1"],
        ["unset", "{f}", "api_token"],
        ["edit", "{f}"],
        ["export", "{f}", "--format", "json"],
    ],
)
def test_tampered_file_errors_name_the_file(vault: Vault, args: list[str]) -> None:
    _tamper(vault)
    before = vault.secret_file.read_bytes()
    r = run_cli([a.format(f=vault.secret_file) for a in args], env={"EDITOR": "true"})
    assert r.code == 4, r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("gitvault: error:")]
    assert len(errors) == 1 and "secrets/app.yaml: " in errors[0], r.stderr
    assert errors[0].count("app.yaml") == 1
    assert "hunter2" not in r.output and vault.secret_file.read_bytes() == before


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("edti", "edit"), ("decrpyt", "decrypt"), ("recipient", "recipients"), ("verfy", "verify")],
)
def test_typo_gets_a_suggestion(typo: str, suggestion: str) -> None:
    r = run_cli([typo])
    assert r.code == 2
    assert f"Did you mean '{suggestion}'" in r.stderr


def test_nonsense_command_gets_no_suggestion() -> None:
    r = run_cli(["qqqqqq"])
    assert r.code == 2 and "No such command" in r.stderr and "Did you mean" not in r.stderr
