"""Shared fixtures: every test runs hermetically.

Each test gets its own HOME, an isolated git configuration (no system or user
config leaks in), no identity variables from the developer's shell, and no
editor. Tests that need an identity or a repository ask for the fixtures below.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

_IDENTITY_VARS = (
    "GITVAULT_AGE_KEY",
    "GITVAULT_AGE_KEY_FILE",
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "GITVAULT_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
    "GITVAULT_KEY_CMD_TIMEOUT",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_RECIPIENTS",
    "VISUAL",
    "EDITOR",
    "GITHUB_ACTIONS",
    "GITVAULT_DEBUG",
    "XDG_CONFIG_HOME",
)


@pytest.fixture(autouse=True)
def hermetic_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A private HOME and git config for every test."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_AUTHOR_DATE", "")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for var in _IDENTITY_VARS:
        monkeypatch.delenv(var, raising=False)
    yield home


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run real git in ``cwd`` and return the completed process."""
    return subprocess.run(["git", *args], cwd=cwd, check=check, text=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository (branch ``main``) in a temporary directory."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    return path


# CI runs hypothesis with a fixed seed so a run is reproducible; developers get
# fresh random examples each time.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
_hyp_settings.register_profile("dev", deadline=None)
_hyp_settings.load_profile("ci" if os.environ.get("CI") else "dev")
