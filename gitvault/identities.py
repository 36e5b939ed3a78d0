"""Finding the user's identities (private keys) in the order DESIGN §4 gives.

Order: ``--identity FILE``; ``GITVAULT_AGE_KEY`` (the key text itself, for CI);
``GITVAULT_AGE_KEY_FILE``; ``SOPS_AGE_KEY``; ``SOPS_AGE_KEY_FILE``; the config
directory (``gitvault/keys.txt``, then ``sops/age/keys.txt``); then
``~/.ssh/id_ed25519`` and ``~/.ssh/id_rsa``. An explicit ``--identity`` is the
only source used when given, so a command does exactly what it was told.

Secret key material is held only in pyrage objects and never formatted into a
message; :class:`Identity` reprs show the source and public key only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage

from gitvault.errors import BadInput
from gitvault.fsutil import read_input

MAX_IDENTITY_BYTES = 1024 * 1024
AGE_SECRET_PREFIX = "AGE-SECRET-KEY-1"  # noqa: S105 - a format prefix, not a secret


@dataclass(frozen=True)
class Identity:
    """One private key: where it came from, its public recipient, the pyrage object."""

    source: str
    recipient: str
    key: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class Identities:
    """Every identity found, plus the sources that were looked at (for error hints)."""

    items: tuple[Identity, ...]
    tried: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def keys(self) -> list[Any]:
        return [i.key for i in self.items]

    @property
    def recipients(self) -> list[str]:
        return [i.recipient for i in self.items]

    def describe_tried(self) -> list[str]:
        return list(self.tried)


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    return Path(base) if base else Path.home() / ".config"


def default_key_file() -> Path:
    return config_dir() / "gitvault" / "keys.txt"


def parse_age_keys(text: str, source: str) -> list[Identity]:
    """Identities from age key-file text (``AGE-SECRET-KEY-1…`` lines; ``#`` comments)."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.upper().startswith(AGE_SECRET_PREFIX):
            raise BadInput(f"{source}:{n}: not an age secret key line")
        try:
            ident = pyrage.x25519.Identity.from_str(line)
        except (pyrage.IdentityError, ValueError):
            raise BadInput(f"{source}:{n}: invalid age secret key") from None
        out.append(Identity(source, str(ident.to_public()), ident))
    return out


def _ssh_public(data: bytes) -> str:
    """The OpenSSH public key line of an unencrypted SSH private key."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_ssh_private_key(data, password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return public.decode()


def parse_identity_file(data: bytes, source: str) -> list[Identity]:
    """An age key file or an unencrypted OpenSSH/PEM private key."""
    text = data.decode("utf-8", "replace")
    if "PRIVATE KEY-----" in text:
        try:
            ident = pyrage.ssh.Identity.from_buffer(data)
            public = _ssh_public(data)
        except (pyrage.IdentityError, ValueError, TypeError) as exc:
            reason = (
                "it is passphrase-protected"
                if "encrypt" in str(exc).lower() or "password" in str(exc).lower()
                else "it could not be read"
            )
            raise BadInput(f"{source}: unusable SSH key ({reason})") from None
        if not public.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            raise BadInput(f"{source}: only ed25519 and rsa SSH keys can decrypt age files")
        return [Identity(source, public, ident)]
    return parse_age_keys(text, source)


def _candidates(explicit: Path | None) -> Iterator[tuple[str, str, bytes | None, Path | None]]:
    """(label, kind, inline bytes, path) for each source in order."""
    if explicit is not None:
        yield (str(explicit), "file", None, explicit)
        return
    for var in ("GITVAULT_AGE_KEY",):
        if os.environ.get(var):
            yield (var, "text", os.environ[var].encode(), None)
    if os.environ.get("GITVAULT_AGE_KEY_FILE"):
        yield ("GITVAULT_AGE_KEY_FILE", "file", None, Path(os.environ["GITVAULT_AGE_KEY_FILE"]))
    if os.environ.get("SOPS_AGE_KEY"):
        yield ("SOPS_AGE_KEY", "text", os.environ["SOPS_AGE_KEY"].encode(), None)
    if os.environ.get("SOPS_AGE_KEY_FILE"):
        yield ("SOPS_AGE_KEY_FILE", "file", None, Path(os.environ["SOPS_AGE_KEY_FILE"]))
    cfg = config_dir()
    yield (str(cfg / "gitvault" / "keys.txt"), "optional", None, cfg / "gitvault" / "keys.txt")
    yield (
        str(cfg / "sops" / "age" / "keys.txt"),
        "optional",
        None,
        cfg / "sops" / "age" / "keys.txt",
    )
    ssh = Path.home() / ".ssh"
    yield (str(ssh / "id_ed25519"), "optional", None, ssh / "id_ed25519")
    yield (str(ssh / "id_rsa"), "optional", None, ssh / "id_rsa")


def load_identities(explicit: Path | None = None, *, strict: bool = False) -> Identities:
    """Collect identities from every source that exists.

    A source named explicitly (``--identity`` or an environment variable)
    that is missing or unreadable is an error; the default locations are
    skipped quietly when absent. ``strict`` turns problems with default
    locations into errors too.
    """
    found: list[Identity] = []
    tried: list[str] = []
    problems: list[str] = []
    for label, kind, inline, path in _candidates(explicit):
        tried.append(label)
        if kind == "text":
            assert inline is not None
            found.extend(parse_identity_file(inline, label))
            continue
        assert path is not None
        if kind == "optional" and not path.is_file():
            continue
        # Capped like every input (an identity file is a few lines; a key file
        # pointed at /dev/zero must not exhaust memory); pipes stay allowed.
        try:
            data = read_input(path, limit=MAX_IDENTITY_BYTES)
        except BadInput as err:
            detail = err.message.removeprefix(f"{path}: ")
            raise BadInput(f"{label}: cannot read identity file ({detail})") from None
        try:
            found.extend(parse_identity_file(data, label))
        except BadInput as err:
            if kind != "optional" or strict:
                raise
            problems.append(err.message)
    return Identities(tuple(found), tuple(tried), tuple(problems))


def generate() -> tuple[str, str]:
    """A new age identity: (file text in age-keygen's format, public key)."""
    ident = pyrage.x25519.Identity.generate()
    public = str(ident.to_public())
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = f"# created: {created}\n# public key: {public}\n{ident}\n"
    return text, public
