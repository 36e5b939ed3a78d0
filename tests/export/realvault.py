"""Real vault repositories for the export and CI tests: age keys, a policy, encrypted files.

Everything here goes through gitvault's own format code (``encrypt_new``) and
the real age implementation (pyrage); nothing is faked. A test vault has:

* identities ``alice`` (group ``ops``), ``ci-test``, ``ci-dev`` and
  ``ci-production``, and ``outsider`` (a key the policy does not know);
* rules: ``secrets/production/**`` -> ops + ci-production,
  ``secrets/development/**`` -> ops + ci-dev, any other ``*.yaml`` -> ops + ci-test.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage

from gitvault.model import from_python
from gitvault.sops.file import encrypt_new

NAMES = ("alice", "ci-test", "ci-dev", "ci-production", "outsider")
POLICY = """\
version: 1
recipients:
  alice: {alice}
  ci-test: {ci-test}
  ci-dev: {ci-dev}
  ci-production: {ci-production}
groups:
  ops: [alice]
rules:
  - path: "secrets/production/**"
    recipients: [ops, ci-production]
  - path: "secrets/development/**"
    recipients: [ops, ci-dev]
  - path: "**/*.yaml"
    recipients: [ops, ci-test]
"""
_ENC_DATA = re.compile(rb"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),")


@dataclass(frozen=True)
class AgeKey:
    name: str
    secret: str
    public: str


def make_keys() -> dict[str, AgeKey]:
    """A fresh age identity for every name in :data:`NAMES`."""
    keys = {}
    for name in NAMES:
        ident = pyrage.x25519.Identity.generate()
        keys[name] = AgeKey(name, str(ident), str(ident.to_public()))
    return keys


def write_policy(root: Path, keys: dict[str, AgeKey]) -> Path:
    path = root / ".gitvault.yaml"
    text = POLICY
    for name, key in keys.items():
        text = text.replace("{" + name + "}", key.public)
    path.write_text(text)
    return path


def readers(relpath: str, keys: dict[str, AgeKey]) -> list[str]:
    """The public keys the policy above wants for ``relpath``."""
    if relpath.startswith("secrets/production/"):
        return [keys["alice"].public, keys["ci-production"].public]
    if relpath.startswith("secrets/development/"):
        return [keys["alice"].public, keys["ci-dev"].public]
    return [keys["alice"].public, keys["ci-test"].public]


def write_vault(path: Path, tree: Any, recipients: list[str]) -> Path:
    """Encrypt a plain tree (one document, or a list of documents) to ``recipients``."""
    documents = tree if isinstance(tree, list) else [tree]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encrypt_new([from_python(d) for d in documents], recipients))
    return path


def tamper(path: Path) -> None:
    """Flip one bit of the first encrypted value's ciphertext (still valid base64)."""
    data = path.read_bytes()
    match = _ENC_DATA.search(data)
    assert match is not None, f"{path} has no encrypted value"
    raw = bytearray(base64.b64decode(match.group(1)))
    raw[0] ^= 0x01
    new = base64.b64encode(bytes(raw))
    path.write_bytes(data[: match.start(1)] + new + data[match.end(1) :])
