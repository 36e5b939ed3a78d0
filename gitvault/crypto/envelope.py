"""The data-key envelope: one armored age file per recipient, as SOPS writes it.

Recipients are age X25519 (``age1…``), post-quantum hybrid (``age1pq1…``) or SSH
(``ssh-ed25519``, ``ssh-rsa``) public keys. X25519 and SSH go through pyrage (the
Rust ``age`` crate); the post-quantum type, which pyrage lacks, through
:mod:`gitvault.crypto.pq` (cryptography's HPKE with X-Wing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyrage

from gitvault.errors import BadInput, IntegrityError

ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"


def parse_recipient(text: str) -> Any:
    """A pyrage recipient object for an ``age1…`` or ``ssh-…`` public key string."""
    text = text.strip()
    if text.startswith("age1pq1"):
        from gitvault.crypto import pq

        try:
            return pq.parse_recipient(text)
        except pq.PQKeyError as exc:
            raise BadInput(f"invalid recipient {short_recipient(text)}: {exc}") from None
    try:
        if text.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(text)
        if text.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return pyrage.ssh.Recipient.from_str(text)
    except (pyrage.RecipientError, ValueError) as exc:
        raise BadInput(f"invalid recipient {short_recipient(text)}: {exc}") from None
    raise BadInput(
        f"unsupported recipient {short_recipient(text)}",
        hint="use an age key (age1…, age1pq1…) or an ssh-ed25519 / ssh-rsa public key",
    )


def short_recipient(text: str) -> str:
    """A recipient shortened for messages: public keys are not secret, just long.

    Recipients are read from files anyone can write, so control characters are
    escaped (:func:`gitvault.safetext.printable`) before anything is printed.
    """
    from gitvault.safetext import printable

    text = text.strip()
    if text.startswith("ssh-"):
        parts = text.split()
        body = parts[1] if len(parts) > 1 else ""
        short = f"{parts[0]} …{body[-12:]}" + (f" {parts[2][:40]}" if len(parts) > 2 else "")
        return printable(short)
    return printable(text if len(text) <= 24 else f"{text[:12]}…{text[-8:]}")


def wrap(data_key: bytes, recipient: str) -> str:
    """Encrypt the data key to one recipient; return the armored age file as text."""
    if recipient.strip().startswith("age1pq1"):
        from gitvault.crypto import pq

        parse_recipient(recipient)  # one clear error for a bad key
        return pq.encrypt(data_key, recipient.strip()).decode("ascii")
    armored: bytes = pyrage.encrypt(data_key, [parse_recipient(recipient)], armored=True)
    text = armored.decode("ascii")
    return text if text.endswith("\n") else text + "\n"


class MalformedStanza(Exception):
    """An age stanza that is not a well-formed age file (tampered or truncated)."""


def unwrap(armored: str, identities: Sequence[Any]) -> bytes | None:
    """Open one stanza with any identity; None when none of them is its recipient.

    Passphrase-protected identities (:class:`gitvault.keyfiles.LazyIdentity`)
    are tried only after the others, and unlocked only then.
    Raises :class:`MalformedStanza` when the stanza is not a valid age file.
    """
    plain, lazy = _split(identities)
    key = _unwrap_with(armored, plain)
    if key is None and lazy:
        key = _unwrap_with(armored, [k for item in lazy for k in item.unlocked()])
    return key


def _unwrap_with(armored: str, identities: Sequence[Any]) -> bytes | None:
    return open_age(armored.encode("ascii", "replace"), identities)


def open_age(data: bytes, identities: Sequence[Any]) -> bytes | None:
    """Decrypt one age file (binary or armored) with ready identities; None if not ours.

    Raises :class:`MalformedStanza` for a malformed file, header MAC or payload.
    """
    if not identities:
        return None
    classic, hybrid = _by_library(identities)
    if hybrid and "mlkem768x25519" in _header_text(data):
        from gitvault.crypto import agefile, pq

        try:
            found = pq.decrypt(data, hybrid)
        except agefile.AgeFormatError as exc:
            raise MalformedStanza(str(exc)) from None
        if found is not None or not classic:
            return found
    if not classic:
        return None
    try:
        key: bytes = pyrage.decrypt(data, classic)
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            return None
        raise MalformedStanza(str(exc)) from None
    return key


def _header_text(data: bytes) -> str:
    """The stanza lines of an age file, armored or not (to see which types it holds)."""
    from gitvault.crypto import agefile

    try:
        return agefile.dearmor(data)[:4096].decode("ascii", "replace")
    except agefile.AgeFormatError:
        return ""


def _by_library(identities: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(pyrage identities, post-quantum ones)."""
    from gitvault.crypto.pq import PQIdentity

    hybrid = [i for i in identities if isinstance(i, PQIdentity)]
    return [i for i in identities if not isinstance(i, PQIdentity)], hybrid


def _split(identities: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(ready identities, passphrase-protected ones) — the latter cost a prompt."""
    from gitvault.keyfiles import LazyIdentity

    plain = [i for i in identities if not isinstance(i, LazyIdentity)]
    return plain, [i for i in identities if isinstance(i, LazyIdentity)]


def decrypt_with(data: bytes, identities: Sequence[Any]) -> bytes:
    """Decrypt a whole age file (a journal) with plain identities first, then locked ones.

    Raises :class:`MalformedStanza` when no identity opens it or it is damaged.
    """
    plain, lazy = _split(identities)
    found = open_age(data, plain)
    if found is None and lazy:
        found = open_age(data, [k for item in lazy for k in item.unlocked()])
    if found is None:
        raise MalformedStanza("no identity opens it")
    return found


def seal(data: bytes, recipients: Sequence[str]) -> bytes:
    """An armored age file of ``data`` for several recipients (a journal).

    age does not mix post-quantum and classic stanzas in one file (a classic
    stanza would undo the post-quantum protection), so when both kinds are
    given, the classic ones are used; all post-quantum is sealed as such.
    """
    classic = [r for r in recipients if not r.strip().startswith("age1pq1")]
    if classic:
        sealed: bytes = pyrage.encrypt(data, [parse_recipient(r) for r in classic], armored=True)
        return sealed
    import os

    from gitvault.crypto import agefile, pq

    file_key = os.urandom(16)
    stanzas = [pq.wrap(file_key, r.strip()) for r in recipients]
    return agefile.armor(agefile.seal(stanzas, file_key, data))


def wrap_all(data_key: bytes, recipients: Sequence[str]) -> list[tuple[str, str]]:
    """(recipient, armored envelope) for every recipient, in the given order."""
    return [(r, wrap(data_key, r)) for r in recipients]


def unwrap_any(stanzas: Sequence[tuple[str, str]], identities: Sequence[Any]) -> bytes | None:
    """The data key from the first stanza any identity opens, or None.

    A malformed stanza is skipped while another may still open; if none opens
    and one was malformed, that is an integrity failure, not a missing key.
    Passphrase-protected identities are unlocked only when no other identity
    opens any stanza, and only if one could be a reader (a known public key
    must be among the stanzas' recipients).
    """
    plain, lazy = _split(identities)
    malformed, key = _first_open(stanzas, plain)
    if key is None and lazy:
        labels = {r.strip() for r, _ in stanzas}
        wanted = [item for item in lazy if item.recipient is None or item.recipient in labels]
        if wanted:
            bad, key = _first_open(stanzas, [k for item in wanted for k in item.unlocked()])
            malformed = malformed or bad
    if key is not None:
        return key
    if malformed:
        raise IntegrityError("an age stanza of this file is malformed or was tampered with")
    return None


def _first_open(
    stanzas: Sequence[tuple[str, str]], identities: Sequence[Any]
) -> tuple[bool, bytes | None]:
    """(whether a stanza was malformed, the data key of the first stanza that opens)."""
    malformed = False
    if not identities:
        return False, None
    for _recipient, armored in _mine_first(stanzas, identities):
        try:
            key = _unwrap_with(armored, identities)
        except MalformedStanza:
            malformed = True
            continue
        if key is not None:
            if len(key) != 32:
                raise IntegrityError("the data key in an age stanza has the wrong size")
            return malformed, key
    return malformed, None


# id(identity) -> (identity, its public key): the identity object is kept so the
# id cannot be reused by another object while the entry exists.
_PUBLIC: dict[int, tuple[Any, str | None]] = {}


def _public_of(identity: Any) -> str | None:
    entry = _PUBLIC.get(id(identity))
    if entry is None or entry[0] is not identity:
        # SSH identities have no public half in pyrage: they keep the full search.
        if hasattr(identity, "to_public"):
            public: str | None = str(identity.to_public())
        else:
            public = getattr(identity, "recipient", None)
        entry = _PUBLIC[id(identity)] = (identity, public)
    return entry[1]


def _mine_first(
    stanzas: Sequence[tuple[str, str]], identities: Sequence[Any]
) -> list[tuple[str, str]]:
    """The stanzas whose recipient label names one of our keys first, then the rest.

    Unwrapping is one key agreement per stanza tried, and a CI key is often the
    last of many readers. The label is not authenticated, so it only orders the
    search: every other stanza is still tried when the labelled one does not
    open, and the data key is judged by the MAC as before.
    """
    mine = {p for p in map(_public_of, identities) if p}
    if not mine:
        return list(stanzas)
    first = [s for s in stanzas if s[0].strip() in mine]
    return first + [s for s in stanzas if s[0].strip() not in mine]
