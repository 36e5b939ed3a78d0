"""Hostile and broken input: one clear line, exit 5 (or the documented code), nothing written.

Every case snapshots the whole work tree first and checks it is byte-for-byte
the same afterwards, and that the secret value planted in the input never
reaches the output.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.importer.conftest import Vault, one_error_line

SECRET = "Zq9-very-secret-value-77"


def refused(vault: Vault, *args: str, code: int = 5) -> str:
    before = vault.files()
    r = vault.run("import", *args)
    assert r.code == code, r.output
    line = one_error_line(r)
    assert SECRET not in r.output
    assert vault.files() == before, "a refused import changed the work tree"
    return line


def write(vault: Vault, name: str, text: str | bytes) -> str:
    path = vault.inputs / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def secret_manifest(data: str, *, name: str | None = "web", extra: str = "") -> str:
    meta = f"metadata:\n  name: {name}\n" if name is not None else "metadata: {}\n"
    return f"apiVersion: v1\nkind: Secret\n{meta}{extra}data:\n{data}"


def test_huge_file_over_the_cap(vault: Vault) -> None:
    src = vault.inputs / "huge.env"
    with open(src, "wb") as fh:  # sparse: 33 MiB without writing them
        fh.truncate(33 * 1024 * 1024)
    line = refused(vault, str(src), "--into", "secrets")
    assert "too large" in line and "huge.env" in line


def test_sources_adding_up_past_the_total_cap(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitvault.importer import plan

    monkeypatch.setattr(plan, "MAX_TOTAL_BYTES", 100)
    a = write(vault, "a.env", "A=" + "x" * 60 + "\n")
    b = write(vault, "b.env", "B=" + "x" * 60 + "\n")
    line = refused(vault, a, b, "--into", "secrets")
    assert "add up to more than" in line


def test_invalid_base64_names_the_key_not_the_value(vault: Vault) -> None:
    bad = SECRET + "!!"  # not base64
    src = write(
        vault,
        "s.yaml",
        secret_manifest(f"  good: {base64.b64encode(b'x').decode()}\n  api_key: {bad}\n"),
    )
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "data.api_key: invalid base64" in line


@pytest.mark.parametrize("value", ["aGk", "aGk=\n", "a Gk=", "aGl=", "aGk=aGk="])
def test_non_canonical_base64_is_refused(vault: Vault, value: str) -> None:
    src = write(vault, "s.json", "")
    import json

    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "w"}, "data": {"k": value}}
    Path(src).write_text(json.dumps(doc))
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "data.k: invalid base64" in line


def test_binary_secret_value_is_refused(vault: Vault) -> None:
    src = write(
        vault,
        "s.yaml",
        secret_manifest(f"  blob: {base64.b64encode(bytes([0xFF, 0xFE, 0])).decode()}\n"),
    )
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "data.blob" in line and "binary" in line


def test_secret_without_a_name(vault: Vault) -> None:
    src = write(vault, "s.yaml", secret_manifest("  k: dg==\n", name=None))
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "no metadata.name" in line


@pytest.mark.parametrize("name", ["../../etc", "a/b", "UPPER", "..", '"x y"'])
def test_secret_names_that_would_escape_or_are_invalid(vault: Vault, name: str) -> None:
    src = write(vault, "s.yaml", secret_manifest("  k: dg==\n", name=name))
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "not a valid Kubernetes name" in line


def test_secret_namespace_traversal(vault: Vault) -> None:
    src = write(
        vault,
        "s.yaml",
        secret_manifest("  k: dg==\n").replace(
            "  name: web\n", "  name: web\n  namespace: ../..\n"
        ),
    )
    line = refused(vault, src, "--into", "secrets/k8s")
    assert "not a valid namespace" in line


def test_key_in_data_and_stringdata(vault: Vault) -> None:
    text = secret_manifest("  k: dg==\n") + "stringData:\n  k: other\n"
    line = refused(vault, write(vault, "s.yaml", text), "--into", "secrets/k8s")
    assert "'k' is in both data and stringData" in line


def test_manifest_with_another_kind(vault: Vault) -> None:
    text = (
        secret_manifest("  k: dg==\n")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    )
    line = refused(vault, write(vault, "s.yaml", text), "--into", "secrets/k8s")
    assert "ConfigMap, not a Secret" in line


def test_duplicate_dotenv_key(vault: Vault) -> None:
    src = write(vault, "d.env", f"A=1\nTOKEN={SECRET}\nTOKEN=again\n")
    line = refused(vault, src, "--into", "secrets")
    assert "d.env:3: duplicate key 'TOKEN' (first on line 2)" in line


def test_duplicate_yaml_key(vault: Vault) -> None:
    src = write(vault, "d.yaml", f"db:\n  password: {SECRET}\n  password: x\n")
    line = refused(vault, src, "--into", "secrets")
    assert "d.yaml:3" in line and "duplicate key 'password'" in line


def test_duplicate_json_key(vault: Vault) -> None:
    src = write(vault, "d.json", f'{{"a": {{"p": "{SECRET}", "p": "y"}}}}')
    line = refused(vault, src, "--into", "secrets")
    assert "duplicate key 'p'" in line


def test_same_key_from_two_sources(vault: Vault) -> None:
    a = write(vault, "a.env", f"TOKEN={SECRET}\n")
    b = write(vault, "b.env", "OTHER=1\nTOKEN=2\n")
    line = refused(vault, a, b, "--to", "secrets/app.yaml")
    assert f"TOKEN comes from both {a}:1 and {b}:2" in line


def test_two_sources_mapping_to_one_file_with_into(vault: Vault) -> None:
    (vault.inputs / "x").mkdir()
    a = write(vault, "app.env", "A=1\n")
    b = write(vault, "x/app.json", '{"A": 2}')
    line = refused(vault, a, b, "--into", "secrets")
    assert "comes from both" in line


def test_binary_garbage(vault: Vault) -> None:
    src = write(vault, "g.env", os.urandom(64) + b"\x00" + os.urandom(64))
    line = refused(vault, src, "--into", "secrets")
    assert "NUL" in line or "not UTF-8" in line


def test_not_utf8(vault: Vault) -> None:
    src = write(vault, "g.yaml", b"a: \xff\xfe\n")
    line = refused(vault, src, "--into", "secrets")
    assert "not UTF-8" in line


def test_symlink_source_pointing_outside(vault: Vault, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "id_ed25519"
    target.write_text(f"KEY={SECRET}\n")
    link = vault.inputs / "link.env"
    link.symlink_to(target)
    line = refused(vault, str(link), "--into", "secrets")
    assert "symlink" in line


def test_symlink_in_repository_pointing_outside(vault: Vault, tmp_path: Path) -> None:
    target = tmp_path / "private.env"
    target.write_text(f"KEY={SECRET}\n")
    (vault.root / "config").mkdir()
    (vault.root / "config" / ".env").symlink_to(target)
    line = refused(vault, "config/.env", "--into", "secrets")
    assert "symlink that leads outside" in line


def test_device_is_refused(vault: Vault) -> None:
    line = refused(vault, "/dev/zero", "--to", "secrets/x.yaml", "--format", "dotenv")
    assert "not a regular file" in line


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (f"TOKEN_unencrypted={SECRET}\n", "would be stored unencrypted"),
        (f"sops={SECRET}\n", "reserved"),
        ("=x\n", "not a valid variable name"),
        ("1A=x\n", "not a valid variable name"),
        (f"{SECRET}+/=x\n", "not a valid variable name"),  # a pasted token: not echoed
        ("JUSTTEXT\n", "not a KEY=value line"),
        ("A='unterminated\n", "unterminated"),
        ('A="x" trailing\n', "after the closing quote"),
        ("# only comments\n\n", "no KEY=value lines"),
    ],
)
def test_bad_dotenv(vault: Vault, text: str, needle: str) -> None:
    line = refused(vault, write(vault, "bad.env", text), "--to", "secrets/x.yaml")
    assert needle in line


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("l.json", "[1, 2]", "must be a JSON object"),
        ("n.json", '{"a": NaN}', "not valid JSON"),
        ("b.json", '{"a": 99999999999999999999}', "64-bit"),
        ("f.json", '{"a": {"b": 1e400}}', "64-bit float"),
        ("t.json", '{"a": 1,}', "invalid JSON"),
        ("k.json", '{"a\\u0007b": 1}', "control character"),
        ("e.json", '{"": 1}', "empty key"),
        ("deep.json", "[" * 50 + "]" * 50, "must be a JSON object"),
        ("deeper.json", '{"a":' * 150 + "1" + "}" * 150, "nested more than"),
        ("m.yaml", "a: 1\n---\nb: 2\n", "2 YAML documents"),
        ("s.yaml", "- a\n- b\n", "is a list"),
        ("x.yaml", "a: [\n", "invalid YAML"),
        (
            "bomb.yaml",
            "a: &a [x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
                for i in range(8)
            ),
            "alias",
        ),
    ],
)
def test_bad_json_and_yaml(vault: Vault, name: str, text: str, needle: str) -> None:
    line = refused(vault, write(vault, name, text), "--to", "secrets/x.yaml")
    assert needle in line


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("s.json", '{"a": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "sops": {"mac": "m"}}'),
        (
            "s.env",
            "A=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops_mac=x\nsops_version=3.11.0\n",
        ),
    ],
)
def test_damaged_sops_json_and_dotenv_sources_are_refused(
    vault: Vault, name: str, text: str
) -> None:
    # Read as sops files (not as plaintext holding ENC[…] strings), and refused as damaged.
    r = vault.run("import", write(vault, name, text), "--to", "secrets/x.yaml")
    assert r.code in (4, 5), r.output
    line = one_error_line(r)
    assert name in line
    assert not (vault.root / "secrets" / "x.yaml").exists()


def test_destination_outside_any_rule(vault: Vault) -> None:
    line = refused(vault, write(vault, "a.env", "A=1\n"), "--to", "plain/x.yaml")
    assert "no rule" in line


def test_destination_outside_repository(vault: Vault, tmp_path: Path) -> None:
    line = refused(vault, write(vault, "a.env", "A=1\n"), "--into", str(tmp_path / "out"))
    assert ".gitvault.yaml" in line or "outside" in line


def test_existing_destination_needs_a_flag(vault: Vault) -> None:
    src = write(vault, "a.env", "A=1\n")
    assert vault.run("import", src, "--to", "secrets/x.yaml").code == 0
    line = refused(vault, src, "--to", "secrets/x.yaml")
    assert "already exists" in line


def test_one_bad_source_among_many_writes_nothing(vault: Vault) -> None:
    good = [write(vault, f"ok{i}.env", f"K{i}=v\n") for i in range(5)]
    bad = write(vault, "zz.yaml", secret_manifest(f"  k: {SECRET}#\n"))
    line = refused(vault, *good, bad, "--into", "secrets/many")
    assert "invalid base64" in line
    assert not (vault.root / "secrets" / "many").exists()


def test_both_or_neither_destination_option(vault: Vault) -> None:
    src = write(vault, "a.env", "A=1\n")
    assert vault.run("import", src).code == 2
    assert vault.run("import", src, "--to", "secrets/a.yaml", "--into", "secrets").code == 2
    assert vault.run("import", src, "--to", "secrets/a.yaml", "--dry-run", "--commit").code == 2
