"""The file commands end to end: keygen, init, encrypt, decrypt, set, unset, verify, whoami."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli, run_subprocess


def test_keygen_writes_age_keygen_format_0600(tmp_path: Path) -> None:
    out = tmp_path / "k.txt"
    r = run_cli(["keygen", "-o", str(out)])
    assert r.code == 0
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# created: ") and lines[1] == f"# public key: {r.stdout.strip()}"
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # never overwrites
    again = run_cli(["keygen", "-o", str(out)])
    assert again.code == 5 and "refusing to overwrite" in again.stderr
    assert out.read_text() == text


def test_init_is_idempotent(vault: Vault) -> None:
    policy = (vault.root / ".gitvault.yaml").read_text()
    attrs = (vault.root / ".gitattributes").read_text()
    assert "key: " + vault.public in policy  # init records alice's e-mail beside her key
    assert "secrets/** diff=gitvault merge=gitvault" in attrs
    r = run_cli(["init", "--no-hooks"], cwd=vault.root)
    assert r.code == 0
    assert (vault.root / ".gitvault.yaml").read_text() == policy
    assert (vault.root / ".gitattributes").read_text() == attrs


def test_encrypt_decrypt_roundtrip(vault: Vault) -> None:
    raw = vault.secret_file.read_text()
    assert "hunter2hunter2" not in raw and "ENC[AES256_GCM" in raw
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 0
    assert r.stdout == "db:\n    password: hunter2hunter2\n    port: 5432\napi_token: tok-abc-123\n"
    r = run_cli(["decrypt", str(vault.secret_file), "--extract", "db.password"])
    assert r.stdout == "hunter2hunter2"
    r = run_cli(["decrypt", str(vault.secret_file), "--extract", '["db"]["port"]'])
    assert r.stdout == "5432"
    r = run_cli(["decrypt", str(vault.secret_file), "--format", "json"])
    assert json.loads(r.stdout) == {
        "db": {"password": "hunter2hunter2", "port": 5432},
        "api_token": "tok-abc-123",
    }
    r = run_cli(["decrypt", str(vault.secret_file), "--format", "dotenv"])
    assert "DB_PASSWORD=" in r.stdout and "hunter2hunter2" in r.stdout


def test_decrypt_to_file_is_private(vault: Vault, tmp_path: Path) -> None:
    out = tmp_path / "plain.yaml"
    r = run_cli(["decrypt", str(vault.secret_file), "-o", str(out)])
    assert r.code == 0 and r.stdout == ""
    assert "hunter2hunter2" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_set_changes_only_that_value(vault: Vault) -> None:
    before = vault.secret_file.read_text().splitlines()
    r = run_cli(
        ["set", str(vault.secret_file), "db.password", "--stdin"], input="n3w-secret-value\n"
    )
    assert r.code == 0, r.output
    after = vault.secret_file.read_text().splitlines()
    changed = {b.split(":")[0].strip() for a, b in zip(before, after, strict=True) if a != b}
    # lastmodified changes too unless both writes fell in the same second
    assert changed in ({"password", "mac", "lastmodified"}, {"password", "mac"})
    assert (
        run_cli(["decrypt", str(vault.secret_file), "--extract", "db.password"]).stdout
        == "n3w-secret-value"
    )
    assert "n3w-secret-value" not in r.output


def test_set_same_value_writes_nothing(vault: Vault) -> None:
    before = vault.secret_file.read_bytes()
    r = run_cli(["set", str(vault.secret_file), "api_token", "tok-abc-123"])
    assert r.code == 0 and "nothing written" in r.stderr
    assert vault.secret_file.read_bytes() == before


def test_set_types_generate_and_unset(vault: Vault) -> None:
    assert run_cli(["set", str(vault.secret_file), "replicas", "3", "--type", "int"]).code == 0
    assert (
        run_cli(["set", str(vault.secret_file), "new.nested.key", "--generate", "hex:16"]).code == 0
    )
    data = json.loads(run_cli(["decrypt", str(vault.secret_file), "--format", "json"]).stdout)
    assert data["replicas"] == 3
    assert len(data["new"]["nested"]["key"]) == 32 and int(data["new"]["nested"]["key"], 16) >= 0
    assert run_cli(["unset", str(vault.secret_file), "api_token"]).code == 0
    data = json.loads(run_cli(["decrypt", str(vault.secret_file), "--format", "json"]).stdout)
    assert "api_token" not in data
    r = run_cli(["unset", str(vault.secret_file), "no.such.key"])
    assert r.code == 5 and "no key" in r.stderr


def test_set_usage_errors(vault: Vault) -> None:
    r = run_cli(["set", str(vault.secret_file), "a"])
    assert r.code == 2
    r = run_cli(["set", str(vault.secret_file), "a", "b", "--stdin"], input="x")
    assert r.code == 2
    r = run_cli(["set", str(vault.secret_file), "a", "--generate", "nonsense:9"])
    assert r.code == 5
    r = run_cli(["set", str(vault.secret_file), "a", "x", "--type", "int"])
    assert r.code == 5 and "x" not in r.stderr.split("error:")[1].replace("exactly", "")


def test_verify_ok_and_json(vault: Vault) -> None:
    r = run_cli(["verify", "--json"])
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["ok"] is True
    assert report["files"][0]["checks"] == {"structure": "ok", "recipients": "ok", "mac": "ok"}


def test_verify_flags_plaintext_and_wrong_recipients(vault: Vault, tmp_path: Path) -> None:
    (vault.root / "secrets" / "leak.yaml").write_text("password: plain\n")
    other = tmp_path / "other.txt"
    run_cli(["keygen", "-o", str(other)])
    other_pub = other.read_text().splitlines()[1].split(": ")[1]
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text()
        .replace("team: [alice]", "team: [alice]\n  extra: [alice]")
        .replace("recipients:\n", f"recipients:\n  bob: {other_pub}\n", 1)
        .replace("recipients: [team]", "recipients: [team, bob]")
    )
    r = run_cli(["verify"])
    assert r.code == 1
    assert "not encrypted: plaintext" in r.stdout
    assert "not encrypted to bob" in r.stdout
    assert "plain" not in r.stdout.replace("plaintext", "")


def test_verify_checks_schema(vault: Vault) -> None:
    (vault.root / "schema.json").write_text(
        json.dumps(
            {
                "type": "object",
                "required": ["db"],
                "properties": {
                    "db": {"type": "object", "properties": {"port": {"type": "string"}}}
                },
            }
        )
    )
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rotate_after: 90d", "rotate_after: 90d\n    schema: schema.json"
        )
    )
    r = run_cli(["verify"])
    assert r.code == 1
    assert "db.port" in r.stdout and "type" in r.stdout
    assert "5432" not in r.stdout


def test_whoami_names_policy_recipient(vault: Vault) -> None:
    r = run_cli(["whoami", "--json"])
    data = json.loads(r.stdout)
    assert data["identities"][0]["recipient"] == vault.public
    assert data["identities"][0]["name"] == "alice"


def test_identity_discovery_order(vault: Vault, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    run_cli(["keygen", "-o", str(other)])
    secret = other.read_text().splitlines()[2]
    # An explicit --identity is the only source used.
    r = run_cli(["decrypt", str(vault.secret_file), "--identity", str(other)])
    assert r.code == 3
    assert "readable by" in r.stderr and str(other) in r.stderr
    # Environment sources are all collected; the config-dir key still works.
    r = run_cli(["decrypt", str(vault.secret_file)], env={"GITVAULT_AGE_KEY": secret})
    assert r.code == 0
    r = run_cli(
        ["whoami", "--json"],
        env={"GITVAULT_AGE_KEY": secret, "SOPS_AGE_KEY_FILE": str(vault.key_file)},
    )
    sources = [i["source"] for i in json.loads(r.stdout)["identities"]]
    assert sources[:2] == ["GITVAULT_AGE_KEY", "SOPS_AGE_KEY_FILE"]


def test_no_identity_exit_3_names_what_was_tried(vault: Vault) -> None:
    vault.key_file.unlink()
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 3
    assert r.stdout == ""
    assert "tried:" in r.stderr and "GITVAULT" not in r.stdout


def test_ssh_identity_and_recipient(vault: Vault, tmp_path: Path) -> None:
    import subprocess

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = (tmp_path / "id_ed25519.pub").read_text().strip()
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text()
        .replace("recipients:\n", f"recipients:\n  carol: {pub}\n", 1)
        .replace("recipients: [team]", "recipients: [team, carol]")
    )
    target = vault.root / "secrets" / "ssh.yaml"
    target.write_text("k: v\n")
    assert run_cli(["encrypt", str(target), "--in-place"]).code == 0
    r = run_cli(["decrypt", str(target), "--identity", str(key)])
    assert r.code == 0 and r.stdout == "k: v\n"
    rsa = tmp_path / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa)], check=True
    )
    r = run_cli(["decrypt", str(target), "--identity", str(rsa)])
    assert r.code == 3


def test_real_subprocess_no_traceback(vault: Vault) -> None:
    proc = run_subprocess(["decrypt", "missing.yaml"], cwd=vault.root)
    assert proc.returncode == 5
    assert proc.stderr.decode().startswith("gitvault: error: ")
    assert b"Traceback" not in proc.stderr
    proc = run_subprocess(["--debug", "decrypt", "missing.yaml"], cwd=vault.root)
    assert b"Traceback" in proc.stderr


def test_help_has_examples() -> None:
    for cmd in ("keygen", "whoami", "init", "encrypt", "decrypt", "edit", "set", "unset", "verify"):
        r = run_cli([cmd, "--help"])
        assert r.code == 0 and "Example" in r.stdout, cmd


@pytest.mark.parametrize(
    "content,code",
    [
        (b"a: [unclosed\n", 5),
        (b"a: 1\na: 2\n", 5),
        (b"\xff\xfe\x00bad", 5),
        (b"- a\n- b\n", 5),
        (b"just a string\n", 5),
        (b"", 5),
        (b"a: &a [*a, *a]\n", 5),
    ],
)
def test_encrypt_bad_input(vault: Vault, content: bytes, code: int) -> None:
    target = vault.root / "secrets" / "bad.yaml"
    target.write_bytes(content)
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == code, r.output
    assert r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr
    assert target.read_bytes() == content


def test_alias_bomb_refused(vault: Vault) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    target = vault.root / "secrets" / "bomb.yaml"
    target.write_text("\n".join(lines) + "\n")
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == 5 and "alias" in r.stderr


def test_directory_and_missing_path(vault: Vault) -> None:
    assert run_cli(["decrypt", str(vault.root / "secrets")]).code == 2  # click: not a file
    r = run_cli(["encrypt", str(vault.root / "secrets" / "nope.yaml")])
    assert r.code == 5 and "no such file" in r.stderr


def test_invalid_policy_names_file_and_field(vault: Vault) -> None:
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("rotate_after: 90d", "rotate_after: soon"))
    target = vault.root / "secrets" / "x.yaml"
    target.write_text("a: 1\n")
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == 5
    assert ".gitvault.yaml" in r.stderr and "rules[0].rotate_after" in r.stderr
    assert target.read_text() == "a: 1\n"
    policy.write_text(
        policy.read_text()
        .replace("rotate_after: soon", "rotate_after: 9d")
        .replace("[team]", "[nobody]")
    )
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == 5 and "unknown recipient or group 'nobody'" in r.stderr


def test_path_outside_rules(vault: Vault) -> None:
    target = vault.root / "config.yaml"
    target.write_text("a: 1\n")
    r = run_cli(["encrypt", str(target)])
    assert r.code == 5 and "no rule" in r.stderr


def test_keys_file_is_not_world_readable(vault: Vault) -> None:
    assert stat.S_IMODE(os.stat(vault.key_file).st_mode) == 0o600


def test_key_groups_file_is_refused_clearly(vault: Vault) -> None:
    text = vault.secret_file.read_text()
    grouped = text.replace("sops:\n", "sops:\n    shamir_threshold: 2\n    key_groups:\n        - age: []\n", 1)
    vault.secret_file.write_text(grouped)
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 5 and "key groups" in r.stderr and r.stdout == ""


def test_verify_reports_overlapping_rules(vault: Vault) -> None:
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(policy.read_text() + '  - path: "secrets/*.yaml"\n    recipients: [team]\n')
    r = run_cli(["verify", "--json"])
    assert r.code == 0
    report = json.loads(r.stdout)
    assert report["files"][0]["warnings"] == ["also matches rules[1]; rules[0] wins"]
