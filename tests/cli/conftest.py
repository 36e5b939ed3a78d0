"""A vault repository with one identity, a policy and one encrypted file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import git
from tests.helpers import run_cli


@dataclass(frozen=True)
class Vault:
    root: Path
    key_file: Path
    public: str
    secret_file: Path


@pytest.fixture
def vault(repo: Path, hermetic_env: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    r = run_cli(["keygen"])
    assert r.code == 0, r.output
    public = r.stdout.strip()
    key_file = hermetic_env / ".config" / "gitvault" / "keys.txt"
    r = run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo)
    assert r.code == 0, r.output
    (repo / "secrets").mkdir()
    secret = repo / "secrets" / "app.yaml"
    secret.write_text("db:\n    password: hunter2hunter2\n    port: 5432\napi_token: tok-abc-123\n")
    r = run_cli(["encrypt", str(secret), "--in-place"], cwd=repo)
    assert r.code == 0, r.output
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    monkeypatch.chdir(repo)
    return Vault(repo, key_file, public, secret)
