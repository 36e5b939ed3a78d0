"""``gitvault review`` on real repositories: rotation PRs, access, signatures, leaks, schema."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli, run_subprocess
from tests.review.conftest import (
    EMAIL,
    VALUES,
    F,
    Signed,
    assert_no_values,
    commit_all,
    head,
    review_json,
)

NEW_PASSWORD = "rotated-Pa55word-x9"


def rotation_branch(root: Path) -> str:
    """A branch where `gitvault set --commit` changed db.password (signed when configured)."""
    git(root, "switch", "-q", "-c", "rotate-db")
    r = run_cli(["set", F, "db.password", NEW_PASSWORD, "--commit"], cwd=root)
    assert r.code == 0, r.output
    return head(root)


def test_rotation_pr_shows_rotated_key_and_signer_and_no_value(signed_vault: Signed) -> None:
    root = signed_vault.vault.root
    commit = rotation_branch(root)
    r = run_cli(["review"], cwd=root)  # default base: main
    assert r.code == 0, r.output
    md = r.stdout
    assert "db.password" in md and "rotated" in md
    assert "verified: alice" in md
    assert commit[:12] in md
    assert "1 rotated, 0 added, 0 removed, 0 re-keyed" in md
    assert "nothing fails this review" in md
    assert_no_values([*VALUES, NEW_PASSWORD], r.stdout, r.stderr)

    code, data, err = review_json(root, "main..rotate-db")
    assert code == 0
    assert [(k["file"], k["key"], k["change"]) for k in data["keys"]] == [
        (F, "db.password", "rotated")
    ]
    (c,) = data["commits"]
    assert c["signature"] == "verified" and c["signer"] == "alice" and c["writer"] == "alice"
    assert c["action"] == "set" and c["trailers_agree"] is True
    assert c["key"].startswith("SHA256:")
    assert data["findings"] == [] and data["failed"] is False
    ages = {a["key"]: a for a in data["ages"]}
    assert ages["db.password"]["status"] == "ok" and ages["db.password"]["age_seconds"] < 3600
    assert ages["db.password"]["period_seconds"] == 90 * 86400
    assert_no_values([*VALUES, NEW_PASSWORD], str(data), err)


def test_rotation_review_with_identity_checks_mac_and_tells_values(signed_vault: Signed) -> None:
    root = signed_vault.vault.root
    rotation_branch(root)
    _code, data, _ = review_json(root, "main..HEAD")
    assert data["identity"] is True
    assert data["checks"] == [
        {"file": F, "checks": {"structure": "ok", "recipients": "ok", "mac": "ok"}, "problems": []}
    ]


def test_review_without_identity_needs_none(vault: Vault, tmp_path: Path) -> None:
    root = vault.root
    rotation_branch(root)
    vault.key_file.rename(tmp_path / "away.txt")
    _code, data, _ = review_json(root, "main..HEAD")
    assert data["identity"] is False
    assert data["checks"][0]["checks"]["mac"].startswith("not checked")
    assert [k["key"] for k in data["keys"]] == ["db.password"]


def test_unsigned_commits_are_flagged(vault: Vault) -> None:
    root = vault.root
    commit = rotation_branch(root)
    code, data, _ = review_json(root, "main..HEAD")
    assert code == 0  # unsigned is not in the default --fail-on
    assert [(f["kind"], f["commit"]) for f in data["findings"]] == [("unsigned", commit)]
    assert data["commits"][0]["signature"] == "unsigned"
    r = run_cli(["review", "main..HEAD", "--fail-on", "unsigned"], cwd=root)
    assert r.code == 1 and "unsigned" in r.stderr
    assert "⚠️ unsigned" in r.stdout or "❌" in r.stdout


def test_foreign_signature_is_a_bad_signature(signed_vault: Signed, tmp_path: Path) -> None:
    from tests.review.conftest import ssh_key

    root = signed_vault.vault.root
    other, _public = ssh_key(tmp_path, "mallory_signing")
    git(root, "switch", "-q", "-c", "foreign")
    git(root, "config", "user.signingkey", str(other))
    r = run_cli(["set", F, "api_token", "tok-foreign-777", "--commit"], cwd=root)
    assert r.code == 0, r.output
    code, data, err = review_json(root, "main..HEAD")
    assert code == 1 and "bad-signature" in err
    assert data["commits"][0]["signature"] == "foreign"
    assert data["commits"][0]["signer"] is None
    assert_no_values(["tok-foreign-777"], str(data))


def test_access_expansion_in_policy_is_called_out(vault: Vault, tmp_path: Path) -> None:
    root = vault.root
    other = tmp_path / "bob.txt"
    assert run_cli(["keygen", "-o", str(other)]).code == 0
    bob = other.read_text().splitlines()[1].split(": ")[1]
    git(root, "switch", "-q", "-c", "add-bob")
    policy = root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text()
        .replace("recipients:\n", f"recipients:\n  bob: {bob}\n", 1)
        .replace("team: [alice]", "team: [alice, bob]")
    )
    commit_all(root, "let bob read the secrets")
    r = run_cli(["review", "main..HEAD", "--fail-on", "access-expansion"], cwd=root)
    assert r.code == 1, r.output
    assert "[!WARNING]" in r.stdout and "Access expansion" in r.stdout
    assert "**bob** gains read access to secrets/\\*\\*" in r.stdout
    code, data, _ = review_json(root, "main..HEAD")
    gains = [a for a in data["access"] if a["change"] == "gained"]
    assert gains == [
        {"name": "bob", "change": "gained", "scope": "secrets/**", "source": "policy", "files": [F]}
    ]
    kinds = [p["what"] for p in data["policy"]]
    assert "recipient-added" in kinds and "group-members" in kinds
    # The file is not re-encrypted yet: verify's recipient check at HEAD says so (default fail).
    assert code == 1
    assert any(f["kind"] == "recipients" and "bob" in f["message"] for f in data["findings"])


def test_signing_key_added_to_policy_is_an_expansion(vault: Vault, tmp_path: Path) -> None:
    from tests.review.conftest import set_recipient, ssh_key

    root = vault.root
    _key, public = ssh_key(tmp_path, "new_signing")
    git(root, "switch", "-q", "-c", "signer")
    set_recipient(root, "alice", {"key": vault.public, "signing_keys": [public]})
    commit_all(root, "alice signs")
    _code, data, _ = review_json(root, "main..HEAD")
    assert any(p["what"] == "signing-keys" and p["expansion"] for p in data["policy"])
    assert any(f["kind"] == "access-expansion" for f in data["findings"])


def test_trailers_that_disagree_are_reported(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "liar")
    assert run_cli(["set", F, "db.password", NEW_PASSWORD], cwd=root).code == 0
    message = (
        "rotate the token\n\nGitvault-Action: rotate\nGitvault-File: secrets/app.yaml\n"
        "Gitvault-Keys: secrets/app.yaml: api_token\n"
    )
    commit_all(root, message)
    code, data, err = review_json(root, "main..HEAD")
    assert code == 1 and "trailer-mismatch" in err
    messages = [f["message"] for f in data["findings"] if f["kind"] == "trailer-mismatch"]
    assert any("api_token" in m for m in messages)
    assert any("db.password" in m for m in messages)
    assert data["commits"][0]["trailers_agree"] is False


def test_leaks_in_the_range_are_found_without_showing_them(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "leaky")
    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
    (root / "app.env").write_text(f"GITHUB_TOKEN={token}\nDB_PASSWORD=hunter2hunter2\n")
    commit_all(root, "config")
    r = run_cli(["review", "main..HEAD"], cwd=root)
    assert r.code == 1 and "leak" in r.stderr
    assert "github-pat" in r.stdout and "vault-value" in r.stdout
    assert_no_values([token, *VALUES], r.stdout, r.stderr)
    code, data, _ = review_json(root, "main..HEAD")
    assert {leak["rule"] for leak in data["leaks"]} >= {"github-pat", "vault-value"}
    assert_no_values([token, *VALUES], str(data))
    code, data, _ = review_json(root, "main..HEAD", "--no-scan")
    assert data["leaks"] == [] and data["scanned"] is False and code == 0


def test_plaintext_in_a_vault_path_fails(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "plain")
    (root / "secrets" / "new.yaml").write_text("password: plain-text-secret-1\n")
    commit_all(root, "oops")
    r = run_cli(["review", "main..HEAD"], cwd=root)
    assert r.code == 1 and "plaintext" in r.stderr
    assert "plain-text-secret-1" not in r.stdout + r.stderr


def test_vault_files_added_and_removed(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "files")
    (root / "secrets" / "new.yaml").write_text("service:\n    token: brand-new-token-42\n")
    assert run_cli(["encrypt", "secrets/new.yaml", "--in-place"], cwd=root).code == 0
    git(root, "rm", "-q", F)
    commit_all(root, "swap files")
    _code, data, _ = review_json(root, "main..HEAD")
    status = {f["path"]: f["status"] for f in data["files"]}
    assert status == {F: "removed", "secrets/new.yaml": "added"}
    changes = {(k["file"], k["key"], k["change"]) for k in data["keys"]}
    assert ("secrets/new.yaml", "service.token", "added") in changes
    assert (F, "db.password", "removed") in changes
    assert_no_values(["brand-new-token-42", *VALUES], str(data))


def test_markdown_escapes_file_names_and_keeps_tables_whole(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "weird")
    name = "secrets/we|ird_[x](y)@bob <b>.yaml"
    (root / name).write_text("k:\n    v: weird-file-value-1\n")
    assert run_cli(["encrypt", name, "--in-place"], cwd=root).code == 0
    commit_all(root, "weird | *name* @someone")
    r = run_cli(["review", "main..HEAD"], cwd=root)
    md = r.stdout
    assert "we\\|ird\\_\\[x\\](y)@\u200bbob &lt;b&gt;.yaml" in md
    assert "<b>" not in md and "@bob" not in md and "@someone" not in md
    # Every table row has as many cells as its header.
    for block in re.split(r"\n\n", md):
        rows = [ln for ln in block.splitlines() if ln.startswith("|")]
        if rows:
            cells = {len(re.split(r"(?<!\\)\|", ln)) for ln in rows}
            assert len(cells) == 1, block
    assert "weird-file-value-1" not in md


def test_json_schema_is_stable(signed_vault: Signed) -> None:
    root = signed_vault.vault.root
    rotation_branch(root)
    _code, data, _ = review_json(root, "main..HEAD")
    assert data["schema"] == "gitvault.review/v1"
    assert list(data) == [
        "schema",
        "range",
        "generated_at",
        "identity",
        "scanned",
        "fail_on",
        "failed",
        "summary",
        "findings",
        "commits",
        "files",
        "keys",
        "policy",
        "access",
        "freshness",
        "leaks",
        "ages",
        "checks",
        "problems",
    ]
    assert set(data["range"]) == {"base", "head", "merge_base", "base_name", "head_name"}
    assert set(data["summary"]) == {
        "commits",
        "vault_commits",
        "files",
        "keys",
        "findings",
        "failing",
    }
    assert set(data["commits"][0]) == {
        "commit",
        "subject",
        "author",
        "author_email",
        "time",
        "signature",
        "signer",
        "key",
        "writer",
        "writer_basis",
        "vault",
        "action",
        "trailers_agree",
        "problems",
    }
    assert set(data["keys"][0]) == {
        "file",
        "key",
        "change",
        "commit",
        "author",
        "time",
        "value_changed",
        "basis",
        "encrypted",
    }
    assert set(data["files"][0]) == {
        "path",
        "status",
        "readers_base",
        "readers_head",
        "gained",
        "lost",
        "keys",
    }
    assert set(data["ages"][0]) == {
        "file",
        "key",
        "last_change",
        "age_seconds",
        "period_seconds",
        "status",
        "exposed",  # the commit that marked the value leaked (migrate import), or None
    }
    assert data["range"]["base_name"] == "main" and data["commits"][0]["author_email"] == EMAIL


def test_fail_on_choices(vault: Vault) -> None:
    root = vault.root
    rotation_branch(root)
    assert run_cli(["review", "main..HEAD", "--fail-on", "nonsense"], cwd=root).code == 2
    assert run_cli(["review", "main..HEAD", "--fail-on", "all"], cwd=root).code == 1
    assert run_cli(["review", "main..HEAD", "--fail-on", "none"], cwd=root).code == 0


def test_default_range_needs_a_default_branch(vault: Vault) -> None:
    root = vault.root
    git(root, "branch", "-m", "main", "trunk")
    r = run_cli(["review"], cwd=root)
    assert r.code == 6 and "default branch" in r.stderr and "hint" in r.stderr


def test_three_dot_range_and_moved_base(vault: Vault) -> None:
    root = vault.root
    rotation_branch(root)
    git(root, "switch", "-q", "main")
    assert run_cli(["set", F, "api_token", "tok-main-moved-1", "--commit"], cwd=root).code == 0
    git(root, "switch", "-q", "rotate-db")
    _code, data, _ = review_json(root, "main..rotate-db")
    # Only the branch's own change: main's later rotation is not shown as a reverse change.
    assert [k["key"] for k in data["keys"]] == ["db.password"]
    assert data["range"]["merge_base"] != data["range"]["base"]


def test_review_runs_as_a_real_process(vault: Vault) -> None:
    root = vault.root
    rotation_branch(root)
    proc = run_subprocess(["review", "main..HEAD", "--format", "json"], cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert b'"schema": "gitvault.review/v1"' in proc.stdout


def test_help_has_an_example() -> None:
    r = run_cli(["review", "--help"])
    assert r.code == 0 and "Example" in r.stdout and "--fail-on" in r.stdout
