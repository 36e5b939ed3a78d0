"""Builders for provider-token rules: one literal sample secret in, a full Rule out.

Most provider rules are one of two shapes, and writing each out in full would
bury the facts that matter (the format and a sample) under boilerplate:

- :func:`prefixed` — a token with a fixed, provider-specific prefix (``tvly-``,
  ``phc_``, ``dckr_pat_``): the prefix alone is enough context.
- :func:`keyed` — a value with no prefix (32 hex characters, a UUID): it counts
  only next to a name that says which provider and that it is a key, token or
  secret (``DATADOG_API_KEY=``), which keeps false alarms low.

From the sample secret each builder writes the rule's true-positive examples in
several syntaxes (``.env``, YAML, JSON, code) and its near-miss negatives:
a documentation placeholder, a truncated value (wrong length), a value with one
character outside the alphabet and a run of one repeated character. Each rule
may add hand-written examples and negatives of its own. The test suite replays
all of them through both engines.

Every sample is invented; none is a real credential.
"""

from __future__ import annotations

import math
import re

from gitvault.scan.rules import Rule

# After a token: not followed by another token character (the token ends here).
TAIL = r"(?![A-Za-z0-9_-])"
# Between a name and its value in env/YAML/JSON/TOML/code assignments.
SEP = r"""[\"']?[ \t]*(?:=|:|:=|=>|,)[ \t]*[\"'`]?"""
# The key words that make a provider-named variable a credential.
KEYWORDS = r"(?:key|token|secret|pass(?:word)?|pat|auth|credential|dsn)"
# Between the provider name and the kind word: nothing, or a new name component that
# starts with a separator or a capital (``DATADOG_API_KEY``, ``datadogApiKey``), so a
# provider name that is only the start of a longer word (``expo`` in ``exports``) does not count.
_NAME_GAP = r"(?i:cloud|io|hq|apps?|logic|labs|ai|dev|db)?(?:(?:[_.-]|[A-Z])[\w.-]{0,23}?)?"
_HEX = re.compile(r"^[0-9a-f]+$")
_UPPER = re.compile(r"^[0-9A-Z]+$")


def rule(
    rule_id: str,
    description: str,
    pattern: str,
    keywords: tuple[str, ...],
    examples: tuple[str, ...],
    negatives: tuple[str, ...],
    *,
    family: str = "generic",
    generic: bool = True,
    entropy: float = 2.2,
    hs_pattern: str = "",
    validator: str = "",
) -> Rule:
    """A hand-written rule in the positional shape the generic and hash families use."""
    return Rule(
        id=rule_id,
        description=description,
        family=family,
        pattern=pattern,
        hs_pattern=hs_pattern,
        keywords=keywords,
        examples=examples,
        negative_examples=negatives,
        entropy=entropy,
        generic=generic,
        validator=validator,
        severity="high",
    )


def _hs(token: str) -> str:
    """The Hyperscan text of a token pattern: a trailing open repeat cut to its minimum.

    Plain string work, not ``re``: this runs for every rule at import time.
    """
    body = token.rstrip(")")
    closing = token[len(body) :]
    if not body.endswith("}"):
        return token
    start = body.rfind("{")
    low, comma, _high = body[start + 1 : -1].partition(",")
    if not comma or not low.isdigit() or low == "0":
        return token
    return body[:start] + "{" + low + "}" + closing


def _camel(name: str) -> str:
    """``DATADOG_API_KEY`` -> ``datadogApiKey`` (the JSON/JS spelling of a name)."""
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _wrong_alphabet(secret: str, keep: int) -> str:
    """The secret with one character after the prefix swapped for one outside its alphabet."""
    body = secret[keep:]
    if _HEX.match(body):
        bad = "z"
    elif _UPPER.match(body):
        bad = "q"
    else:
        bad = "!"
    at = keep + (len(body) // 2)
    return secret[:at] + bad + secret[at + 1 :]


def _negatives(name: str, secret: str, keep: int) -> tuple[str, ...]:
    """Near misses of a sample: placeholder, truncated, wrong alphabet, repeated character."""
    body = len(secret) - keep
    truncated = secret[: keep + (body * 2) // 3]
    repeated = secret[:keep] + secret[keep] * body if body else secret
    return (
        f"{name}={secret[: keep + 2]}...",
        f'ref: "{truncated}"',
        f"label = '{_wrong_alphabet(secret, keep)}'",
        f"sample: {repeated}",
    )


def _syntaxes(name: str, secret: str) -> tuple[str, ...]:
    """The sample as a `.env` line, YAML, JSON and a code assignment."""
    return (
        f"{name}={secret}",
        f"{name.lower()}: {secret}",
        f'{{"{_camel(name)}": "{secret}"}}',
        f'{_camel(name)} = "{secret}"',
    )


def prefixed(
    rule_id: str,
    description: str,
    family: str,
    token: str,
    sample: str,
    name: str,
    *,
    keywords: tuple[str, ...] = (),
    entropy: float = 3.0,
    severity: str = "high",
    tail: str = TAIL,
    hs: str = "",
    examples: tuple[str, ...] = (),
    negatives: tuple[str, ...] = (),
    auto_negatives: bool = True,
) -> Rule:
    """A rule for a token with a fixed prefix.

    ``token`` is the token's regex (no group, no anchors); ``sample`` an invented
    token it matches; ``name`` the variable a user would keep it in. ``keywords``
    default to the sample's literal prefix (up to and including its last ``_``,
    ``-`` or ``.`` among the first 16 characters).
    """
    kws = keywords or (_prefix(sample).lower(),)
    keep = _keep(sample, kws)
    pattern = r"\b(?P<secret>" + token + ")" + tail
    return Rule(
        id=rule_id,
        description=description,
        family=family,
        pattern=pattern,
        hs_pattern=hs or (r"\b" + _hs(token) if tail else ""),
        keywords=kws,
        entropy=entropy,
        severity=severity,
        examples=_syntaxes(name, sample) + examples,
        negative_examples=(_negatives(name, sample, keep) if auto_negatives else ()) + negatives,
    )


def keyed(
    rule_id: str,
    description: str,
    family: str,
    names: str,
    value: str,
    sample: str,
    name: str,
    *,
    keywords: tuple[str, ...],
    kind_words: str = KEYWORDS,
    entropy: float | None = None,
    severity: str = "high",
    tail: str = r"\b",
    hs: str = "",
    examples: tuple[str, ...] = (),
    negatives: tuple[str, ...] = (),
) -> Rule:
    """A rule for a prefix-less value that counts only next to a provider's name.

    ``names`` is a regex of the provider's names (matched case-insensitively),
    ``value`` the value's regex (case-sensitive), ``keywords`` the lower-case
    provider words of ``names``. The variable must also contain one of
    ``kind_words`` (key, token, secret …) after the provider name. ``hs`` narrows
    the Hyperscan pass when the provider name alone is a common word.
    """
    pattern = (
        r"(?i:"
        + names
        + r")"
        + _NAME_GAP
        + r"(?i:"
        + kind_words
        + r")[\w.-]{0,12}?"
        + SEP
        + r"(?P<secret>"
        + value
        + ")"
        + tail
    )
    return Rule(
        id=rule_id,
        description=description,
        family=family,
        pattern=pattern,
        # Hyperscan looks for the provider name only (a literal set it matches at
        # memory speed); ``re`` confirms the whole assignment on the few lines that have one.
        hs_pattern=hs or r"(?i:" + names + r")",
        keywords=keywords,
        entropy=_entropy_floor(sample) if entropy is None else entropy,
        severity=severity,
        examples=_syntaxes(name, sample) + examples,
        negative_examples=_keyed_negatives(name, sample) + negatives,
    )


def _entropy_floor(sample: str) -> float:
    """The entropy a keyed value must reach, from the shape of its sample.

    Single-case values (hex, UUIDs, lower-case base36) keep 3.0 bits per
    character. Mixed-case values must look random for their length
    (``log2(n) - 0.7``, between 3.0 and 4.0): a git SHA or a hex digest under a
    provider-ish name (``exports.authCommit``) stays below it, a random base62
    token of the same length does not.
    """
    if sample.lower() == sample or sample.upper() == sample:
        return 3.0
    return max(3.0, min(4.0, math.log2(len(sample)) - 0.7))


def _keyed_negatives(name: str, secret: str) -> tuple[str, ...]:
    """Near misses of a keyed sample: template reference, wrong length, wrong alphabet.

    The wrong-length and wrong-alphabet lines use ``<PROVIDER>_KEY_ID``: a name
    this rule reads (provider, then ``key``) but the generic rules leave alone
    (they would rightly flag any high-entropy value under ``..._API_KEY``).
    """
    short = secret[: (len(secret) * 2) // 3]
    plain = name.split("_")[0] + "_KEY_ID"
    return (
        f"{name}=${{{name}}}",
        f"{plain}: {short}",
        f"{plain}={_wrong_alphabet(secret, 0)}",
        f"{name}={secret[0] * len(secret)}",
    )


def _prefix(sample: str) -> str:
    """The literal prefix of a sample token: up to its last separator in the first 16 chars."""
    head = sample[:16]
    cut = max(head.rfind(c) for c in "_-.")
    return sample[: cut + 1] if cut > 0 else sample[:4]


def _keep(sample: str, keywords: tuple[str, ...]) -> int:
    """How many leading characters of the sample are prefix (kept intact in negatives)."""
    low = sample.lower()
    for kw in keywords:
        at = low.find(kw)
        if at >= 0:
            return at + len(kw)
    return 0
