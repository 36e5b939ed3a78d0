"""`gitvault log`: per-key events, signatures, trailer disagreements, re-keys vs rotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Vault
from tests.helpers import run_cli
from tests.history_cli.conftest import commit_all
from tests.rotate_cli.conftest import (
    OLD_PASSWORD,
    OLD_TOKEN,
    F,
    assert_no_values,
    head,
    shallow_clone,
    snapshot,
    value,
)


def events(args: list[str], cwd: Path | None = None) -> list[dict]:
    r = run_cli(["log", *args, "--json"], cwd=cwd)
    assert r.code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["schema"] == "gitvault.log/v1"
    return payload["events"]


def commits(args: list[str]) -> dict[str, dict]:
    r = run_cli(["log", *args, "--json"])
    assert r.code == 0, r.output
    return {c["commit"]: c for c in json.loads(r.stdout)["commits"]}


def rekey_by_reencrypting(root: Path, tmp_path: Path) -> None:
    """New data key, same values: decrypt and encrypt the file again."""
    plain = tmp_path / "plain.yaml"
    assert run_cli(["decrypt", F, "-o", str(plain)], cwd=root).code == 0
    assert run_cli(["encrypt", str(plain), "-o", F], cwd=root).code == 0
    plain.unlink()


def test_log_text_and_json(vault: Vault) -> None:
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:12"]).code == 0
    new = value(vault.root, "db.password")
    text = run_cli(["log"])
    assert text.code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].split() == [
        "DATE",
        "(UTC)",
        "COMMIT",
        "EVENT",
        "KEY",
        "AUTHOR",
        "SIGNATURE",
        "TRAILERS",
    ]
    assert "rotated  secrets/app.yaml:db.password" in lines[1]
    assert lines[1].rstrip().endswith("unsigned   ok")
    assert sum("added" in ln for ln in lines) == 3
    evs = events([])
    assert [(e["kind"], e["key"]) for e in evs][:1] == [("rotated", "db.password")]
    assert {e["kind"] for e in evs} == {"rotated", "added"}
    first = evs[0]
    assert first["commit"] == head(vault.root) and first["author"] == "Test User"
    assert first["signed"] is False and first["trailers_agree"] is True
    json_text = run_cli(["log", "--json"]).stdout
    assert_no_values([new, OLD_PASSWORD, OLD_TOKEN], text.output, json_text)


def test_log_reports_trailers_claiming_a_rotation_not_made(vault: Vault) -> None:
    # api_token changes, but the message claims db.password was rotated.
    assert run_cli(["set", F, "api_token", "changed-token-1"]).code == 0
    liar = commit_all(
        vault.root,
        "rotate db password",
        body=f"Gitvault-Action: rotate\nGitvault-File: {F}\nGitvault-Keys: {F}: db.password",
    )
    r = run_cli(["log", F])
    assert r.code == 0
    assert "MISMATCH" in r.stdout
    assert (
        f"{liar[:12]}: trailers claim a rotation of secrets/app.yaml:db.password "
        "the commit did not make" in r.stdout
    )
    assert (
        f"{liar[:12]}: the commit changes secrets/app.yaml:api_token "
        "but its trailers do not name the key" in r.stdout
    )
    record = commits([F])[liar]
    assert record["trailers_agree"] is False and record["action"] == "rotate"
    assert [e["key"] for e in events([F]) if e["commit"] == liar] == ["api_token"]


def test_rekey_is_not_reported_as_rotation(vault: Vault, tmp_path: Path) -> None:
    rekey = tmp_path / "k"
    rekey.mkdir()
    rekey_by_reencrypting(vault.root, rekey)
    commit = commit_all(vault.root, "re-encrypt under a new data key")
    assert value(vault.root, "db.password") == OLD_PASSWORD
    # With an identity: decrypted both sides, values equal -> re-key.
    mine = [e for e in events([F]) if e["commit"] == commit]
    assert {(e["kind"], e["basis"], e["value_changed"]) for e in mine} == {
        ("rekeyed", "decrypted", False)
    }
    # Without an identity that can read it: unknown, still never "rotated".
    stranger = tmp_path / "stranger.txt"
    assert run_cli(["keygen", "-o", str(stranger)]).code == 0
    blind = [e for e in events([F, "-i", str(stranger)]) if e["commit"] == commit]
    assert {(e["kind"], e["value_changed"]) for e in blind} == {("rekeyed", None)}
    assert "rekeyed?" in run_cli(["log", F, "-i", str(stranger)]).stdout


def test_rekey_trailers_are_used_without_an_identity(vault: Vault, tmp_path: Path) -> None:
    rekey_by_reencrypting(vault.root, tmp_path)
    commit = commit_all(
        vault.root, "rekey", body=f"Gitvault-Action: rekey\nGitvault-File: {F}\nGitvault-Rekey: {F}"
    )
    stranger = tmp_path / "stranger.txt"
    assert run_cli(["keygen", "-o", str(stranger)]).code == 0
    mine = [e for e in events([F, "-i", str(stranger)]) if e["commit"] == commit]
    assert {(e["kind"], e["basis"]) for e in mine} == {("rekeyed", "trailers")}
    assert commits([F])[commit]["trailers_agree"] is True


def test_rotation_among_rekey_is_told_apart(vault: Vault, tmp_path: Path) -> None:
    # One commit: new data key AND a new db.password. Decryption tells which changed.
    rekey_by_reencrypting(vault.root, tmp_path)
    assert run_cli(["set", F, "db.password", "brand-new-pass"]).code == 0
    commit = commit_all(vault.root, "rekey and rotate")
    mine = {e["key"]: e["kind"] for e in events([F]) if e["commit"] == commit}
    assert mine == {"db.password": "rotated", "db.port": "rekeyed", "api_token": "rekeyed"}


def test_path_key_filter_and_rev(vault: Vault) -> None:
    first = head(vault.root)
    assert run_cli(["rotate", F, "api_token", "--generate", "hex:8"]).code == 0
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:8"]).code == 0
    only = events([f"{F}:api_token"])
    assert [(e["key"], e["kind"]) for e in only] == [
        ("api_token", "rotated"),
        ("api_token", "added"),
    ]
    sops_form = events([f'{F}:["db"]["password"]'])
    assert [e["kind"] for e in sops_form] == ["rotated", "added"]
    older = events([F, "--rev", "HEAD~1"])
    assert {e["key"] for e in older if e["kind"] == "rotated"} == {"api_token"}
    assert {e["commit"] for e in events([F, "--rev", first])} == {first}


def test_commit_touching_two_files_is_not_blamed_for_the_other(vault: Vault) -> None:
    other = vault.root / "secrets" / "other.yaml"
    other.write_text("token: other-value-1\n")
    assert run_cli(["encrypt", str(other), "--in-place"]).code == 0
    commit_all(vault.root, "add other")
    assert run_cli(["set", F, "api_token", "both-1"]).code == 0
    assert run_cli(["set", str(other), "token", "both-2"]).code == 0
    both = commit_all(
        vault.root,
        "set two files",
        body=(
            f"Gitvault-Action: rotate\nGitvault-File: {F}\nGitvault-File: secrets/other.yaml\n"
            f"Gitvault-Keys: {F}: api_token\nGitvault-Keys: secrets/other.yaml: token"
        ),
    )
    assert commits([F])[both]["trailers_agree"] is True
    assert commits(["secrets/other.yaml"])[both]["trailers_agree"] is True
    assert commits([])[both]["trailers_agree"] is True


def test_non_vault_files_are_ignored(vault: Vault) -> None:
    (vault.root / "secrets" / "README.md").write_text("how to rotate\n")
    (vault.root / ".gitvault.yaml").write_text(
        (vault.root / ".gitvault.yaml")
        .read_text()
        .replace('path: "secrets/**"', 'path: "secrets/**/*.yaml"')
    )
    commit_all(vault.root, "docs")
    r = run_cli(["log", "--json"])
    payload = json.loads(r.stdout)
    assert payload["problems"] == []
    assert {e["file"] for e in payload["events"]} == {F}


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--rev", "no-such-branch"], 6, "unknown revision 'no-such-branch'"),
        ([f"{F}:"], 5, "empty key after ':'"),
        (["../outside.yaml"], 5, "path is outside the repository"),
    ],
)
def test_bad_input(vault: Vault, args: list[str], code: int, text: str) -> None:
    r = run_cli(["log", *args])
    assert r.code == code, r.output
    assert r.stderr.splitlines()[0] == f"gitvault: error: {text}" or text in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if "error:" in ln]) == 1


def test_shallow_clone_is_refused(vault: Vault, tmp_path: Path) -> None:
    run_cli(["set", F, "api_token", "second-token", "--commit"])
    clone = shallow_clone(vault.root, tmp_path / "clone")
    snap = snapshot(clone)
    for command in (["log"], ["due"]):
        r = run_cli(command, cwd=clone)
        assert r.code == 6
        assert r.stderr.splitlines()[0] == "gitvault: error: shallow clone: history is incomplete"
    assert snapshot(clone) == snap


def test_empty_repository(repo: Path) -> None:
    r = run_cli(["log", "x.yaml"], cwd=repo)
    assert r.code == 6 and "the repository has no commits yet" in r.stderr


def test_signed_rotation_shows_verified(vault: Vault, ssh_signing: Path) -> None:
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:8"]).code == 0
    line = run_cli(["log", f"{F}:db.password"]).stdout.splitlines()[1]
    assert "rotated" in line and "verified" in line
    ssh_signing.write_text("")  # nobody is an allowed signer any more
    line = run_cli(["log", f"{F}:db.password"]).stdout.splitlines()[1]
    assert "signed (" in line and "verified" not in line
    unchecked = run_cli(["log", f"{F}:db.password", "--no-signatures", "--json"]).stdout
    assert json.loads(unchecked)["events"][0]["verified"] is None
