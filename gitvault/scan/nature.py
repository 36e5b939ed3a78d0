"""Files that are plaintext secrets by their nature, whatever their content.

A ``.env`` file, an SSH private key, an age identity or a decrypted copy of a
vault file should never be committed: the pre-commit hook blocks them by name
before looking at a single line. Pure function of the path; it never reads
the file.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

RULE_ID = "plaintext-file"

# `.env` and `.env.*`, except committed templates.
_ENV = re.compile(r"\.env(?:\..+)?")
_ENV_TEMPLATES = frozenset({"example", "sample", "template", "dist", "defaults"})
_SSH_KEYS = re.compile(r"id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?")
_KEY_SUFFIXES = frozenset({".key", ".p12", ".pfx", ".ppk", ".jks", ".keystore", ".agekey"})
_DECRYPTED = re.compile(
    r".+\.(?:dec|decrypted)\.(?:ya?ml|json|env|ini|toml|txt)|.+\.(?:dec|decrypted)"
)


def plaintext_by_nature(path: str) -> tuple[str, str] | None:
    """``(what, how to fix)`` when ``path`` names a plaintext secret file, else None."""
    p = PurePosixPath(path)
    name = p.name
    lowered = name.lower()
    if _ENV.fullmatch(lowered):
        suffix = lowered[len(".env.") :] if lowered.startswith(".env.") else ""
        if suffix in _ENV_TEMPLATES:
            return None
        return (
            "dotenv file of plaintext values",
            f"keep it out of git (git rm --cached {path}; add it to .gitignore); put the "
            "values in a vault file and use `gitvault export --format dotenv`",
        )
    if _SSH_KEYS.fullmatch(lowered) or p.suffix.lower() in _KEY_SUFFIXES:
        return (
            "private key file",
            f"keep it out of git (git rm --cached {path}); store it in a vault file",
        )
    if lowered == "keys.txt" and any(part in ("age", ".age", "sops") for part in p.parts[:-1]):
        return (
            "age identity file",
            f"keep identities out of git (git rm --cached {path}); recipients go in .gitvault.yaml",
        )
    if _DECRYPTED.fullmatch(lowered):
        return (
            "decrypted copy of a vault file",
            f"delete it (git rm --cached {path}); edit vault files with `gitvault edit`",
        )
    return None
