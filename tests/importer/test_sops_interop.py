"""sops as input (decrypted with the user's identity, MAC verified) and as the judge of output.

Every imported file must decrypt with the real ``sops`` binary to the source's
values and types; ``set`` on a missing path must make a file sops reads.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.compat.sopsenv import AgeKey, make_key, run_sops
from tests.importer.conftest import Vault, one_error_line


def user_key(vault: Vault) -> AgeKey:
    secret = next(
        ln for ln in vault.key_file.read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-")
    )
    return AgeKey(secret, vault.public, vault.key_file)


def sops_json(vault: Vault, rel: str) -> object:
    proc = run_sops(["decrypt", "--output-type", "json", str(vault.root / rel)], user_key(vault))
    return json.loads(proc.stdout)


def sops_encrypt(plain: Path, recipient: str, *extra: str) -> bytes:
    return run_sops(["encrypt", "--age", recipient, *extra, str(plain)], None).stdout


def test_every_format_round_trips_through_real_sops(vault: Vault) -> None:
    (vault.inputs / ".env").write_text('A="x\\ny"\nB=ünï ✓\nC=\n')
    doc = {"n": 3, "f": 2.5, "b": False, "z": None, "s": "t", "m": {"l": [1, "x"]}}
    (vault.inputs / "c.json").write_text(json.dumps(doc))
    (vault.inputs / "y.yaml").write_text("k: 017\nv: yes\nnested:\n  deep: [a, {b: 1}]\n")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
        "data": {"p": base64.b64encode("pässword".encode()).decode()},
        "stringData": {"u": "me"},
    }
    (vault.inputs / "k.json").write_text(json.dumps(secret))
    sources = [str(vault.inputs / n) for n in (".env", "c.json", "y.yaml", "k.json")]
    r = vault.run("import", *sources, "--into", "secrets/all")
    assert r.code == 0, r.output
    expected = {
        "secrets/all/env.yaml": {"A": "x\ny", "B": "ünï ✓", "C": ""},
        "secrets/all/c.yaml": doc,
        "secrets/all/y.yaml": {"k": 15, "v": "yes", "nested": {"deep": ["a", {"b": 1}]}},
        "secrets/all/ns/s.yaml": {"p": "pässword", "u": "me"},
    }
    for rel, values in expected.items():
        assert sops_json(vault, rel) == values, rel
        assert vault.decrypt(rel) == values, rel
        assert (vault.root / rel).read_text().count(f"recipient: {vault.public}") == 1


def test_sops_yaml_source_is_decrypted_and_reencrypted_for_the_policy(
    vault: Vault, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("db:\n    password: s3cret\n    port: 5432\nflag: true\n")
    src = vault.inputs / "app.sops.yaml"
    # Encrypted for the user *and* someone the policy does not name.
    stranger = make_key(tmp_path, "stranger")
    src.write_bytes(sops_encrypt(plain, f"{vault.public},{stranger.public}"))
    r = vault.run("import", str(src), "--into", "secrets/prod", "--dry-run")
    assert r.code == 0, r.output
    assert re.search(r"db\.password +from .*app\.sops\.yaml:2\n", r.stdout)
    assert "s3cret" not in r.output
    r = vault.run("import", str(src), "--into", "secrets/prod")
    assert r.code == 0, r.output
    out = vault.root / "secrets/prod/app.yaml"
    assert sops_json(vault, "secrets/prod/app.yaml") == {
        "db": {"password": "s3cret", "port": 5432},
        "flag": True,
    }
    # The policy decides the readers: the stranger is gone.
    assert stranger.public not in out.read_text()
    assert run_sops(["decrypt", str(out)], stranger, check=False).returncode != 0


def test_sops_encrypted_kubernetes_secret(vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "k.yaml"
    plain.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n"
        f"data:\n  password: {base64.b64encode(b'hunter2').decode()}\n"
    )
    src = vault.inputs / "k.enc.yaml"
    src.write_bytes(sops_encrypt(plain, vault.public, "--encrypted-regex", "^(data|stringData)$"))
    r = vault.run("import", str(src), "--into", "secrets/k8s")
    assert r.code == 0, r.output
    assert sops_json(vault, "secrets/k8s/prod/db.yaml") == {"password": "hunter2"}


def test_tampered_sops_source_is_refused(vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: first-value\nb: second-value\n")
    src = vault.inputs / "t.sops.yaml"
    text = sops_encrypt(plain, vault.public).decode()
    # Swap the two values' ciphertexts: each is valid alone, the MAC must catch it.
    a = re.search(r"^a: (ENC\[.*\])$", text, re.M)
    b = re.search(r"^b: (ENC\[.*\])$", text, re.M)
    assert a and b
    text = (
        text.replace(a.group(1), "@A@").replace(b.group(1), a.group(1)).replace("@A@", b.group(1))
    )
    src.write_text(text)
    before = vault.files()
    r = vault.run("import", str(src), "--to", "secrets/t.yaml")
    assert r.code == 4, r.output
    one_error_line(r)
    assert "first-value" not in r.output and "second-value" not in r.output
    assert vault.files() == before


def test_sops_source_nobody_here_can_read(vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n")
    other = make_key(tmp_path, "other")
    src = vault.inputs / "o.sops.yaml"
    src.write_bytes(sops_encrypt(plain, other.public))
    before = vault.files()
    r = vault.run("import", str(src), "--to", "secrets/o.yaml")
    assert r.code == 3, r.output
    one_error_line(r)
    assert vault.files() == before


@pytest.mark.parametrize("how", [["--generate", "hex:16"], ["--stdin"], ["plain-value"]])
def test_set_creates_a_new_file_sops_reads(vault: Vault, how: list[str]) -> None:
    rel = "secrets/new/deeper/app.yaml"
    args = ["set", rel, "db.password"]
    r = vault.run(*(args + how), input="from-stdin\n" if how == ["--stdin"] else None)
    assert r.code == 0, r.output
    assert "created" in r.stderr
    value = sops_json(vault, rel)["db"]["password"]  # type: ignore[index]
    if how == ["--stdin"]:
        assert value == "from-stdin"
    elif how == ["plain-value"]:
        assert value == "plain-value"
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", value)
    text = (vault.root / rel).read_text()
    assert f"recipient: {vault.public}" in text
    assert value not in r.output


@pytest.mark.parametrize(
    ("name", "plain_text", "want"),
    [
        (
            "app.json",
            '{"db": {"password": "s3cret", "port": 5432}, "on": true}',
            {"db": {"password": "s3cret", "port": 5432}, "on": True},
        ),
        ("app.env", "DB_PASSWORD=s3cret\nPORT=5432\n", {"DB_PASSWORD": "s3cret", "PORT": "5432"}),
    ],
)
def test_sops_json_and_dotenv_sources_from_the_real_sops(
    vault: Vault, tmp_path: Path, name: str, plain_text: str, want: dict[str, object]
) -> None:
    plain = tmp_path / name
    plain.write_text(plain_text)
    src = vault.inputs / name
    src.write_bytes(sops_encrypt(plain, vault.public))
    r = vault.run("import", str(src), "--to", "secrets/prod/app.yaml")
    assert r.code == 0, r.output
    assert "s3cret" not in r.output
    assert sops_json(vault, "secrets/prod/app.yaml") == want
