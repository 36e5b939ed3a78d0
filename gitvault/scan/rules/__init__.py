"""Detection rules: each rule is data — a pattern, keywords, and examples.

A rule's ``pattern`` must compile both with Python's ``re`` (bytes) and with
Hyperscan, so one text serves the fast multi-pattern pass and the confirming
match. The secret itself is the named group ``secret``. ``keywords`` are
lower-case strings of which at least one occurs in every match; they drive the
prefilter when Hyperscan is unavailable. Every rule carries true-positive
``examples`` and ``negative_examples`` that the test suite replays.

Rules are listed most specific first: when two rules claim the same bytes of a
line, the earlier one is reported. Generic (name + entropy) rules come last.

This package must never contain a real credential: every example is invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Rule:
    """One kind of credential and how to recognise it."""

    id: str
    description: str
    family: str
    pattern: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    # Minimum Shannon entropy (bits per character) of the secret; 0 disables the floor.
    entropy: float = 0.0
    # Generic rules also pass the placeholder / code-reference / hash-name filters.
    generic: bool = False
    # How many bytes before the line of the match end the match may start (PEM blocks).
    span_back: int = 0
    severity: str = "high"
    # A looser pattern for the Hyperscan pass when ``pattern`` ends in an open
    # repeat (each extra byte would be reported as another match end).
    hs_pattern: str = ""
    # Name of an extra check in ``gitvault.scan.filters.VALIDATORS`` (e.g. "basic-auth").
    validator: str = ""

    @cached_property
    def regex(self) -> re.Pattern[bytes]:
        """The confirming regex, compiled on first use (start-up stays cheap)."""
        return re.compile(self.pattern.encode("ascii"), re.MULTILINE)

    @property
    def prefilter_pattern(self) -> str:
        """The text compiled into the Hyperscan database for this rule."""
        return self.hs_pattern or self.pattern

    @property
    def needs_prefilter_flag(self) -> bool:
        """Hyperscan cannot run look-arounds exactly; such rules use its prefilter mode."""
        return any(tok in self.prefilter_pattern for tok in ("(?=", "(?!", "(?<=", "(?<!"))


def all_rules() -> tuple[Rule, ...]:
    """Every built-in rule, most specific first, generic rules last."""
    from gitvault.scan.rules import (
        ai,
        ai_ml,
        assignments,
        chat,
        cicd,
        cloud,
        cloud_more,
        code_hosts,
        email_sms,
        generic,
        hashes,
        iot,
        keys,
        messaging,
        observability,
        payments,
        quality,
        registries,
        saas,
        search,
        services,
        uris,
        variants,
        webhooks,
    )

    rules: list[Rule] = []
    for module in (
        cloud,
        keys,
        code_hosts,
        chat,
        payments,
        messaging,
        registries,
        ai,
        services,
        # Provider breadth (issue 14): specific prefixes and provider-named values.
        variants,
        cloud_more,
        ai_ml,
        observability,
        cicd,
        quality,
        search,
        webhooks,
        email_sms,
        saas,
        iot,
        hashes,
        uris,
        assignments,
        generic,
    ):
        rules.extend(module.RULES)
    return tuple(rules)
