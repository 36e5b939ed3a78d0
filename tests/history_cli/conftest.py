"""Fixtures for `log`, `due` and grace periods on real repositories with back-dated history.

Dates: git takes the author and committer dates of a commit from
``GIT_AUTHOR_DATE``/``GIT_COMMITTER_DATE``; :func:`at` returns that environment
for "N days ago", and gitvault's own commits honour it too (they run the real
``git commit``), so overdue keys need no fake clock.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Vault, vault  # noqa: F401 - fixture re-export
from tests.rotate_cli.conftest import ssh_signing  # noqa: F401 - fixture re-export

DAY = 86400


def at(days_ago: float) -> dict[str, str]:
    """Environment that dates a commit ``days_ago`` days in the past."""
    stamp = f"@{int(time.time() - days_ago * DAY)} +0000"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def git_at(root: Path, days_ago: float, *args: str) -> str:
    env = {**os.environ, **at(days_ago)}
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def commit_all(root: Path, subject: str, days_ago: float = 0, body: str = "") -> str:
    git_at(root, days_ago, "add", "-A")
    text = subject + (f"\n\n{body}" if body else "")
    git_at(root, days_ago, "commit", "-q", "-m", text)
    return git_at(root, 0, "rev-parse", "HEAD").strip()


@pytest.fixture
def old_vault(vault: Vault) -> Vault:  # noqa: F811
    """The vault fixture with its initial commit dated 200 days ago."""
    git_at(vault.root, 200, "commit", "-q", "--amend", "--no-edit", "--reset-author")
    return vault
