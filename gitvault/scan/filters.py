"""Filters that turn a regex match into a finding or drop it as noise.

Pure functions over bytes. They decide *whether* a candidate is a credential;
they never log, print or store the candidate. Three layers:

- :func:`is_trivial` applies to every rule: documented example keys, runs of
  ``x``/``*``/one repeated character, ellipses — values nobody uses for real.
- :func:`generic_reject` applies to name-based rules only: placeholders,
  template and environment references, code references, paths, URLs, hashes,
  UUIDs, git SHAs and vault ciphertext.
- :func:`is_allowed_line` recognises inline allow comments.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from collections import Counter

# Inline allow markers: ours and the ones users already have from gitleaks and detect-secrets.
ALLOW_MARKERS: tuple[bytes, ...] = (
    b"gitvault:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
)

_REPEAT_RUN = re.compile(rb"([A-Za-z0-9*])\1{7,}")
_TRIVIAL_PARTS = (
    b"example",
    b"xxxx",
    b"****",
    b"...",
    b"\xe2\x80\xa6",
    b"12345678",
    b"abcdefgh",
    b"replace",
    b"placeholder",
    b"your_",
    b"your-",
    b"changeme",
)
_ANGLE_PLACEHOLDER = re.compile(rb"<[A-Za-z0-9_. -]+>")

# Whole values that are placeholders or obviously not secret.
_PLACEHOLDER_WORDS = frozenset(
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
# Substrings that mark a value as a placeholder or a reference to something else.
_PLACEHOLDER_PARTS = (
    b"example",
    b"changeme",
    b"change_me",
    b"change-me",
    b"placeholder",
    b"your_",
    b"your-",
    b"your ",
    b"put your",
    b"yourpass",
    b"yourkey",
    b"yoursecret",
    b"dummy",
    b"sample",
    b"redacted",
    b"replace",
    b"fake",
    b"insert",
    b"enter_",
    b"enter-",
    b"todo",
    b"fixme",
    b"_here",
    b"-here",
    b"here_",
    b"notreal",
    b"not-a-real",
    b"not_a_real",
    b"do_not_use",
    b"do-not-use",
    b"mock",
    b"lorem",
    b"${",
    b"{{",
    b"}}",
    b"%(",
    b"#{",
    b"<%",
    b"$(",
    b"{0}",
    b"{}",
    b"process.env",
    b"os.environ",
    b"getenv",
    b"env(",
    b"env.",
    b"secrets.",
    b"vault:",
    b"ref+",
    b"://",
)
# Names (lower-cased) that hold something secret-adjacent but not a secret.
_NAME_STOPWORDS = re.compile(
    rb"hash|digest|checksum|sha\d*|md5|fingerprint|integrity|etag|_id$|_ids?_|uuid|public|pub_?key"
    rb"|commit|revision|rev$|_rev_|build|salt|nonce|length|_len|(?<![a-z])(?:min|max)|count|size|field|file|path|dir|url|uri|endpoint|env|type"
    rb"|format|regex|pattern|name|prompt|label|placeholder|hint|policy|version|header|param"
    rb"|ref$|_ref|arn|bypass|compass|passenger|passthrough|tokeniz|expir|ttl|timeout|enabled"
    rb"|required|mode|kind|example|mock|fake|dummy|sample|template|input|display|message|error"
    rb"|(?<![a-z])store(?!pass)|pass(?:ed|ing|es|age|port|ive|enger|through)|pwdump|manager"
    rb"|next_?(?:page_?)?token|page_?token|continuation|pagination|cursor|spec|last_?used|created"
    rb"|updated|expires|date$|(?:secret|token|key|client|access|account|app|session)_?ids?$|cache|sort_?key|partition|routing|lookup|idempoten"
    rb"|shortcut|hotkey|bucket|object_?key|s3_?key|foreign|primary_?key|provider|class|method|count|limit|prefix|suffix|algorithm|alg$"
)
_PRINTF = re.compile(rb"%[-+ #0-9.]*[sdif](?![A-Za-z0-9])|^%[sdif]")
_WINDOWS_VAR = re.compile(rb"%[A-Za-z_][A-Za-z0-9_]*%")
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(rb"[0-9a-fA-F]+")
_DIGEST_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_HEX_LITERAL = re.compile(rb"0[xX][0-9a-fA-F]{1,32}[uUlL]*")  # an integer/mask, not a key
_VERSION = re.compile(rb"v?\d+(?:\.\d+)+(?:-\d+(?:\.\d+)*)?")
# f-string / str.format field: {name}, {obj.attr!r}, {x:>10}
_FORMAT_FIELD = re.compile(rb"\{[A-Za-z_][\w.\[\]'\"]*(?:![rsa])?(?::[^{}]*)?\}")
# pw_uid, types-passpy, RSA_2048, Access-Control-Allow-Credentials: names, not values.
_SNAKE_WORDS = re.compile(
    rb"[a-z]+(?:[_-][a-z]+)+|[A-Z]+(?:_[A-Z0-9]+)+|[A-Z][a-z]+(?:-[A-Z][a-z]+)+"
)
_DATE = re.compile(rb"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?")
_DOTTED_CODE = re.compile(rb"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")  # x25519.X25519PrivateKey
_SNAKE_NAME = re.compile(rb"[a-z]+(?:[_.][a-z]+)+")
_IDENTIFIER_PATH = re.compile(rb"[A-Za-z_][A-Za-z_.]*")  # code reference: no digits, no symbols
_FILE_SUFFIX = re.compile(
    rb"\.(?:pem|key|crt|cer|p12|pfx|json|ya?ml|txt|env|ini|cfg|conf|pub)$", re.I
)


def shannon_entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte of ``data`` (0.0 for empty input)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum((c / n) * math.log2(c / n) for c in Counter(data).values())


def is_trivial(secret: bytes, *, repeats: bool = True) -> bool:
    """True for values no real credential has: example keys, x-runs, ellipses, repeats.

    ``repeats=False`` keeps long runs of one character (key encodings have them).
    """
    lowered = secret.lower()
    if any(part in lowered for part in _TRIVIAL_PARTS):
        return True
    if _ANGLE_PLACEHOLDER.search(secret):
        return True
    if not repeats or _REPEAT_RUN.search(secret) is None:
        return False
    # Long high-entropy values (base64 of DER, encrypted blobs) have zero-byte runs.
    return len(secret) < 40 or shannon_entropy(secret) < 4.0


def looks_like_digest(secret: bytes) -> bool:
    """Hex of a digest length (MD5, SHA-1/git SHA, SHA-224/256/384/512) or a UUID."""
    if _UUID.fullmatch(secret):
        return True
    return len(secret) in _DIGEST_LENGTHS and _HEX.fullmatch(secret) is not None


_CONFIG_SUFFIXES = frozenset(
    {
        "env",
        "ini",
        "cfg",
        "conf",
        "config",
        "properties",
        "props",
        "yml",
        "yaml",
        "toml",
        "txt",
        "netrc",
        "pgpass",
        "npmrc",
        "pypirc",
        "s3cfg",
        "cnf",
        "rc",
        "list",
        "tfvars",
    }
)


def is_config_path(path: str) -> bool:
    """True for config-like files: there an unquoted word is a literal, not a variable."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.startswith("."):
        return True  # dotfiles: .env, .netrc, .pgpass, .bashrc, .s3cfg …
    stem, dot, suffix = name.rpartition(".")
    return not dot or suffix in _CONFIG_SUFFIXES or stem.endswith(".env")


def generic_reject(
    secret: bytes, name: bytes | None, *, quoted: bool, config: bool = False
) -> bool:
    """True when a name-based candidate is a placeholder, reference, hash or code.

    ``quoted`` says whether the value was a string literal; unquoted values in
    source code are usually expressions (``password = self.password``), but in a
    ``config`` file (:func:`is_config_path`) an unquoted word is the value itself.
    """
    lowered = secret.lower()
    if lowered in _PLACEHOLDER_WORDS or lowered.rstrip(b":!?. ") in _PLACEHOLDER_WORDS:
        return True
    if lowered.endswith(b":"):  # a prompt or label ("Password:"), not a value
        return True
    if any(part in lowered for part in _PLACEHOLDER_PARTS):
        return True
    if lowered.startswith(
        (b"enc[", b"$", b"@", b":", b"?", b"/", b"./", b"~/", b"<", b"arn:", b"sha")
    ):
        return True
    if lowered.startswith((b"(", b"[", b"^")):  # a regex or an expression
        return True
    if lowered.startswith(b"!") and lowered[1:].isalpha():  # a YAML tag: !vault, !Ref
        return True
    if _WINDOWS_VAR.search(secret) or _PRINTF.search(secret):
        return True
    if _FILE_SUFFIX.search(secret):
        return True
    if _UUID.fullmatch(secret) or _HEX_LITERAL.fullmatch(secret) or _VERSION.fullmatch(secret):
        return True
    if _FORMAT_FIELD.search(secret) or _SNAKE_WORDS.fullmatch(secret) or _DATE.match(secret):
        return True
    if not quoted and not config and _DOTTED_CODE.fullmatch(secret):
        return True
    if name is not None:
        lname = name.lower()
        if _squash(lowered) in _squash(lname):
            return True
        if _NAME_STOPWORDS.search(lname):
            return True
    if looks_like_digest(secret) and name is None:
        return True
    # In config files a bare mixed-case word is a literal; snake/dotted names are not.
    if (
        not quoted
        and _IDENTIFIER_PATH.fullmatch(secret.rstrip(b";"))
        and (not config or _SNAKE_NAME.fullmatch(secret.lower()))
    ):
        return True
    if not quoted and secret.endswith(b";"):
        return True
    if looks_like_code(secret):
        return True
    if is_weak_pattern(secret):
        return True
    # Values that are all letters in one case are words or identifiers, not keys.
    return secret.isalpha() and (secret.islower() or secret.isupper()) and len(secret) < 24


# A placeholder word followed by digits or punctuation: `password123`, `test_1`, `secret!`.
_WORD_PLUS_DIGITS = re.compile(rb"([a-z_-]+?)[_-]?[0-9!.]{0,6}")
# Code, not a literal: calls, attribute chains, template and format markers, escapes.
_CODE_SHAPES = re.compile(
    rb"^[A-Za-z_][\w.]*\(.*\)$"  # get_password(), os.getenv("X")
    rb"|^(?:this|self|cls|ctx|config|settings|options|opts|params|args|props|env|conf)\."
    rb"|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){2,}$"  # a.b.c attribute chain
    rb"|^[A-Za-z_]+\.[A-Za-z_]+$"  # Module.Attribute, no digits
    rb"|^%[-+ #0]*\d*[sdrx]$|^\{\w*\}$|^:\w+$|^\?$|^@\w+$"
)
_LEET = bytes.maketrans(b"0134578@$!|", b"oieastbasil")
_LEET_WORDS = frozenset({b"changeme", b"letmein", b"welcome", b"passw", b"passwort", b"master"})
_KEYBOARD_RUNS = (b"qwerty", b"asdfgh", b"zxcvbn", b"qwertz", b"azerty", b"1qaz2wsx")


def looks_like_code(secret: bytes) -> bool:
    """True when a quoted value is an expression or format marker rather than a literal."""
    return _CODE_SHAPES.search(secret) is not None


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
            if stem.startswith(article) and stem[len(article) :].strip(b"_-") in _PLACEHOLDER_WORDS:
                return True  # MYTOKEN1, your_secret, new-password2
        if stem in _PLACEHOLDER_WORDS:
            return True
    # Leet spellings of placeholder words: P@ssw0rd, S3cr3t!, Ch@ngeM3, Adm1n.
    for plain in (lowered.translate(_LEET), lowered.rstrip(b"0123456789!?.#*").translate(_LEET)):
        if plain in _PLACEHOLDER_WORDS or plain in _LEET_WORDS:
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


def _squash(text: bytes) -> bytes:
    return text.replace(b"_", b"").replace(b"-", b"").replace(b".", b"")


def basic_auth_ok(secret: bytes) -> bool:
    """A base64 ``user:password`` pair with a non-empty, non-placeholder password."""
    padded = secret + b"=" * (-len(secret) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    if not sep or not user or len(password) < 3:
        return False
    if not all(32 <= b < 127 for b in decoded):
        return False
    return not generic_reject(password, None, quoted=True)


def is_allowed_line(line: bytes) -> bool:
    """True when the line carries an inline allow marker (case-insensitive)."""
    if b"allow" not in line and b"ALLOW" not in line and b"Allow" not in line:
        return False
    lowered = line.lower()
    return any(marker in lowered for marker in ALLOW_MARKERS)


def not_hex_digest(secret: bytes) -> bool:
    """False for pure hex of a digest length: a SHA, not a key."""
    return not looks_like_digest(secret)


def b64_private_key(secret: bytes) -> bool:
    """A base64 text that decodes to a PEM ``-----BEGIN … PRIVATE KEY-----`` header."""
    head = secret[: (min(len(secret), 96) // 4) * 4]
    try:
        decoded = base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return False
    first = decoded.split(b"\n", 1)[0]
    return b"PRIVATE KEY" in first


def letters_and_digits(secret: bytes) -> bool:
    """At least one letter and one digit or symbol: prose words are not passwords."""
    has_alpha = any(65 <= c <= 90 or 97 <= c <= 122 for c in secret)
    return has_alpha and any(not (65 <= c <= 90 or 97 <= c <= 122) for c in secret)


# Extra checks a rule can name in its ``validator`` field.
VALIDATORS = {
    "basic-auth": basic_auth_ok,
    "not-hex-digest": not_hex_digest,
    "b64-private-key": b64_private_key,
    "letters-and-digits": letters_and_digits,
}
