"""Values too weak or too made-up to be real credentials, and the strength test.

Pure functions over bytes, used by :mod:`gitvault.scan.filters` and the
detector; they never log, print or store the candidate.

- :data:`PLACEHOLDER_WORDS`: whole values that are placeholders (``password``,
  ``changeme``, ``hunter2`` …);
- :func:`is_weak_pattern`: sequences, repeated chunks, keyboard walks and
  placeholder words with digits, articles or leet spellings;
- :func:`value_strength_ok`: the character-class test a generic value must
  pass, looser for names of the password class (:func:`is_password_name`).
"""

from __future__ import annotations

import itertools
import re

# Whole values that are placeholders or obviously not secret.
PLACEHOLDER_WORDS = frozenset(
    b.encode()
    for b in [
        "password",
        "passwd",
        "secret",
        "token",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "admin",
        "root",
        "guest",
        "user",
        "username",
        "test",
        "testing",
        "tester",
        "demo",
        "default",
        "required",
        "optional",
        "string",
        "value",
        "foobar",
        "foo",
        "bar",
        "baz",
        "hunter2",
        "letmein",
        "qwerty",
        "123456",
        "abc123",
        "postgres",
        "mysql",
        "redis",
        "changeit",
        "secret123",
        "password123",
        "password1",
        "mypassword",
        "mysecret",
        "notasecret",
        "apikey",
        "api_key",
        "api-key",
        "my_api_key",
        "sample",
        "dummy",
        "pass",
        "pass123",
        "temp",
        "temporary",
    ]
)

# A placeholder word followed by digits or punctuation: `password123`, `test_1`, `secret!`.
_WORD_PLUS_DIGITS = re.compile(rb"([a-z_-]+?)[_-]?[0-9!.]{0,6}")
_LEET = bytes.maketrans(b"0134578@$!|", b"oieastbasil")
_LEET_WORDS = frozenset({b"changeme", b"letmein", b"welcome", b"passw", b"passwort", b"master"})
_KEYBOARD_RUNS = (b"qwerty", b"asdfgh", b"zxcvbn", b"qwertz", b"azerty", b"1qaz2wsx")


def _sequential_share(secret: bytes) -> float:
    """Share of neighbouring characters that step by +1 or -1 (`abcd`, `4321`)."""
    if len(secret) < 2:
        return 0.0
    steps = sum(1 for a, b in itertools.pairwise(secret) if abs(a - b) == 1)
    return steps / (len(secret) - 1)


def is_weak_pattern(secret: bytes) -> bool:
    """Near-misses nobody uses as a real credential value.

    Sequential runs (`abcdef123456`), one short chunk repeated (`abcabcabc`), keyboard
    walks, and placeholder words with a digit suffix (`password123`, `test_1`).
    """
    lowered = secret.lower()
    if _sequential_share(lowered) >= 0.7:
        return True
    n = len(lowered)
    for k in (1, 2, 3, 4):
        if n % k == 0 and n >= 2 * k + 2 and lowered == lowered[:k] * (n // k):
            return True
    if any(run in lowered for run in _KEYBOARD_RUNS) and len(lowered) <= 16:
        return True
    word = _WORD_PLUS_DIGITS.fullmatch(lowered)
    if word is not None:
        stem = word.group(1).strip(b"_-")
        for article in (b"my", b"your", b"the", b"some", b"new", b"old"):
            if stem.startswith(article) and stem[len(article) :].strip(b"_-") in PLACEHOLDER_WORDS:
                return True  # MYTOKEN1, your_secret, new-password2
        if stem in PLACEHOLDER_WORDS:
            return True
    # Leet spellings of placeholder words: P@ssw0rd, S3cr3t!, Ch@ngeM3, Adm1n.
    for plain in (lowered.translate(_LEET), lowered.rstrip(b"0123456789!?.#*").translate(_LEET)):
        if plain in PLACEHOLDER_WORDS or plain in _LEET_WORDS:
            return True
    return lowered.startswith((b"test", b"fake", b"mock", b"dummy", b"sample")) and (
        lowered.replace(b"_", b"").replace(b"-", b"").isalnum()
        and not any(c.isupper() for c in secret.decode("latin-1"))
        and len(secret) < 24
    )


# Names of the password class: such values may be short and human-made.
_PASSWORD_NAME = re.compile(
    rb"pass|pwd|psw|kennwort|contrase|senha|parol|wachtwoord|losenord|salasana|heslo|haslo"
    rb"|jelszo|sifre|clave|lozinka|geslo|passord|adgangskode|mima",
    re.I,
)


def is_password_name(name: bytes | None) -> bool:
    """True for no name (URLs, command lines) or a password-like name."""
    return name is None or _PASSWORD_NAME.search(name) is not None


def value_strength_ok(secret: bytes, *, password: bool) -> bool:
    """Character-class test for a generic value.

    Passwords may be short and human-made, but need two character classes or a length
    of 10+; keys and tokens need letters *and* digits (or symbols) unless they are long.
    """
    classes = sum(
        (
            any(97 <= c <= 122 for c in secret),
            any(65 <= c <= 90 for c in secret),
            any(48 <= c <= 57 for c in secret),
            any(not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) for c in secret),
        )
    )
    if password:
        return classes >= 2 or len(secret) >= 10
    if len(secret) >= 32:
        return classes >= 2
    return (classes >= 2 and any(48 <= c <= 57 for c in secret)) or classes >= 3
