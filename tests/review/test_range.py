"""``review BASE..HEAD`` judges the range by base vs head, with the base's policy.

A merge commit can restore an old vault file without any commit of the range
"changing" it (the file equals one of the merge's parents); a pull request can
edit the policy it is judged by. Both must be visible to the reviewer.
"""

from __future__ import annotations

from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli
from tests.review.conftest import VALUES, F, assert_no_values, commit_all, head, review_json

TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"


def test_merge_that_restores_an_old_file_is_a_rollback(vault: Vault) -> None:
    root = vault.root
    old = head(root)
    r = run_cli(["set", F, "db.password", "rotated-Pa55word-x9", "--commit"], cwd=root)
    assert r.code == 0, r.output
    # A side branch from before the rotation, touching nothing in the vault.
    git(root, "switch", "-q", "-c", "side", old)
    (root / "README.md").write_text("docs\n")
    commit_all(root, "docs")
    # The pull request merges it and resolves the merge by taking the old vault file.
    git(root, "switch", "-q", "-c", "pr", "main")
    git(root, "merge", "-q", "--no-ff", "--no-commit", "side")
    git(root, "checkout", old, "--", F)
    git(root, "commit", "-q", "-m", "merge side")
    code, data, err = review_json(root, "main..pr")
    assert [f["path"] for f in data["files"]] == [F]
    assert data["files"][0]["status"] == "modified"
    rollbacks = [f for f in data["findings"] if f["kind"] == "rollback"]
    assert rollbacks and rollbacks[0]["file"] == F, data["findings"]
    assert old[:12] in rollbacks[0]["message"]
    assert code == 1
    assert_no_values([*VALUES, "rotated-Pa55word-x9"], str(data), err)


def test_re_spelled_old_file_is_still_a_rollback(vault: Vault) -> None:
    """Re-quoting lastmodified and re-spelling base64 does not make an old version new."""
    root = vault.root
    old_text = (root / F).read_text()
    r = run_cli(["set", F, "db.password", "rotated-Pa55word-x9", "--commit"], cwd=root)
    assert r.code == 0, r.output
    git(root, "switch", "-q", "-c", "pr")
    lines = []
    for line in old_text.splitlines():
        if line.strip().startswith("lastmodified:"):
            key, _, value = line.partition(": ")
            line = f'{key}: "{value.strip(chr(34))}"'
        lines.append(line)
    (root / F).write_text("\n".join(lines) + "\n")
    commit_all(root, "restore")
    code, data, _ = review_json(root, "main..pr")
    assert any(f["kind"] == "rollback" and f["file"] == F for f in data["findings"])
    assert code == 1


def test_rotation_and_merge_of_main_are_not_rollbacks(vault: Vault) -> None:
    """No false alarm: an ordinary rotation branch that merged main in."""
    root = vault.root
    git(root, "switch", "-q", "-c", "pr")
    assert run_cli(["set", F, "api_token", "tok-new-Value-42", "--commit"], cwd=root).code == 0
    git(root, "switch", "-q", "main")
    (root / "README.md").write_text("docs\n")
    commit_all(root, "docs on main")
    git(root, "switch", "-q", "pr")
    git(root, "merge", "-q", "--no-edit", "main")
    code, data, _ = review_json(root, "main..pr")
    assert not [f for f in data["findings"] if f["kind"] in ("rollback", "substitution")]
    assert code == 0, data["findings"]


def test_pull_request_cannot_exclude_its_own_leak(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "pr")
    policy = root / ".gitvault.yaml"
    policy.write_text(policy.read_text() + 'scan:\n  exclude: ["config/**"]\n')
    (root / "config").mkdir()
    (root / "config" / "app.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    commit_all(root, "config")
    code, data, err = review_json(root, "main..pr")
    assert [leak["path"] for leak in data["leaks"]] == ["config/app.env"]
    assert code == 1
    policy_findings = [f for f in data["findings"] if f["kind"] == "policy"]
    assert any("scan" in f["message"] and "config/**" in f["message"] for f in policy_findings)
    assert TOKEN not in str(data) and TOKEN not in err


def test_base_policy_excludes_still_apply(vault: Vault) -> None:
    """Excludes the base already trusts keep working (no new false alarm)."""
    root = vault.root
    policy = root / ".gitvault.yaml"
    policy.write_text(policy.read_text() + 'scan:\n  exclude: ["fixtures/**"]\n')
    commit_all(root, "exclude fixtures")
    git(root, "switch", "-q", "-c", "pr")
    (root / "fixtures").mkdir()
    (root / "fixtures" / "fake.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    commit_all(root, "fixtures")
    code, data, _ = review_json(root, "main..pr")
    assert data["leaks"] == [] and code == 0


def test_rule_selection_widened_by_the_pull_request_is_a_finding(vault: Vault) -> None:
    """A PR that makes its rule leave db.password unencrypted, with a file to match."""
    root = vault.root
    git(root, "switch", "-q", "-c", "pr")
    policy = root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rotate_after: 90d", 'rotate_after: 90d\n    unencrypted_regex: "^password$"'
        )
    )
    new = root / "secrets" / "weak.yaml"
    new.write_text("password: weak-Plain-Pa55\ntoken: tok-Weak-778899\n")
    assert run_cli(["encrypt", str(new), "--in-place"], cwd=root).code == 0
    assert "weak-Plain-Pa55" in new.read_text()  # the head policy allows it
    commit_all(root, "weaker rule")
    code, data, err = review_json(root, "main..pr")
    kinds = {f["kind"] for f in data["findings"]}
    assert "policy" in kinds
    plaintext = [f for f in data["findings"] if f["kind"] == "plaintext"]
    assert any(
        "secrets/weak.yaml" in f["message"] and "password" in f["message"] for f in plaintext
    )
    assert code == 1
    assert "weak-Plain-Pa55" not in str(data) and "weak-Plain-Pa55" not in err


def test_recipient_added_by_the_range_is_a_visible_policy_change(vault: Vault) -> None:
    """Widening who reads the vault is never silent, even when the files match the new policy."""
    import pyrage

    root = vault.root
    git(root, "switch", "-q", "-c", "pr")
    mallory = str(pyrage.x25519.Identity.generate().to_public())
    r = run_cli(["recipients", "add", "mallory", mallory, "--group", "team"], cwd=root)
    assert r.code == 0, r.output
    r = run_cli(["rekey"], cwd=root)
    assert r.code == 0, r.output
    commit_all(root, "add mallory")
    code, data, _ = review_json(root, "main..pr")
    policy = [f["message"] for f in data["findings"] if f["kind"] == "policy"]
    assert any("recipient-added mallory" in m for m in policy), policy
    assert any(
        "mallory" in f["message"] for f in data["findings"] if f["kind"] == "access-expansion"
    )
    # Policy changes fail a review only when asked (they are often intended).
    code, _, _ = review_json(root, "main..pr", "--fail-on", "policy")
    assert code == 1
    code, _, _ = review_json(root, "main..pr", "--fail-on", "none")
    assert code == 0


def test_secret_added_by_a_merge_resolution_is_a_leak(vault: Vault) -> None:
    """Lines a merge commit adds that neither parent had are scanned like any commit's."""
    root = vault.root
    (root / "app.env").write_text("LOG_LEVEL=info\n")
    commit_all(root, "config")
    git(root, "switch", "-q", "-c", "side")
    (root / "README.md").write_text("side\n")
    commit_all(root, "side docs")
    git(root, "switch", "-q", "-c", "pr", "main")
    (root / "NOTES.md").write_text("pr\n")
    commit_all(root, "pr notes")
    git(root, "merge", "-q", "--no-ff", "--no-commit", "side")
    (root / "app.env").write_text(f"LOG_LEVEL=info\nGITHUB_TOKEN={TOKEN}\n")
    git(root, "add", "app.env")
    git(root, "commit", "-q", "-m", "merge side")
    merge = head(root)
    code, data, err = review_json(root, "main..pr")
    assert [(leak["path"], leak["commit"]) for leak in data["leaks"]] == [("app.env", merge)]
    assert data["leaks"][0]["line"] == 2
    assert code == 1
    assert TOKEN not in str(data) and TOKEN not in err


def test_merging_main_brings_no_leak_of_main_into_the_review(vault: Vault) -> None:
    """What main already had is not the pull request's: merging main in adds no finding."""
    root = vault.root
    git(root, "switch", "-q", "-c", "pr")
    assert run_cli(["set", F, "api_token", "tok-new-Value-42", "--commit"], cwd=root).code == 0
    git(root, "switch", "-q", "main")
    (root / "legacy.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    commit_all(root, "legacy config on main")
    git(root, "switch", "-q", "pr")
    git(root, "merge", "-q", "--no-edit", "main")
    code, data, _ = review_json(root, "main..pr")
    assert data["leaks"] == [] and code == 0, data["findings"]
