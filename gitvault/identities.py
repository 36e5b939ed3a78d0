"""Finding the user's identities (private keys) in the order DESIGN §4 gives.

Order: ``--identity FILE``; ``GITVAULT_AGE_KEY`` (the key text itself, for CI);
``GITVAULT_AGE_KEY_FILE``; ``GITVAULT_AGE_KEY_CMD``; ``SOPS_AGE_KEY``;
``SOPS_AGE_KEY_FILE``; ``SOPS_AGE_KEY_CMD``; ``SOPS_AGE_SSH_PRIVATE_KEY_FILE``;
``SOPS_AGE_SSH_PRIVATE_KEY_CMD``; the config directory (``gitvault/keys.txt``,
then ``sops/age/keys.txt``); then ``~/.ssh/id_ed25519`` and ``~/.ssh/id_rsa``.
An explicit ``--identity`` is the only source used when given, so a command
does exactly what it was told. ``*_CMD`` variables name a command (split like a
shell would, run without one) whose output is the key text: a password manager.

Passphrase-protected keys (``age -p`` identity files, encrypted SSH keys) are
unlocked on first use, by a prompt on the terminal; without one the error says
so. Lines gitvault cannot use are skipped with a note on stderr.

Secret key material is held only in pyrage objects and never formatted into a
message; :class:`Identity` reprs show the source and public key only.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitvault.errors import AccessDenied, BadInput
from gitvault.fsutil import read_input
from gitvault.keyfiles import AGE_SECRET_PREFIX, LazyIdentity, Parsed, parse_identity_bytes
from gitvault.records import field, record

MAX_IDENTITY_BYTES = 1024 * 1024
# Every variable that names or holds a private key: withheld from the commands
# gitvault runs for others (exec children, rotation apply/verify commands).
IDENTITY_VARIABLES = (
    "GITVAULT_AGE_KEY",
    "GITVAULT_AGE_KEY_FILE",
    "GITVAULT_AGE_KEY_CMD",
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
)
__all__ = ["AGE_SECRET_PREFIX", "Identities", "Identity", "LazyIdentity", "load_identities"]


@record(frozen=True)
class Identity:
    """One private key: where it came from, its public recipient, the key object.

    ``key`` is a pyrage identity, or a :class:`LazyIdentity` that asks for its
    passphrase when a file first needs it (``recipient`` is then "" when the
    public key cannot be known before unlocking).
    """

    source: str
    recipient: str
    key: Any = field(repr=False, compare=False)


@record(frozen=True)
class Identities:
    """Every identity found, the sources that were looked at, and notes on skipped lines."""

    items: tuple[Identity, ...]
    tried: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def keys(self) -> list[Any]:
        return [i.key for i in self.items]

    @property
    def recipients(self) -> list[str]:
        return [i.recipient for i in self.items if i.recipient]

    def describe_tried(self) -> list[str]:
        return list(self.tried)


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    return Path(base) if base else Path.home() / ".config"


def default_key_file() -> Path:
    return config_dir() / "gitvault" / "keys.txt"


# (label, kind, path-or-command-or-text): kinds are "text" (the key itself in a
# variable), "words" (same, several keys per line), "file", "cmd" and
# "optional" (a default location, skipped quietly when absent).
Candidate = tuple[str, str, str]


def _candidates(explicit: Path | None) -> Iterator[Candidate]:
    """Each identity source in order (see the module docstring)."""
    if explicit is not None:
        yield (str(explicit), "file", str(explicit))
        return
    env = os.environ
    for prefix in ("GITVAULT", "SOPS"):
        if env.get(f"{prefix}_AGE_KEY"):
            yield (f"{prefix}_AGE_KEY", "words", env[f"{prefix}_AGE_KEY"])
        if env.get(f"{prefix}_AGE_KEY_FILE"):
            yield (f"{prefix}_AGE_KEY_FILE", "file", env[f"{prefix}_AGE_KEY_FILE"])
        if env.get(f"{prefix}_AGE_KEY_CMD"):
            yield (f"{prefix}_AGE_KEY_CMD", "cmd", env[f"{prefix}_AGE_KEY_CMD"])
    if env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        yield ("SOPS_AGE_SSH_PRIVATE_KEY_FILE", "file", env["SOPS_AGE_SSH_PRIVATE_KEY_FILE"])
    if env.get("SOPS_AGE_SSH_PRIVATE_KEY_CMD"):
        yield ("SOPS_AGE_SSH_PRIVATE_KEY_CMD", "cmd", env["SOPS_AGE_SSH_PRIVATE_KEY_CMD"])
    cfg = config_dir()
    for default in (
        cfg / "gitvault" / "keys.txt",
        cfg / "sops" / "age" / "keys.txt",
        Path.home() / ".ssh" / "id_ed25519",
        Path.home() / ".ssh" / "id_rsa",
    ):
        yield (str(default), "optional", str(default))


def ask_passphrase(what: str, source: str) -> str:
    """Ask on the controlling terminal for the passphrase of ``what`` found at ``source``.

    The prompt goes to the terminal, never to stdout (which may be a pipe
    carrying decrypted output), and the answer is never echoed. Without a
    terminal the error says what to do in a script instead.
    """
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise AccessDenied(
            f"{source}: the {what} is passphrase-protected and there is no terminal"
            " to ask for the passphrase",
            hint="run it in a terminal, or let a password manager print the key:"
            " GITVAULT_AGE_KEY_CMD / SOPS_AGE_KEY_CMD",
        ) from None
    import getpass

    # getpass reads from /dev/tty with echo off (checked above that it opens, so
    # it never falls back to reading stdin, which may carry other input).
    return getpass.getpass(f"gitvault: passphrase for the {what} {source}: ")


def _read_source(kind: str, label: str, where: str) -> bytes:
    if kind in ("text", "words"):
        return where.encode()
    if kind == "cmd":
        from gitvault.keyfiles import run_key_command

        return run_key_command(where, label, MAX_IDENTITY_BYTES)
    path = Path(where)
    # Capped like every input (an identity file is a few lines; a key file
    # pointed at /dev/zero must not exhaust memory); pipes stay allowed.
    try:
        return read_input(path, limit=MAX_IDENTITY_BYTES)
    except BadInput as err:
        detail = err.message.removeprefix(f"{path}: ")
        raise BadInput(f"{label}: cannot read identity file ({detail})") from None


def _note(text: str) -> None:
    """A skipped line is worth a line on stderr: the user expected that key to work."""
    from gitvault.safetext import printable_lines

    sys.stderr.write(f"gitvault: note: {printable_lines(text)}\n")


def load_identities(
    explicit: Path | None = None, *, strict: bool = False, quiet: bool = False
) -> Identities:
    """Collect identities from every source that exists.

    A source named explicitly (``--identity`` or an environment variable)
    that is missing, unreadable or fails (a key command) is an error; the
    default locations are skipped quietly when absent. ``strict`` turns
    problems with default locations into errors too. Lines that hold no
    usable key are skipped with a note on stderr (``quiet`` keeps them only in
    :attr:`Identities.problems`); a source that yields no key at all after
    skipping is an error when it was named explicitly.
    """
    found: list[Identity] = []
    tried: list[str] = []
    problems: list[str] = []
    for label, kind, where in _candidates(explicit):
        if kind == "optional" and not Path(where).is_file():
            continue
        tried.append(label)
        try:
            data = _read_source(kind, label, where)
            parsed = parse_identity_bytes(data, label, ask_passphrase, words=kind == "words")
        except BadInput as err:
            if kind != "optional" or strict:
                raise
            problems.append(err.message)
            continue
        _collect(parsed, label, found, problems, quiet=quiet)
        if not parsed.keys and parsed.notes and kind != "optional":
            raise BadInput(f"{label}: no usable identity in it", hint=parsed.notes[0])
    return Identities(tuple(found), tuple(tried), tuple(problems))


def _collect(
    parsed: Parsed, label: str, found: list[Identity], problems: list[str], *, quiet: bool
) -> None:
    for recipient, key in parsed.keys:
        found.append(Identity(label, recipient, key))
    for text in parsed.notes:
        problems.append(text)
        if not quiet:
            _note(text)


def generate(*, pq: bool = False) -> tuple[str, str]:
    """A new age identity: (file text in age-keygen's format, public key).

    ``pq`` makes a post-quantum hybrid identity (``AGE-SECRET-KEY-PQ-1…``), as
    ``age-keygen -pq`` does: a random 32-byte X-Wing seed.
    """
    if pq:
        from gitvault.crypto import pq as hybrid

        secret = hybrid.bech32_encode(hybrid.IDENTITY_HRP, os.urandom(32)).upper()
        public = hybrid.parse_identity(secret).recipient
    else:
        import pyrage

        ident = pyrage.x25519.Identity.generate()
        secret, public = str(ident), str(ident.to_public())
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"# created: {created}\n# public key: {public}\n{secret}\n", public
