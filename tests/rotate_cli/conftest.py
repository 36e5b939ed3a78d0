"""Fixtures for rotation and committing commands on real repositories.

Re-exports the ``vault`` fixture (tests/cli) and the throwaway PostgreSQL
server (tests/rotate), and adds helpers to snapshot a repository, write a
policy with per-key rotation settings, make shell scripts outside the work
tree, and check that no value ever shows up anywhere.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import Vault, vault  # noqa: F401 - fixture re-export
from tests.conftest import git
from tests.helpers import run_cli
from tests.rotate.conftest import pg_role, postgres  # noqa: F401 - fixture re-export

F = "secrets/app.yaml"
OLD_PASSWORD = "hunter2hunter2"  # what the vault fixture stores in db.password
OLD_TOKEN = "tok-abc-123"


@dataclass(frozen=True)
class Snapshot:
    head: str
    status: str
    index: str
    files: dict[str, bytes]


def snapshot(root: Path) -> Snapshot:
    """HEAD, `git status --porcelain`, the index and every file under secrets/."""
    return Snapshot(
        head=git(root, "rev-parse", "HEAD").stdout.strip(),
        status=git(root, "status", "--porcelain").stdout,
        index=git(root, "ls-files", "-s").stdout,
        files={
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "secrets").rglob("*"))
            if p.is_file()
        },
    )


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").stdout.strip()


def message(root: Path, rev: str = "HEAD") -> str:
    return git(root, "log", "-1", "--format=%B", rev).stdout


def all_messages(root: Path) -> str:
    return git(root, "log", "--all", "--format=%B").stdout


def parsed_trailers(root: Path, rev: str = "HEAD") -> list[tuple[str, str]]:
    """The commit's trailers as real git parses them (`git interpret-trailers --parse`)."""
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message(root, rev),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(line.split(": ", 1)) for line in out.splitlines()]  # type: ignore[misc]


def value(root: Path, key: str, rev: str | None = None, path: str = F) -> str:
    args = ["decrypt", str(root / path), "--extract", key]
    if rev:
        args += ["--rev", rev]
    r = run_cli(args, cwd=root)
    assert r.code == 0, r.output
    return r.stdout


def set_policy(root: Path, extra: str, *, commit: bool = True) -> None:
    """Append ``extra`` (YAML lines under the ``secrets/**`` rule) to the starter policy."""
    policy = root / ".gitvault.yaml"
    policy.write_text(policy.read_text().rstrip("\n") + "\n" + extra.strip("\n") + "\n")
    if commit:
        git(root, "add", ".gitvault.yaml")
        git(root, "commit", "-q", "-m", "policy")


def script(directory: Path, name: str, body: str) -> str:
    """An executable sh script outside the work tree; returns its path."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body.strip("\n") + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def assert_no_values(values: list[str], *texts: str) -> None:
    for v in values:
        assert v, "empty value in the check list"
        for text in texts:
            assert v not in text, "a secret value leaked"


def shallow_clone(source: Path, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{source}", str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    d = tmp_path / "scripts"
    d.mkdir()
    return d


@pytest.fixture
def ssh_signing(vault: Vault, tmp_path: Path) -> Path:  # noqa: F811
    """Sign every commit in the vault repository with a fresh SSH key."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (package openssh-client)")
    key = tmp_path / "signing_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester", "-f", str(key)],
        check=True,
    )
    public = key.with_suffix(".pub").read_text().strip()
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"test@example.invalid {public}\n")
    root = vault.root
    git(root, "config", "gpg.format", "ssh")
    git(root, "config", "user.signingkey", str(key.with_suffix(".pub")))
    git(root, "config", "commit.gpgsign", "true")
    git(root, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    return allowed
