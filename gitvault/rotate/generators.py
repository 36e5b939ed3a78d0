"""Value generators for ``set --generate SPEC`` and ``rotate``.

A generator spec is a short string from the policy or the command line, e.g.
``password:32``, ``hex:32``, ``token:sk_live_:32``. :func:`parse_generator`
turns it into a :class:`Generator`; ``generate()`` returns a new value.

Specs (N is a count; lengths are capped at 4096):

    password:N[:full]  N characters with upper, lower, digit and symbol; by default
                       no ambiguous characters (0 O 1 l I) and only the symbols
                       ``- _ .``, which need no quoting in a shell, a URL or YAML;
                       starts with a letter. ``:full`` uses every printable ASCII
                       symbol and allows ambiguous characters. N >= 8.
    alnum:N            N characters from A-Z a-z 0-9
    digits:N           N decimal digits (PINs; weak below ~12, use with care)
    hex:N              N random bytes, lowercase hex (2N characters), like ``openssl rand -hex N``
    base64:N           N random bytes, standard base64 with padding, like ``openssl rand -base64 N``
    base64url:N        N random bytes, URL-safe base64 without padding
    token:PREFIX:N     PREFIX (letters, digits, ``_ - .``, may be empty) then N alnum characters
    uuid               a random (version 4) UUID

Every value comes from :mod:`secrets` (the OS CSPRNG). This module must never
log, print or put a generated value into an error message; errors name the
spec only.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gitvault.errors import BadInput

MAX_LENGTH = 4096
_AMBIGUOUS = frozenset("0O1lI")
_SAFE_SYMBOLS = "-_."
_ALNUM = string.ascii_letters + string.digits
_PREFIX = re.compile(r"[A-Za-z0-9_.\-]*")


@runtime_checkable
class Generator(Protocol):
    """Makes new secret values of one kind."""

    @property
    def spec(self) -> str:
        """The canonical spec string, safe to write into a trailer."""
        ...

    @property
    def entropy_bits(self) -> float:
        """Approximate entropy of one value, for review output."""
        ...

    def generate(self) -> str:
        """Return a fresh value."""
        ...


def _choose(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Password:
    """A password meeting common complexity rules (upper, lower, digit, symbol)."""

    length: int
    full: bool = False

    @property
    def _classes(self) -> tuple[str, ...]:
        symbols = string.punctuation if self.full else _SAFE_SYMBOLS
        classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, symbols)
        if self.full:
            return classes
        return tuple("".join(c for c in cls if c not in _AMBIGUOUS) for cls in classes)

    @property
    def spec(self) -> str:
        return f"password:{self.length}" + (":full" if self.full else "")

    @property
    def entropy_bits(self) -> float:
        return self.length * math.log2(len("".join(self._classes)))

    def generate(self) -> str:
        classes = self._classes
        alphabet = "".join(classes)
        letters = classes[0] + classes[1]
        # Rejection sampling keeps every acceptable password equally likely,
        # unlike "insert one of each class at a random position".
        while True:
            first = letters if not self.full else alphabet
            value = secrets.choice(first) + _choose(alphabet, self.length - 1)
            if all(any(ch in cls for ch in value) for cls in classes):
                return value


@dataclass(frozen=True)
class Alphabet:
    """N characters drawn uniformly from a fixed alphabet (``alnum``, ``digits``)."""

    name: str
    alphabet: str
    length: int
    prefix: str = ""

    @property
    def spec(self) -> str:
        if self.name == "token":
            return f"token:{self.prefix}:{self.length}"
        return f"{self.name}:{self.length}"

    @property
    def entropy_bits(self) -> float:
        return self.length * math.log2(len(self.alphabet))

    def generate(self) -> str:
        return self.prefix + _choose(self.alphabet, self.length)


@dataclass(frozen=True)
class RandomBytes:
    """N random bytes in an encoding (``hex``, ``base64``, ``base64url``)."""

    encoding: str
    nbytes: int

    @property
    def spec(self) -> str:
        return f"{self.encoding}:{self.nbytes}"

    @property
    def entropy_bits(self) -> float:
        return 8.0 * self.nbytes

    def generate(self) -> str:
        raw = secrets.token_bytes(self.nbytes)
        if self.encoding == "hex":
            return raw.hex()
        if self.encoding == "base64":
            return base64.b64encode(raw).decode("ascii")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Uuid4:
    """A random UUID (version 4), e.g. for webhook ids or API client ids."""

    @property
    def spec(self) -> str:
        return "uuid"

    @property
    def entropy_bits(self) -> float:
        return 122.0

    def generate(self) -> str:
        return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def _shown(spec: str) -> str:
    # A spec is policy text, not a secret; still cap it so a value pasted by
    # mistake into --generate is not echoed whole.
    return spec if len(spec) <= 40 else spec[:37] + "..."


def _count(spec: str, text: str, minimum: int = 1) -> int:
    if not text.isdigit():
        raise BadInput(f"invalid generator spec {_shown(spec)!r}: length must be a number")
    n = int(text)
    if not minimum <= n <= MAX_LENGTH:
        raise BadInput(
            f"invalid generator spec {_shown(spec)!r}: length must be {minimum}..{MAX_LENGTH}"
        )
    return n


def parse_generator(spec: str) -> Generator:
    """Return the generator for ``spec``; raise :class:`BadInput` naming the spec."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind == "uuid" and not rest:
        return Uuid4()
    if kind == "password":
        length, _, flavour = rest.partition(":")
        if flavour not in ("", "full"):
            raise BadInput(f"invalid generator spec {_shown(spec)!r}: unknown password flavour")
        return Password(_count(spec, length, minimum=8), full=flavour == "full")
    if kind in ("hex", "base64", "base64url") and rest:
        return RandomBytes(kind, _count(spec, rest))
    if kind == "alnum" and rest:
        return Alphabet("alnum", _ALNUM, _count(spec, rest))
    if kind == "digits" and rest:
        return Alphabet("digits", string.digits, _count(spec, rest))
    if kind == "token" and ":" in rest:
        prefix, _, length = rest.rpartition(":")
        if not _PREFIX.fullmatch(prefix) or len(prefix) > 64:
            raise BadInput(
                f"invalid generator spec {_shown(spec)!r}: prefix may hold only letters, "
                "digits, '_', '-' and '.'"
            )
        return Alphabet("token", _ALNUM, _count(spec, length, minimum=8), prefix=prefix)
    raise BadInput(
        f"unknown generator spec {_shown(spec)!r}",
        hint="use password:N, alnum:N, digits:N, hex:N, base64:N, base64url:N, "
        "token:PREFIX:N or uuid",
    )
