"""The fused decrypt (file lines to printed YAML) against the general path.

Wherever it accepts a file its text is byte-identical to
``vault.render(vault.decrypt(...), "yaml")``; it refuses (None) whatever it
does not handle, and every tampered file, and then the CLI's general path
gives today's error and exit code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from gitvault.model import Mapping
from gitvault.sops import file as sopsfile
from gitvault.sops.fused import decrypt as fused
from gitvault.sops.fused.decrypt import decrypt_path, decrypt_text
from tests.fused.conftest import Vault
from tests.fused.helpers import (
    ANY_KEY,
    SCALAR,
    SIMPLE_KEY,
    deep,
    encrypt,
    general_decrypt,
    tampered,
    tree,
)
from tests.helpers import run_cli

HYP = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PLAIN = """\
db:
    password: hunter2
    user: admin
    nested:
        token: "quoted: value"
        port: 5432
        ratio: 1.5
        enabled: true
        empty: ""
        nothing: null
        when: 2024-01-02T03:04:05Z
        multi: "line one\\nline two\\n"
api_key: ünïcode ✓ value
"""


def _sops(vault_dir: Vault, plain: str, name: str = "plain.yaml", *extra: str) -> Path:
    src = vault_dir.root / name
    src.write_text(plain)
    out = subprocess.run(
        ["sops", "encrypt", "--age", vault_dir.public, *extra, str(src)],
        capture_output=True,
        check=True,
        cwd=vault_dir.root,
    ).stdout
    dest = vault_dir.root / ("enc-" + name)
    dest.write_bytes(out)
    return dest


def _write(vault_dir: Vault, data: bytes, name: str = "secrets.yaml") -> Path:
    path = vault_dir.root / name
    path.write_bytes(data)
    return path


def test_real_sops_file_takes_the_fused_path_and_prints_the_same(vault_dir: Vault) -> None:
    path = _sops(vault_dir, PLAIN)
    text = decrypt_path(path, vault_dir.keys)
    assert text is not None  # the fused path is taken on a canonical file
    assert text == general_decrypt(path)
    assert "hunter2" in text and "ünïcode ✓ value" in text


def test_cli_decrypt_uses_the_fused_pass(vault_dir: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sops(vault_dir, PLAIN)
    calls: list[str | None] = []
    real = fused.decrypt_path

    def spy(target: Path, keys: list[object]) -> str | None:
        out = real(target, keys)
        calls.append(out)
        return out

    monkeypatch.setattr(fused, "decrypt_path", spy)
    result = run_cli(["decrypt", str(path)])
    assert result.code == 0
    assert calls and calls[0] is not None
    assert result.stdout == general_decrypt(path)


@HYP
@given(doc=tree(ANY_KEY, SCALAR))
def test_generated_documents_identical_or_refused(vault_dir: Vault, doc: Mapping) -> None:
    data = encrypt(doc, vault_dir.public)
    path = _write(vault_dir, data)
    text = decrypt_text(data, str(path), vault_dir.keys)
    assert text is None or text == general_decrypt(path)


@HYP
@given(doc=tree(SIMPLE_KEY, SCALAR))
def test_simple_keys_are_always_taken(vault_dir: Vault, doc: Mapping) -> None:
    data = encrypt(doc, vault_dir.public)
    path = _write(vault_dir, data)
    text = decrypt_text(data, str(path), vault_dir.keys)
    assert text is not None
    assert text == general_decrypt(path)


@pytest.mark.parametrize("depth", [1, 20, 63])
def test_deep_nesting(vault_dir: Vault, depth: int) -> None:
    path = _write(vault_dir, encrypt(deep(depth), vault_dir.public))
    text = decrypt_path(path, vault_dir.keys)
    assert text is not None and text == general_decrypt(path)


def test_deeper_than_the_cap_is_left_to_the_general_path(vault_dir: Vault) -> None:
    path = _write(vault_dir, encrypt(deep(80), vault_dir.public))
    assert decrypt_path(path, vault_dir.keys) is None
    assert run_cli(["decrypt", str(path)]).stdout == general_decrypt(path)


def test_two_space_indent_and_313_layout_are_handled_identically(vault_dir: Vault) -> None:
    doc = deep(4)
    for options in ({"indent": 2}, {"version": "3.13.2"}, {"indent": 3, "version": "3.13.2"}):
        path = _write(vault_dir, encrypt(doc, vault_dir.public, **options))
        text = decrypt_path(path, vault_dir.keys)
        assert text is not None, options
        assert text == general_decrypt(path)


def test_sops_two_space_store_indent(vault_dir: Vault) -> None:
    (vault_dir.root / ".sops.yaml").write_text("stores:\n    yaml:\n        indent: 2\n")
    path = _sops(vault_dir, PLAIN)
    assert b"\n  password: ENC[" in path.read_bytes()
    text = decrypt_path(path, vault_dir.keys)
    assert text is not None and text == general_decrypt(path)


@pytest.mark.parametrize(
    ("plain", "extra"),
    [
        ("# a comment\na: b\n", ()),
        ("a: b # inline\n", ()),
        ("a:\n    - one\n    - two\n", ()),
        ("a: [1, 2]\n", ()),
        ("'quoted key': x\n", ()),
        ("a: |\n    block\n    text\n", ()),
        ("a: 1\n---\nb: 2\n", ()),
        ("a_unencrypted: visible\nb: hidden\n", ()),
        ("a: x\npassword: y\n", ("--encrypted-regex", "^pass")),
        ("a: x\nb_secret: y\n", ("--encrypted-suffix", "_secret")),
    ],
    ids=[
        "comment",
        "inline-comment",
        "list",
        "flow",
        "quoted-key",
        "block-scalar",
        "multi-doc",
        "unencrypted-suffix",
        "encrypted-regex",
        "encrypted-suffix",
    ],
)
def test_refused_shapes_fall_back_to_the_same_output(
    vault_dir: Vault, plain: str, extra: tuple[str, ...]
) -> None:
    path = _sops(vault_dir, plain, "plain.yaml", *extra)
    fused_text = decrypt_path(path, vault_dir.keys)
    if plain.startswith("a: |"):
        # a block scalar is one ENC value once encrypted: handled, identically
        assert fused_text == general_decrypt(path)
    else:
        assert fused_text is None
    result = run_cli(["decrypt", str(path)])
    assert result.code == 0
    assert result.stdout == general_decrypt(path)


@pytest.mark.parametrize(
    "options",
    [
        {"mac_only_encrypted": True, "encrypted_suffix": "_secret"},
        {"unencrypted_regex": "^pub"},
        {"unencrypted_suffix": "_plain"},
    ],
)
def test_non_default_selection_written_by_gitvault_is_refused(
    vault_dir: Vault, options: dict[str, object]
) -> None:
    path = _write(vault_dir, encrypt(deep(3), vault_dir.public, **options))
    assert decrypt_path(path, vault_dir.keys) is None
    assert run_cli(["decrypt", str(path)]).stdout == general_decrypt(path)


def test_other_formats_are_refused(vault_dir: Vault) -> None:
    path = _sops(vault_dir, '{"a": "b", "c": {"d": 1}}', "plain.json")
    assert decrypt_path(path, vault_dir.keys) is None
    assert run_cli(["decrypt", str(path)]).stdout.startswith("{")


def test_no_identity_refuses_and_the_cli_exits_3(vault_dir: Vault) -> None:
    path = _sops(vault_dir, PLAIN)
    assert decrypt_path(path, []) is None
    result = run_cli(
        ["decrypt", str(path)], env={"GITVAULT_AGE_KEY_FILE": None, "SOPS_AGE_KEY_FILE": None}
    )
    assert result.code == 3
    assert result.stdout == ""


@pytest.mark.parametrize("writer", ["sops", "gitvault"])
def test_every_tamper_is_refused_and_the_cli_exits_4(
    vault_dir: Vault, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    if writer == "sops":
        original = _sops(vault_dir, PLAIN).read_text()
    else:
        original = sopsfile.encrypt_new([deep(3)], [vault_dir.public]).decode()
    for kind, text in tampered(original).items():
        path = _write(vault_dir, text.encode(), f"t-{kind}.yaml")
        assert decrypt_path(path, vault_dir.keys) is None, kind
        result = run_cli(["decrypt", str(path)])
        assert result.code == 4, (kind, result.stderr)
        assert result.stdout == "", kind
        assert "hunter2" not in result.output and "v1" not in result.output
        # the same message as the general path alone gives
        with monkeypatch.context() as m:
            m.setattr(fused, "decrypt_path", lambda *a: None)
            alone = run_cli(["decrypt", str(path)])
        assert (alone.code, alone.stderr) == (result.code, result.stderr), kind
