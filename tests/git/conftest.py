"""Helpers for git tests: vault-looking files and quick commits with real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git


def fake_vault(values: dict[str, str], mac: str = "ENC[AES256_GCM,data:bWFj,type:str]") -> bytes:
    """Bytes shaped like a SOPS file; the "values" stand in for ciphertext."""
    lines = [f"{key}: ENC[AES256_GCM,data:{value},type:str]" for key, value in values.items()]
    lines += [
        "sops:",
        '    lastmodified: "2024-01-01T00:00:00Z"',
        f"    mac: {mac}",
        "    version: 3.9.0",
    ]
    return ("\n".join(lines) + "\n").encode()


def write_commit(repo: Path, files: dict[str, bytes | None], message: str = "change") -> str:
    """Write (or delete, for None) files, stage them, commit; return the commit id."""
    for rel, data in files.items():
        path = repo / rel
        if data is None:
            git(repo, "rm", "-q", "--", rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        git(repo, "add", "--", rel)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def history_repo(repo: Path) -> Path:
    """Three commits on two vault files, tagged v1 at the first."""
    write_commit(repo, {"secrets/a.yaml": fake_vault({"k": "one"})}, "add a")
    git(repo, "tag", "v1")
    write_commit(repo, {"secrets/b.yaml": fake_vault({"k": "b1"}), "README": b"x\n"}, "add b")
    write_commit(repo, {"secrets/a.yaml": fake_vault({"k": "two"})}, "rotate a")
    return repo
