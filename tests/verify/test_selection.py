"""A vault file's selection metadata must be the policy rule's, and what the rule encrypts must be.

The ``sops:`` block says which values are encrypted (``unencrypted_regex``,
suffixes, ``mac_only_encrypted``, …). A file that chooses its own can carry
plaintext the rule says must be encrypted, or — under ``mac_only_encrypted`` —
values outside the MAC that anyone can add without a key. Each test builds such
a file the way its author would (real ``sops``, a text editor) and shows that
``verify`` (with and without keys), the pre-commit check and ``export`` refuse it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitvault import api
from tests.cli.conftest import Vault
from tests.helpers import run_cli

F = "secrets/app.yaml"


def _sops(vault: Vault, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SOPS_AGE_KEY_FILE=str(vault.key_file))
    return subprocess.run(
        ["sops", *args], cwd=vault.root, env=env, capture_output=True, text=True, check=False
    )


def _set_rule_option(vault: Vault, line: str) -> None:
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("rotate_after: 90d", f"rotate_after: 90d\n    {line}")
    )


def test_sops_file_with_its_own_unencrypted_regex_fails_verify(vault: Vault) -> None:
    """A recipient (or sops with other flags) leaves db.password in plaintext; the MAC is valid."""
    target = vault.root / "secrets/other.yaml"
    target.write_text("password: sops-Plain-Pa55\ntoken: tok-sops-Secret-1\n")
    r = _sops(
        vault,
        "encrypt",
        "--age",
        vault.public,
        "--unencrypted-regex",
        "^password$",
        "--in-place",
        str(target),
    )
    assert r.returncode == 0, r.stderr
    assert run_cli(["decrypt", str(target)]).code == 0  # a perfectly valid file for sops
    r = run_cli(["verify", "--no-freshness", "secrets/other.yaml"])
    assert r.code == 1, r.output
    assert "selection" in r.stdout and "unencrypted_regex" in r.stdout
    assert "rules[0]" in r.stdout
    assert "sops-Plain-Pa55" not in r.output and "^password$" not in r.output
    r = run_cli(["verify", "--structure-only", "secrets/other.yaml"])
    assert r.code == 1 and "unencrypted_regex" in r.stdout
    # The pre-commit hook's keyless check says the same.
    problems = api.vault_problems(vault.root, "secrets/other.yaml", target.read_bytes())
    assert any("unencrypted_regex" in p for p in problems)


def test_default_sops_file_passes(vault: Vault) -> None:
    """No false alarm: sops's own default selection is the rule's default."""
    target = vault.root / "secrets/sops-default.yaml"
    target.write_text("password: sops-Default-Pa55\n")
    r = _sops(vault, "encrypt", "--age", vault.public, "--in-place", str(target))
    assert r.returncode == 0, r.stderr
    r = run_cli(["verify", "--no-freshness", "secrets/sops-default.yaml"])
    assert r.code == 0, r.output


def test_rule_selection_is_honoured_without_false_alarm(vault: Vault) -> None:
    _set_rule_option(vault, 'encrypted_regex: "^(password|token)$"')
    target = vault.root / "secrets/selected.yaml"
    target.write_text("host: db.internal\npassword: sel-Pa55word-1\n")
    assert run_cli(["encrypt", str(target), "--in-place"]).code == 0
    text = target.read_text()
    assert "host: db.internal" in text and "sel-Pa55word-1" not in text
    r = run_cli(["verify", "--no-freshness", "secrets/selected.yaml"])
    assert r.code == 0, r.output
    # The same rule against a file encrypted before the rule chose its regex: a mismatch.
    r = run_cli(["verify", "--no-freshness", F])
    assert r.code == 1 and "encrypted_regex" in r.stdout


def _smuggle(vault: Vault) -> None:
    """A key-less writer adds LD_PRELOAD in plaintext and widens the selection to cover it."""
    text = vault.secret_file.read_text()
    assert "unencrypted_suffix: _unencrypted" in text
    text = "LD_PRELOAD: /tmp/evil-preload.so\n" + text
    text = text.replace("unencrypted_suffix: _unencrypted", "unencrypted_regex: ^LD_PRELOAD$")
    vault.secret_file.write_text(text)


def test_keyless_smuggle_under_mac_only_encrypted_fails_verify_and_export(vault: Vault) -> None:
    _set_rule_option(vault, "mac_only_encrypted: true")
    vault.secret_file.write_text("db:\n    password: hunter2hunter2\napi_token: tok-abc-123\n")
    assert run_cli(["encrypt", str(vault.secret_file), "--in-place"]).code == 0
    assert run_cli(["verify", "--no-freshness"]).code == 0
    _smuggle(vault)
    # The MAC does not cover unencrypted values under mac_only_encrypted: it still opens.
    assert run_cli(["decrypt", str(vault.secret_file)]).code == 0
    r = run_cli(["verify", "--no-freshness"])
    assert r.code == 1, r.output
    assert "unencrypted_regex" in r.stdout and "/tmp/evil-preload.so" not in r.output
    r = run_cli(["export", F, "--format", "env"])
    assert r.code == 1, r.output
    assert "unencrypted_regex" in r.stderr
    assert "evil-preload" not in r.output and "hunter2hunter2" not in r.output


def test_pasted_sops_block_over_plaintext_values_fails(vault: Vault, tmp_path: Path) -> None:
    """Plaintext values with a real file's ``sops:`` block pasted below them."""
    block = vault.secret_file.read_text().split("sops:\n", 1)[1]
    vault.secret_file.write_text(
        "db:\n    password: pasted-Plain-Pa55\n    port: 5432\napi_token: pasted-Token-77\nsops:\n"
        + block
    )
    for args in (["verify", "--structure-only"], ["verify", "--no-freshness"]):
        r = run_cli(args)
        assert r.code == 1, r.output
        assert "pasted-Plain-Pa55" not in r.output and "pasted-Token-77" not in r.output
    r = run_cli(["verify", "--structure-only"])
    assert "db.password" in r.stdout and "api_token" in r.stdout and "plaintext" in r.stdout
    problems = api.vault_problems(vault.root, F, vault.secret_file.read_bytes())
    assert any("db.password" in p for p in problems)
    assert not any("pasted" in p for p in problems)


def test_pre_commit_hook_refuses_a_pasted_sops_block(vault: Vault) -> None:
    """The real hook, on a real `git commit`: the keyless check sees plaintext under the block."""
    from gitvault.hooks.install import install_hooks
    from tests.conftest import git

    install_hooks(vault.root)
    block = vault.secret_file.read_text().split("sops:\n", 1)[1]
    vault.secret_file.write_text("db:\n    password: hook-Plain-Pa55\nsops:\n" + block)
    git(vault.root, "add", F)
    before = git(vault.root, "rev-parse", "HEAD").stdout
    proc = git(vault.root, "commit", "-qm", "pasted", check=False)
    assert proc.returncode != 0
    assert git(vault.root, "rev-parse", "HEAD").stdout == before
    assert "db.password" in proc.stderr and "not encrypted" in proc.stderr
    assert "hook-Plain-Pa55" not in proc.stderr + proc.stdout
