"""``verify`` must not say ok when it checked no MAC, unless asked for a structure-only check."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Vault
from tests.helpers import run_cli

F = "secrets/app.yaml"


def _other_identity(tmp_path: Path) -> Path:
    """A real age identity that is not a recipient of any vault file."""
    import pyrage

    path = tmp_path / "stranger.txt"
    path.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
    return path


def test_verify_without_identity_is_not_ok(vault: Vault, tmp_path: Path) -> None:
    vault.key_file.rename(tmp_path / "away.txt")
    r = run_cli(["verify"])
    assert r.code == 3, r.output
    assert "mac: not checked (no identity)" in r.stdout
    assert "no MAC was checked" in r.stderr and "--structure-only" in r.stderr
    assert "Traceback" not in r.output


def test_verify_with_identity_that_opens_nothing_is_not_ok(vault: Vault, tmp_path: Path) -> None:
    r = run_cli(["verify", "--identity", str(_other_identity(tmp_path))])
    assert r.code == 3, r.output
    assert "no identity can open it" in r.stdout
    r = run_cli(["verify", "--identity", str(_other_identity(tmp_path)), "--json"])
    assert r.code == 3
    data = json.loads(r.stdout)
    assert data["ok"] is False and data["structure_only"] is False
    assert data["unchecked"] == [F]
    assert data["files"][0]["ok"] is False


def test_structure_only_is_explicit_and_still_checks_structure(
    vault: Vault, tmp_path: Path
) -> None:
    vault.key_file.rename(tmp_path / "away.txt")
    r = run_cli(["verify", "--structure-only"])
    assert r.code == 0, r.output
    assert "mac: not checked (--structure-only)" in r.stdout
    assert "structure only" in r.stdout
    data = json.loads(run_cli(["verify", "--structure-only", "--json"]).stdout)
    assert data["ok"] is True and data["structure_only"] is True and data["unchecked"] == [F]
    # Structure-only is no licence for plaintext: a plaintext file still fails.
    vault.secret_file.write_text("db:\n    password: plain-Pa55word-1\n")
    r = run_cli(["verify", "--structure-only"])
    assert r.code == 1 and "not encrypted" in r.stdout
    assert "plain-Pa55word-1" not in r.output


def test_structure_only_skips_decryption_even_with_an_identity(vault: Vault) -> None:
    r = run_cli(["verify", "--structure-only"])
    assert r.code == 0, r.output
    assert "mac: not checked (--structure-only)" in r.stdout


def test_some_files_unreadable_fails_with_1_and_names_them(vault: Vault, tmp_path: Path) -> None:
    """A file only someone else can open is a file the gate did not check."""
    import pyrage

    bob = str(pyrage.x25519.Identity.generate().to_public())
    policy = vault.root / ".gitvault.yaml"
    text = policy.read_text()
    text = text.replace("recipients:\n", f"recipients:\n  bob: {bob}\n", 1)
    text = text.replace(
        "rules:\n", 'rules:\n  - path: "secrets/prod/**"\n    recipients: [bob]\n', 1
    )
    policy.write_text(text)
    (vault.root / "secrets/prod").mkdir()
    prod = vault.root / "secrets/prod/db.yaml"
    prod.write_text("password: prod-Pa55word-2\n")
    r = run_cli(["encrypt", str(prod), "--in-place"])
    assert r.code == 0, r.output
    r = run_cli(["verify", "--no-freshness"])
    assert r.code == 1, r.output
    assert "ok    secrets/app.yaml" in r.stdout
    assert "FAIL  secrets/prod/db.yaml" in r.stdout
    assert "MAC not checked" in r.stdout
    # Verifying what one can read is the way to gate only that.
    assert run_cli(["verify", "--no-freshness", F]).code == 0


def test_verify_with_identity_that_opens_everything_is_ok(vault: Vault) -> None:
    r = run_cli(["verify", "--no-freshness"])
    assert r.code == 0, r.output
    assert "mac: ok" in r.stdout
