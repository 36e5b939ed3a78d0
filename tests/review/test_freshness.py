"""Rollback, substitution and signatures: flagged by ``verify`` and ``review`` on real history."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli
from tests.review.conftest import (
    EMAIL,
    VALUES,
    F,
    Signed,
    assert_no_values,
    commit_all,
    head,
    review_json,
    set_recipient,
    ssh_key,
)

REKEY_TRAILERS = "\n\nGitvault-Action: rekey\nGitvault-File: secrets/app.yaml\nGitvault-Rekey: secrets/app.yaml\n"


def verify_json(root: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    r = run_cli(["verify", "--json", *args], cwd=root)
    assert r.code in (0, 1), r.output
    return r.code, json.loads(r.stdout), r.stderr


def rotate(root: Path, value: str) -> str:
    r = run_cli(["set", F, "db.password", value, "--commit"], cwd=root)
    assert r.code == 0, r.output
    return head(root)


def roll_back(root: Path, rev: str) -> str:
    (root / F).write_bytes(git_bytes(root, f"{rev}:{F}"))
    return commit_all(root, "restore the old file")


def git_bytes(root: Path, spec: str) -> bytes:
    return subprocess.run(["git", "show", spec], cwd=root, capture_output=True, check=True).stdout


def substitute(root: Path, content: str, *, name: str, email: str, message: str = "update") -> str:
    """Re-create the file from the public keys only (`gitvault encrypt`), committed as NAME."""
    (root / F).write_text(content)
    r = run_cli(["encrypt", F, "--in-place"], cwd=root)
    assert r.code == 0, r.output
    git(root, "add", "-A")
    git(root, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message)
    return head(root)


def rekey_as_recipient(root: Path, message: str = "rekey" + REKEY_TRAILERS) -> str:
    """A real re-key: same values, a new data key, recorded in the trailers."""
    r = run_cli(["decrypt", F], cwd=root)
    assert r.code == 0, r.output
    (root / F).write_text(r.stdout)
    assert run_cli(["encrypt", F, "--in-place"], cwd=root).code == 0
    return commit_all(root, message)


# --- rollback -----------------------------------------------------------------


def test_rollback_is_flagged_by_verify_and_review(vault: Vault) -> None:
    root = vault.root
    first = head(root)
    rotate(root, "second-Value-2222")
    rolled = roll_back(root, first)
    code, report, _ = verify_json(root)
    assert code == 1
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "rollback" and finding["basis"] == "content"
    assert finding["commit"] == rolled and finding["matches"] == first
    assert finding["current"] is True and finding["keys"] == ["db.password"]
    assert any("rollback" in p for p in report["files"][0]["problems"])

    r = run_cli(["verify"], cwd=root)
    assert r.code == 1 and "problem: rollback in " + rolled[:12] in r.stdout

    code, data, err = review_json(root, "HEAD~1..HEAD")
    assert code == 1 and "rollback" in err
    assert [(f["kind"], f["commit"]) for f in data["freshness"]] == [("rollback", rolled)]
    r = run_cli(["review", "HEAD~1..HEAD"], cwd=root)
    assert "rolled back" in r.stdout and "Freshness and authorship" in r.stdout
    assert_no_values([*VALUES, "second-Value-2222"], r.stdout, str(data), str(report))


def test_superseded_rollback_is_a_warning(vault: Vault) -> None:
    root = vault.root
    first = head(root)
    rotate(root, "second-Value-2222")
    roll_back(root, first)
    rotate(root, "third-Value-33333")  # the rolled-back value is replaced again
    code, report, _ = verify_json(root)
    assert code == 0, report
    assert report["history"]["findings"][0]["current"] is False
    assert any("earlier rollback" in w for w in report["files"][0]["warnings"])


def test_git_revert_of_a_rotation_is_a_rollback(vault: Vault) -> None:
    root = vault.root
    rotate(root, "second-Value-2222")
    git(root, "revert", "--no-edit", "HEAD")
    code, report, _ = verify_json(root)
    assert code == 1
    assert report["history"]["findings"][0]["kind"] == "rollback"


def test_cherry_picked_identical_version_on_a_parallel_branch_is_not_a_rollback(
    vault: Vault,
) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "side")
    base = head(root)
    rotated = rotate(root, "second-Value-2222")
    git(root, "switch", "-q", "main")
    git(root, "cherry-pick", rotated)
    git(root, "switch", "-q", "side")
    rotate(root, "third-Value-33333")
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "-s", "ours", "side")
    _code, report, _ = verify_json(root)
    assert not [f for f in report["history"]["findings"] if f["kind"] == "rollback"], base


# --- substitution -------------------------------------------------------------


def test_substitution_by_a_non_recipient_is_flagged(vault: Vault) -> None:
    root = vault.root
    git(root, "switch", "-q", "-c", "innocent")
    bad = substitute(
        root,
        "db:\n    password: attacker-Chosen-1\n    port: 5432\napi_token: attacker-Token-22\n",
        name="Mallory",
        email="mallory@evil.invalid",
    )
    code, report, _ = verify_json(root)
    assert code == 1
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "substitution" and finding["commit"] == bad
    assert finding["current"] is True and finding["writer"] is None
    assert finding["basis"] == "unknown-writer"
    assert set(finding["keys"]) == {"db.password", "db.port", "api_token"}

    code, data, err = review_json(root, "main..HEAD")
    assert code == 1 and "substitution" in err
    (note,) = data["freshness"]
    assert note["kind"] == "substitution" and note["author"] == "Mallory"
    r = run_cli(["review", "main..HEAD"], cwd=root)
    assert "**substitution**" in r.stdout
    assert_no_values(
        [*VALUES, "attacker-Chosen-1", "attacker-Token-22"], r.stdout, str(data), str(report)
    )


def test_recorded_rekey_by_a_recipient_is_not_flagged(signed_vault: Signed) -> None:
    root = signed_vault.vault.root
    rekey_as_recipient(root)
    code, report, _ = verify_json(root)
    assert code == 0, report
    assert report["history"]["findings"] == []
    code, data, _ = review_json(root, "HEAD~1..HEAD")
    assert data["freshness"] == [] and data["commits"][0]["signer"] == "alice"
    rekeyed = {k["key"]: k for k in data["keys"]}
    assert rekeyed["db.password"]["change"] == "rekeyed"
    assert rekeyed["db.password"]["value_changed"] is False  # told by decrypting both sides


def test_unrecorded_new_data_key_by_a_recipient(signed_vault: Signed, tmp_path: Path) -> None:
    root = signed_vault.vault.root
    rekey_as_recipient(root, "re-encrypted by hand")
    # alice's identity opens both versions: the values are unchanged, a proven re-key.
    code, report, _ = verify_json(root)
    assert code == 0, report
    assert report["history"]["findings"] == []
    # An identity that opens neither cannot tell: an unrecorded new data key is flagged.
    other = tmp_path / "other.txt"
    assert run_cli(["keygen", "-o", str(other)]).code == 0
    _code, report, _ = verify_json(root, "-i", str(other))
    (finding,) = report["history"]["findings"]
    assert finding["basis"] == "unrecorded" and finding["writer"] == "alice"


def test_recorded_rekey_by_someone_who_could_not_read_the_file(vault: Vault) -> None:
    root = vault.root
    other = root.parent / "carol.txt"
    assert run_cli(["keygen", "-o", str(other)]).code == 0
    carol = other.read_text().splitlines()[1].split(": ")[1]
    policy = root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("recipients:\n", f"recipients:\n  carol: {carol}\n", 1)
        + '  - path: "other/**"\n    recipients: [carol]\n'
    )
    set_recipient(root, "carol", {"key": carol, "email": "carol@example.invalid"})
    commit_all(root, "carol reads other/")
    bad = substitute(
        root,
        "db:\n    password: carol-Chosen-1\n    port: 1\napi_token: carol-Token-2\n",
        name="Carol",
        email="carol@example.invalid",
        message="rekey" + REKEY_TRAILERS,
    )
    code, report, _ = verify_json(root)
    (finding,) = report["history"]["findings"]
    assert finding["commit"] == bad and finding["basis"] == "non-recipient"
    assert finding["writer"] == "carol" and code == 1


def test_rekey_after_a_substitution_keeps_it_until_its_values_are_replaced(
    signed_vault: Signed,
) -> None:
    root = signed_vault.vault.root
    substitute(
        root,
        "db:\n    password: attacker-Chosen-1\n",
        name="Mallory",
        email="mallory@evil.invalid",
    )
    # A re-key re-wraps the attacker's value: it is still there, so is the problem.
    rekey_as_recipient(root)
    code, report, _ = verify_json(root)
    assert code == 1, report
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "substitution" and finding["current"] is True
    # Replacing the value a key-less writer chose is what clears it.
    rotate(root, "fresh-Value-9999")
    code, report, _ = verify_json(root)
    assert code == 0, report
    assert any("earlier substitution" in w for w in report["files"][0]["warnings"])


def test_no_freshness_switch(vault: Vault) -> None:
    root = vault.root
    substitute(root, "a:\n    b: attacker-Chosen-1\n", name="M", email="m@evil.invalid")
    assert run_cli(["verify"], cwd=root).code == 1
    r = run_cli(["verify", "--no-freshness", "--json"], cwd=root)
    assert r.code == 0 and json.loads(r.stdout)["history"]["checked"] is False


# --- signatures ---------------------------------------------------------------


def test_require_signed_exit_codes(signed_vault: Signed, tmp_path: Path) -> None:
    root = signed_vault.vault.root
    # The first commit was not signed at all: all history fails.
    r = run_cli(["verify", "--require-signed"], cwd=root)
    assert r.code == 1 and "the commit is not signed" in r.stdout
    # The policy commit that listed alice's key was judged by the policy before it,
    # which listed no key: a key cannot vouch for itself.
    first = git(root, "rev-list", "--max-parents=0", "HEAD").stdout.strip()
    r = run_cli(["verify", "--require-signed", "--since", first], cwd=root)
    assert r.code == 1 and "does not list" in r.stdout and ".gitvault.yaml" in r.stdout
    # From the policy commit on, every change is signed by a listed key.
    rotate(root, "second-Value-2222")
    since = signed_vault.policy_commit
    code, report, _ = verify_json(root, "--require-signed", "--since", since)
    assert code == 0, report
    assert report["history"]["require_signed"] is True and report["history"]["commits"] == 1
    # An unsigned change fails.
    r = run_cli(["set", F, "api_token", "unsigned-Token-1"], cwd=root)
    assert r.code == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-gpg-sign", "-m", "unsigned change")
    r = run_cli(["verify", "--require-signed", "--since", since], cwd=root)
    assert r.code == 1 and "the commit is not signed" in r.stdout
    # A change signed by a key the policy does not list fails too.
    git(root, "reset", "-q", "--hard", "HEAD~1")
    other, _ = ssh_key(tmp_path, "mallory_signing")
    git(root, "config", "user.signingkey", str(other))
    rotate(root, "foreign-Value-3333")
    r = run_cli(["verify", "--require-signed", "--since", since], cwd=root)
    assert r.code == 1 and "signed by a key the policy does not list" in r.stdout
    # Without --require-signed the same history verifies.
    assert run_cli(["verify"], cwd=root).code == 0


def test_signed_writer_is_named_by_the_signature(signed_vault: Signed) -> None:
    root = signed_vault.vault.root
    git(root, "config", "user.email", "someone-else@example.invalid")
    rekey_as_recipient(root)
    code, report, _ = verify_json(root)
    assert code == 0, report  # no email match, but alice's listed key signed it


# --- where history is not available ------------------------------------------


def test_verify_outside_git_skips_history_unless_asked(vault: Vault, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(vault.root, copy, ignore=shutil.ignore_patterns(".git"))
    r = run_cli(["verify"], cwd=copy)
    assert r.code == 0, r.output
    assert "history: not checked (not a git repository" in r.stdout
    assert run_cli(["verify", "--freshness"], cwd=copy).code == 6
    assert run_cli(["verify", "--require-signed"], cwd=copy).code == 6


def test_verify_in_a_shallow_clone(vault: Vault, tmp_path: Path) -> None:
    rotate(vault.root, "second-Value-2222")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{vault.root}", str(clone)],
        check=True,
        capture_output=True,
    )
    r = run_cli(["verify"], cwd=clone)
    assert r.code == 0 and "shallow clone" in r.stdout
    r = run_cli(["verify", "--require-signed"], cwd=clone)
    assert r.code == 6 and "shallow" in r.stderr


def test_verify_json_keeps_its_v1_fields(vault: Vault) -> None:
    code, report, _ = verify_json(vault.root)
    assert code == 0
    assert report["schema"] == "gitvault.verify/v1"
    assert report["files"][0]["checks"] == {"structure": "ok", "recipients": "ok", "mac": "ok"}
    assert report["history"]["checked"] is True and report["history"]["findings"] == []
    assert EMAIL not in json.dumps(report["files"])
