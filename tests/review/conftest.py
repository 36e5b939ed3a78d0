"""Real vault repositories with history for ``review`` and ``verify``'s freshness checks.

``vault`` (tests/cli) is a repository with one identity (alice), the starter
policy and ``secrets/app.yaml`` committed on ``main``. ``signed_vault`` adds an
SSH signing key for alice, lists it in the policy (``signing_keys``, with her
email) in a signed commit, and signs every later commit (``gpg.format=ssh``,
``commit.gpgsign=true``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Vault, vault  # noqa: F401 - fixture re-export
from tests.conftest import git
from tests.helpers import run_cli

F = "secrets/app.yaml"
# Every value the vault fixture stores, and those the tests write: none may show up.
VALUES = ["hunter2hunter2", "tok-abc-123"]
EMAIL = "test@example.invalid"  # the hermetic git user's email (tests/conftest.py)


@dataclass(frozen=True)
class Signed:
    vault: Vault
    key: Path  # private key file
    public: str
    policy_commit: str


def head(root: Path, rev: str = "HEAD") -> str:
    return git(root, "rev-parse", rev).stdout.strip()


def commit_all(root: Path, message: str, *args: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, *args)
    return head(root)


def review_json(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    r = run_cli(["review", *args, "--format", "json"], cwd=root)
    assert r.code in (0, 1), r.output
    return r.code, json.loads(r.stdout), r.stderr


def assert_no_values(values: list[str], *texts: str) -> None:
    for v in values:
        assert len(v) >= 8, "too short to grep for safely"
        for text in texts:
            assert v not in text, "a secret value leaked into the output"


def ssh_key(directory: Path, name: str) -> tuple[Path, str]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (package openssh-client)")
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key, key.with_suffix(".pub").read_text().strip()


def set_recipient(root: Path, name: str, fields: dict[str, Any]) -> None:
    """Rewrite ``recipients.NAME`` of the policy as a mapping with ``fields``."""
    policy = root / ".gitvault.yaml"
    lines = policy.read_text().splitlines()
    out = []
    in_entry = False
    for line in lines:
        if in_entry and line.startswith("    "):
            continue  # the old mapping form of the entry (init records key and e-mail)
        in_entry = False
        if line.startswith(f"  {name}:"):
            in_entry = True
            out.append(f"  {name}:")
            for k, v in fields.items():
                out.append(f"    {k}: {json.dumps(v)}")
        else:
            out.append(line)
    policy.write_text("\n".join(out) + "\n")


@pytest.fixture
def signed_vault(vault: Vault, tmp_path: Path) -> Signed:  # noqa: F811
    key, public = ssh_key(tmp_path, "alice_signing")
    root = vault.root
    git(root, "config", "gpg.format", "ssh")
    git(root, "config", "user.signingkey", str(key))
    git(root, "config", "commit.gpgsign", "true")
    set_recipient(root, "alice", {"key": vault.public, "email": EMAIL, "signing_keys": [public]})
    policy_commit = commit_all(root, "list alice's signing key")
    return Signed(vault, key, public, policy_commit)
