"""Fixtures for the export tests: a real vault repository and the real ``gitvault``.

``vault(relpath, tree)`` encrypts a plain tree into a real SOPS file, to the
recipients the test policy names for that path (see ``realvault.py``);
``gv(ARGS…)`` runs ``python -m gitvault ARGS…`` as a real subprocess in the
vault (so exec, signals and file descriptors are real), with the ``ci-test``
identity in ``GITVAULT_AGE_KEY`` unless the test passes another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.export.realvault import AgeKey, make_keys, readers, write_policy, write_vault

REPO_ROOT = Path(__file__).resolve().parents[2]
Vault = Callable[..., Path]


@pytest.fixture(scope="session")
def keys() -> dict[str, AgeKey]:
    return make_keys()


@pytest.fixture
def vault_root(tmp_path: Path, keys: dict[str, AgeKey]) -> Path:
    """``tmp_path`` as a vault repository: the policy at its root."""
    write_policy(tmp_path, keys)
    return tmp_path


@pytest.fixture
def vault(vault_root: Path, keys: dict[str, AgeKey]) -> Vault:
    """``vault(relpath, tree, to=None)`` writes one vault file and returns its path.

    ``to`` names the recipients (key names) instead of the policy's.
    """

    def write(relpath: str, tree: Any, to: list[str] | None = None) -> Path:
        recipients = [keys[n].public for n in to] if to else readers(relpath, keys)
        return write_vault(vault_root / relpath, tree, recipients)

    return write


def gitvault_env(identity: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    if identity is not None:
        env["GITVAULT_AGE_KEY"] = identity
    env.update(extra or {})
    return env


@pytest.fixture
def gv(vault_root: Path, keys: dict[str, AgeKey]) -> Callable[..., Any]:
    """Run ``gitvault ARGS…`` as a subprocess in the vault (stdout/stderr captured).

    ``as_=NAME`` picks the identity (default ``ci-test``; ``None`` for none).
    """

    def run(
        *args: str, env: dict[str, str] | None = None, as_: str | None = "ci-test", **kwargs: Any
    ) -> subprocess.CompletedProcess[bytes]:
        identity = keys[as_].secret if as_ is not None else None
        return subprocess.run(
            [sys.executable, "-m", "gitvault", *args],
            cwd=vault_root,
            env=gitvault_env(identity, env),
            capture_output=True,
            check=False,
            **kwargs,
        )

    return run


@pytest.fixture
def start_gv(vault_root: Path, keys: dict[str, AgeKey]) -> Callable[..., Any]:
    """Start ``gitvault ARGS…`` without waiting (stdout piped), as ``ci-test``."""

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "gitvault", *args],
            cwd=vault_root,
            env=gitvault_env(keys["ci-test"].secret, env),
            stdout=subprocess.PIPE,
        )

    return start
