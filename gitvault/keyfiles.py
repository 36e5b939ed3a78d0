"""Reading private keys from the places sops users keep them.

Everything here turns bytes (a key file, a variable, a command's output) into
:class:`~gitvault.identities.Identity` objects, or into a *note* saying why a
line was skipped. Three shapes are understood:

* age key files: ``AGE-SECRET-KEY-1…`` lines and ``#`` comments (several keys on
  one line for the ``*_AGE_KEY`` variables, as sops allows);
* OpenSSH / PEM private keys (ed25519, rsa), passphrase-protected or not;
* passphrase-protected age identity files (an age file, binary or armored,
  encrypted with ``age -p``), opened only when a file actually needs them.

Post-quantum ``AGE-SECRET-KEY-PQ-1…`` identities are read too
(:mod:`gitvault.crypto.pq`). A line gitvault cannot use (a plugin identity, a
damaged line) is skipped with a note rather than making every other key in the
file unusable. No message built here contains key material:
only sources, line numbers and kinds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pyrage

from gitvault.errors import AccessDenied, BadInput
from gitvault.records import field, record

AGE_SECRET_PREFIX = "AGE-SECRET-KEY-1"  # noqa: S105 - a format prefix, not a secret
PQ_SECRET_PREFIX = "AGE-SECRET-KEY-PQ-1"  # noqa: S105 - a format prefix, not a secret
PLUGIN_PREFIX = "AGE-PLUGIN-"
AGE_FILE_PREFIXES = (b"age-encryption.org/", b"-----BEGIN AGE ENCRYPTED FILE-----")
KEY_CMD_TIMEOUT = float(os.environ.get("GITVAULT_KEY_CMD_TIMEOUT", "120") or 120)


@record
class LazyIdentity:
    """A key that needs a passphrase: unlocked on first use, then kept in memory.

    ``recipient`` is known up front for SSH keys (the public half is stored in
    clear in the key file) and ``None`` for passphrase-protected age identity
    files, whose recipients are inside the encrypted part.
    """

    source: str
    recipient: str | None
    unlock: Callable[[], list[Any]] = field(repr=False)
    _keys: list[Any] | None = field(default=None, repr=False)

    def unlocked(self) -> list[Any]:
        """The unlocked pyrage identities (prompts for the passphrase the first time)."""
        if self._keys is None:
            self._keys = self.unlock()
        return self._keys


@record
class Parsed:
    """What one source yielded: usable keys (plain or lazy) and notes about skipped lines."""

    keys: list[tuple[str, Any]] = field(default_factory=list)  # (recipient or "", key)
    notes: list[str] = field(default_factory=list)


def parse_age_keys(text: str, source: str, *, words: bool = False) -> Parsed:
    """Identities from age key-file text; unusable lines become notes.

    ``words`` splits each line on whitespace (sops reads ``SOPS_AGE_KEY`` that
    way, so several keys can share one line).
    """
    out = Parsed()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for item in line.split() if words else [line]:
            _parse_age_line(item, f"{source}:{n}", out)
    return out


def _parse_age_line(item: str, where: str, out: Parsed) -> None:
    upper = item.upper()
    if upper.startswith(PQ_SECRET_PREFIX):
        from gitvault.crypto import pq

        try:
            ident = pq.parse_identity(item)
        except pq.PQKeyError:
            out.notes.append(f"{where}: line skipped (an invalid post-quantum age secret key)")
            return
        out.keys.append((ident.recipient, ident))
        return
    if upper.startswith(PLUGIN_PREFIX):
        out.notes.append(f"{where}: age plugin identity skipped (plugins are not supported)")
        return
    if not upper.startswith(AGE_SECRET_PREFIX):
        out.notes.append(f"{where}: line skipped (not an age secret key)")
        return
    try:
        ident = pyrage.x25519.Identity.from_str(item)
    except (pyrage.IdentityError, ValueError):
        out.notes.append(f"{where}: line skipped (an invalid age secret key)")
        return
    out.keys.append((str(ident.to_public()), ident))


def ssh_public(private: Any) -> str:
    """The OpenSSH public key line of a loaded private key (for matching stanzas)."""
    from cryptography.hazmat.primitives import serialization

    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return str(public.decode())


def _load_ssh(data: bytes, password: bytes | None) -> Any:
    from cryptography.hazmat.primitives import serialization

    if b"BEGIN OPENSSH PRIVATE KEY" in data:
        return serialization.load_ssh_private_key(data, password=password)
    return serialization.load_pem_private_key(data, password=password)


def _ssh_identity(private: Any, source: str) -> Any:
    """A pyrage SSH identity from a loaded key, handed over unencrypted in memory only."""
    from cryptography.hazmat.primitives import serialization

    clear = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    try:
        return pyrage.ssh.Identity.from_buffer(clear)
    except (pyrage.IdentityError, ValueError, TypeError):
        raise BadInput(f"{source}: unusable SSH key (it could not be read)") from None


def parse_ssh_key(data: bytes, source: str, ask: Callable[[str, str], str]) -> Parsed:
    """An ed25519 or rsa SSH private key; a protected one is unlocked on first use."""
    try:
        private = _load_ssh(data, None)
    except TypeError:
        # Protected: the public half is readable without the passphrase only in
        # the OpenSSH format; for PEM the recipient stays unknown until unlocked.
        recipient = _protected_ssh_public(data)

        def unlock() -> list[Any]:
            secret = ask("SSH key", source)
            from cryptography.exceptions import UnsupportedAlgorithm

            try:
                key = _load_ssh(data, secret.encode())
            except (ValueError, TypeError):
                raise AccessDenied(f"{source}: wrong passphrase for this SSH key") from None
            except UnsupportedAlgorithm:
                raise BadInput(
                    f"{source}: this SSH key's encryption is not supported here",
                    hint="protected OpenSSH keys need the bcrypt package (pip install bcrypt)",
                ) from None
            return [_ssh_identity(key, source)]

        return Parsed(keys=[(recipient or "", LazyIdentity(source, recipient, unlock))])
    except Exception:  # any parse failure is the same one message
        raise BadInput(f"{source}: unusable SSH key (it could not be read)") from None
    public = ssh_public(private)
    if not public.startswith(("ssh-ed25519 ", "ssh-rsa ")):
        raise BadInput(f"{source}: only ed25519 and rsa SSH keys can decrypt age files")
    return Parsed(keys=[(public, _ssh_identity(private, source))])


def _protected_ssh_public(data: bytes) -> str | None:
    """The clear public key stored in an OpenSSH private key file, if it is one.

    The ``openssh-key-v1`` container keeps the public key outside the encrypted
    section, which lets gitvault ask for a passphrase only when a file really
    has a stanza for that key.
    """
    import base64
    import struct

    text = data.decode("ascii", "replace")
    if "BEGIN OPENSSH PRIVATE KEY" not in text:
        return None
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        raw = base64.b64decode(body, validate=False)
        magic = b"openssh-key-v1\x00"
        if not raw.startswith(magic):
            return None
        pos = len(magic)
        for _ in range(3):  # cipher, kdf, kdf options
            (size,) = struct.unpack(">I", raw[pos : pos + 4])
            pos += 4 + size
        pos += 4  # number of keys
        (size,) = struct.unpack(">I", raw[pos : pos + 4])
        blob = raw[pos + 4 : pos + 4 + size]
        (tlen,) = struct.unpack(">I", blob[:4])
        kind = blob[4 : 4 + tlen].decode("ascii")
    except (ValueError, struct.error, UnicodeDecodeError):
        return None
    if kind not in ("ssh-ed25519", "ssh-rsa"):
        return None
    return f"{kind} {base64.b64encode(blob).decode('ascii')}"


def parse_encrypted_identity(data: bytes, source: str, ask: Callable[[str, str], str]) -> Parsed:
    """A passphrase-protected age identity file (``age -p keys.txt``), unlocked on first use."""

    def unlock() -> list[Any]:
        secret = ask("age identity file", source)
        try:
            clear = pyrage.passphrase.decrypt(data, secret)
        except pyrage.DecryptError:
            raise AccessDenied(
                f"{source}: wrong passphrase, or not a passphrase-protected identity file"
            ) from None
        inner = parse_age_keys(clear.decode("utf-8", "replace"), source)
        return [key for _recipient, key in inner.keys]

    return Parsed(keys=[("", LazyIdentity(source, None, unlock))])


def parse_identity_bytes(
    data: bytes, source: str, ask: Callable[[str, str], str], *, words: bool = False
) -> Parsed:
    """Any identity source: an age key list, an SSH key, or an encrypted age identity file."""
    head = data.lstrip()[:64]
    if head.startswith(AGE_FILE_PREFIXES):
        return parse_encrypted_identity(data, source, ask)
    if b"PRIVATE KEY-----" in data[:4096]:
        return parse_ssh_key(data, source, ask)
    return parse_age_keys(data.decode("utf-8", "replace"), source, words=words)


def run_key_command(command: str, label: str, limit: int) -> bytes:
    """The stdout of a key command (``SOPS_AGE_KEY_CMD`` and friends), capped.

    Split like a shell would but run without one (as sops does). stdin and
    stderr stay the user's, so a password manager can prompt; stdout is read in
    full and never shown, whatever happens.
    """
    # Imported here: only a *_CMD variable needs them (~3 ms off every decrypt).
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError:
        raise BadInput(f"{label}: the command cannot be parsed (unbalanced quotes)") from None
    if not argv:
        raise BadInput(f"{label}: the command is empty")
    try:
        # The user's own configured command, as sops runs it.
        proc = subprocess.run(argv, stdout=subprocess.PIPE, timeout=KEY_CMD_TIMEOUT, check=False)
    except FileNotFoundError:
        raise BadInput(f"{label}: command not found: {argv[0]}") from None
    except PermissionError:
        raise BadInput(f"{label}: command not executable: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise BadInput(f"{label}: the command did not finish in {KEY_CMD_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise BadInput(f"{label}: the command failed (exit {proc.returncode})")
    if len(proc.stdout) > limit:
        raise BadInput(f"{label}: the command printed more than {limit} bytes")
    return proc.stdout
