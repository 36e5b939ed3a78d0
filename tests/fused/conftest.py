"""Fixtures for the fused-pass tests: a real age identity, a vault folder, fixed randomness."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from gitvault.crypto import envelope
from gitvault.identities import load_identities
from gitvault.sops import file as sopsfile


@dataclass(frozen=True)
class Vault:
    root: Path
    public: str
    keys: list[object]


@pytest.fixture
def vault_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    """A vault root (policy: one reader for every path) and that reader's identity in the env."""
    ident = pyrage.x25519.Identity.generate()
    public = str(ident.to_public())
    keyfile = tmp_path / "key.txt"
    keyfile.write_text(f"{ident}\n")
    monkeypatch.setenv("GITVAULT_AGE_KEY_FILE", str(keyfile))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    root = tmp_path / "vault"
    root.mkdir()
    (root / ".gitvault.yaml").write_text(
        f'version: 1\nrecipients:\n  alice: {public}\nrules:\n  - path: "**"\n    recipients: [alice]\n'
    )
    monkeypatch.chdir(root)
    return Vault(root, public, load_identities(None).keys)


class Fixed:
    """Deterministic os.urandom and clock (and age wrapping on demand), restartable."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rng = random.Random(0)
        monkeypatch.setattr(os, "urandom", lambda n: self.rng.randbytes(n))
        monkeypatch.setattr(sopsfile, "now_rfc3339", lambda: "2026-01-02T03:04:05Z")
        self.monkeypatch = monkeypatch

    def fake_age(self) -> None:
        """Fixed age stanzas too (pyrage draws its own randomness): files no one can open."""
        armor = "-----BEGIN AGE ENCRYPTED FILE-----\nZml4ZWQ=\n-----END AGE ENCRYPTED FILE-----\n"
        self.monkeypatch.setattr(envelope, "wrap_all", lambda key, rs: [(r, armor) for r in rs])

    def restart(self) -> None:
        self.rng = random.Random(0)


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fixed]:
    yield Fixed(monkeypatch)
