"""Commit signatures checked against signing keys *we* name, not the user's git config.

The policy lists SSH signing keys per recipient. :func:`allowed_signers`
turns them into an ssh ``allowed_signers`` file whose principals are the
recipients' policy names, and :func:`verify_signatures` asks git (``%G?``,
``%GS``, ``%GK``) with ``gpg.ssh.allowedSignersFile`` pointing at that file,
so a good signature by a listed key reports the recipient's name as signer
and a good signature by any other key reports ``U`` (not ours).

The file holds public keys only; it still goes into a private directory
(:func:`gitvault.fsutil.private_dir`) that is removed on every exit path, so
nothing is left behind in the work tree or the shared temp directory.

This module never reads blobs and never writes to the repository.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterable
from pathlib import Path

from gitvault.errors import GitError
from gitvault.git.log import SignatureState, git_env

_KEY = re.compile(r"((?:sk-)?(?:ssh|ecdsa)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]{20,}={0,3})(?: [^\n]*)?")
_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


def signing_key_line(principal: str, key: str) -> str | None:
    """One ``allowed_signers`` line, or None for a key or name we cannot use safely."""
    match = _KEY.fullmatch(key.strip())
    if match is None or _PRINCIPAL.fullmatch(principal) is None:
        return None
    return f'{principal} namespaces="git" {match.group(1)} {match.group(2)}'


def allowed_signers(entries: Iterable[tuple[str, str]]) -> str:
    """The text of an allowed-signers file for ``(principal, public key)`` pairs."""
    lines = [line for p, k in entries if (line := signing_key_line(p, k)) is not None]
    return "".join(line + "\n" for line in dict.fromkeys(lines))


def verify_signatures(
    root: Path, commit_ids: Iterable[str], allowed: str
) -> dict[str, SignatureState]:
    """Signature state of each commit, checked against ``allowed`` (one git process).

    Pass only signed commits where possible: git spawns ``ssh-keygen`` (or gpg)
    once per signed commit. Unsigned commits come back as ``N``.
    """
    from gitvault.fsutil import private_dir

    ids = list(dict.fromkeys(commit_ids))
    if not ids:
        return {}
    nonce = secrets.token_hex(8)
    fmt = f"%H%x1f{nonce}%G?%x1f{nonce}%GS%x1f{nonce}%GK%x1e{nonce}"
    with private_dir() as tmp:
        signers = tmp / "allowed_signers"
        signers.write_text(allowed, encoding="utf-8")
        try:
            proc = subprocess.run(
                [
                    "git",
                    "-C",
                    str(root),
                    "-c",
                    f"gpg.ssh.allowedSignersFile={signers}",
                    "-c",
                    "log.showSignature=false",
                    "log",
                    "--no-walk=unsorted",
                    "--stdin",
                    "--no-color",
                    f"--format={fmt}",
                ],
                input=("\n".join(ids) + "\n").encode(),
                capture_output=True,
                env=git_env(),
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        raise GitError(f"git log failed: {(lines[-1] if lines else 'no output')[:200]}")
    states: dict[str, SignatureState] = {}
    for chunk in proc.stdout.decode("utf-8", errors="replace").split(f"\x1e{nonce}"):
        parts = chunk.strip("\n").split(f"\x1f{nonce}")
        if len(parts) != 4:
            continue
        commit_id, code, signer, key = parts
        states[commit_id] = SignatureState(code=code or "N", signer=signer, key=key)
    return states
