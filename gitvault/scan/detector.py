"""Turn one buffer into findings: prefilter, confirm with ``re``, filter, redact.

The :class:`Detector` is built once per scan (rules, prefilter, known values,
baseline) and then called per :class:`~gitvault.scan.model.Unit`. It returns
findings that carry a redacted preview and a fingerprint — never the secret.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from gitvault.scan import filters
from gitvault.scan.known import KnownValues
from gitvault.scan.model import Finding, Unit
from gitvault.scan.prefilter import Prefilter, make_prefilter
from gitvault.scan.rules import Rule, all_rules

VAULT_VALUE_RULE = "vault-value"
_PREVIEW_WIDTH = 100


@dataclass(frozen=True)
class _Hit:
    """A confirmed match inside a buffer (offsets of the secret itself)."""

    rule_index: int  # -1 for vault values
    start: int
    end: int
    key_path: str | None = None


def fingerprint(rule: str, path: str, material: bytes) -> str:
    """Stable id of a finding: it survives line moves, not a change of path or secret.

    For rule findings ``material`` is the secret; for vault values it is the key
    path, so the vault value never enters a hash that leaves the machine.
    """
    digest = hashlib.sha256(
        b"gitvault-fp-v1\0"
        + rule.encode()
        + b"\0"
        + path.encode("utf-8", "surrogateescape")
        + b"\0"
        + material
    )
    return digest.hexdigest()[:32]


def _reveal(secret_len: int, rule_index: int) -> int:
    """How many leading characters a preview may show (none of a vault value)."""
    if rule_index < 0:
        return 0
    return min(4, secret_len // 4)


# Fixed ID prefixes without a separator (AWS key ids, Google API keys, Alibaba, Artifactory).
_ID_PREFIXES = ("akia", "asia", "abia", "acca", "aiza", "ltai", "akcp")
_SEPARATED_PREFIX = re.compile(r"[a-z][a-z0-9]*(?:[_.~-][a-z0-9]+)*[_.~-]")
_NOT_PREFIXES = frozenset({"secret_", "key-"})
# A keyword that is only a common word plus a separator ("api_", "token-") is context, not
# a provider's prefix; it must not silence generic findings.
_GENERIC_WORDS = frozenset(
    {
        "api",
        "key",
        "secret",
        "token",
        "auth",
        "access",
        "private",
        "client",
        "app",
        "pass",
        "password",
        "pwd",
        "user",
        "id",
        "sk",
        "pk",
        "live",
        "test",
        "dev",
        "prod",
        "bearer",
    }
)


def provider_prefixes(rules: Sequence[Rule]) -> tuple[bytes, ...]:
    """Token prefixes of the provider rules (``ghp_``, ``glpat-``, ``sk_live_``, ``AKIA`` …)."""
    found = set(_ID_PREFIXES)
    for rule in rules:
        if rule.generic or rule.family in ("private-key", "password-hash"):
            continue
        for keyword in rule.keywords:
            # Two letters and a separator ("re_", "pa-", "t1.") begin too many
            # ordinary passwords to silence the generic rules.
            if keyword in _NOT_PREFIXES or len(re.sub(r"[_.~-]", "", keyword)) < 3:
                continue
            if not _SEPARATED_PREFIX.fullmatch(keyword):
                continue
            if re.sub(r"[_.~-]", "", keyword) in _GENERIC_WORDS:
                continue
            found.add(keyword)
    return tuple(sorted(k.encode() for k in found))


@dataclass
class UnitReport:
    """Findings of one unit plus how many matches inline allow comments silenced."""

    findings: list[Finding]
    allowed: int
    # Byte span of each finding's secret in the unit's buffer, parallel to
    # ``findings`` (for ``migrate find``, which must re-read values later).
    spans: list[tuple[int, int]] = field(default_factory=list)


class Detector:
    """Rules + prefilter + optional vault values; call :meth:`scan` per unit."""

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        *,
        known_values: KnownValues | None = None,
        engine: str = "auto",
        baseline: Collection[str] = (),
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules) if rules is not None else all_rules()
        self.prefilter: Prefilter = make_prefilter(self.rules, engine=engine)
        self._provider_prefixes = provider_prefixes(self.rules)
        self.known = known_values
        self.baseline = frozenset(baseline)
        self.suppressed = 0

    @property
    def engine(self) -> str:
        return self.prefilter.name

    def _confirm(self, data: bytes, path: str = "") -> list[_Hit]:
        hits: list[_Hit] = []
        seen: set[tuple[int, int]] = set()
        config = filters.is_config_path(path)
        for index, start, stop in self.prefilter.candidates(data):
            rule = self.rules[index]
            for match in rule.regex.finditer(data, start, stop):
                groups = match.groupdict()
                key = "secret" if groups.get("secret") is not None else "secret2"
                if groups.get(key) is None:
                    continue
                s, e = match.span(key)
                if (index, s) in seen:
                    continue
                seen.add((index, s))
                secret = data[s:e]
                if filters.is_trivial(secret, repeats=not rule.span_back):
                    continue
                if rule.entropy and filters.shannon_entropy(secret) < rule.entropy:
                    continue
                if rule.generic:
                    name = groups.get("name")
                    quoted = groups.get("q") is not None or b"://" in match.group(0)
                    if filters.generic_reject(secret, name, quoted=quoted, config=config):
                        continue
                    # A value in a provider's own format is judged by that provider's rule,
                    # which comes first: if it did not claim it, it is a near-miss
                    # (wrong length or alphabet), not a generic secret.
                    if secret.lower().startswith(self._provider_prefixes):
                        continue
                    if not filters.value_strength_ok(
                        secret, password=filters.is_password_name(name)
                    ):
                        continue
                if rule.validator and not filters.VALIDATORS[rule.validator](secret):
                    continue
                hits.append(_Hit(index, s, e))
        return hits

    def scan(self, unit: Unit) -> UnitReport:
        """Findings in one unit, deduplicated, allow-listed and baseline-filtered."""
        data = unit.data
        hits: list[_Hit] = []
        if self.known is not None and len(self.known):
            hits.extend(_Hit(-1, h.start, h.end, h.key_path) for h in self.known.find(data))
        # Vault values first, then rules in priority order: the first claim on bytes wins.
        hits.extend(sorted(self._confirm(data, unit.path), key=lambda h: (h.rule_index, h.start)))
        kept: list[_Hit] = []
        for hit in hits:
            if any(hit.start < k.end and k.start < hit.end for k in kept):
                continue
            kept.append(hit)
        kept.sort(key=lambda h: h.start)
        return self._render(unit, kept)

    def _render(self, unit: Unit, hits: list[_Hit]) -> UnitReport:
        data = unit.data
        findings: list[Finding] = []
        spans: list[tuple[int, int]] = []
        allowed = 0
        line_index = 0
        counted_to = 0
        for hit in hits:
            line_index += data.count(b"\n", counted_to, hit.start)
            counted_to = hit.start
            line_start = data.rfind(b"\n", 0, hit.start) + 1
            line_end = data.find(b"\n", hit.start)
            line_end = len(data) if line_end < 0 else line_end
            line = data[line_start:line_end]
            if filters.is_allowed_line(line) or self._allowed_above(data, line_start, hit):
                allowed += 1
                continue
            if hit.rule_index < 0:
                rule_id, desc, severity = VAULT_VALUE_RULE, "value of a vault secret", "critical"
                material = (hit.key_path or "").encode()
                fix = "replace it with a reference to the vault (gitvault exec/export)"
            else:
                rule = self.rules[hit.rule_index]
                rule_id, desc, severity = rule.id, rule.description, rule.severity
                material = data[hit.start : hit.end]
                fix = "move it into a vault file (gitvault set) and rotate it"
            fp = fingerprint(rule_id, unit.path, material)
            if fp in self.baseline:
                self.suppressed += 1
                continue
            findings.append(
                Finding(
                    rule=rule_id,
                    description=desc,
                    path=unit.path,
                    line=unit.lines.number(line_index),
                    column=hit.start - line_start + 1,
                    fingerprint=fp,
                    preview=_preview(line, line_start, hit, hits),
                    severity=severity,
                    commit=unit.commit,
                    key_path=hit.key_path,
                    fix=fix,
                )
            )
            spans.append((hit.start, hit.end))
        return UnitReport(findings, allowed, spans)

    @staticmethod
    def _allowed_above(data: bytes, line_start: int, hit: _Hit) -> bool:
        # A multi-line match (PEM block) is allowed by a marker on its first line,
        # and detect-secrets' "allowlist nextline" marker sits on the line above.
        if line_start == 0:
            return False
        prev_start = data.rfind(b"\n", 0, line_start - 1) + 1
        prev = data[prev_start : line_start - 1]
        if b"allowlist nextline secret" in prev.lower():
            return True
        return hit.rule_index >= 0 and b"-----BEGIN" in prev and filters.is_allowed_line(prev)


def _preview(line: bytes, line_start: int, hit: _Hit, hits: list[_Hit]) -> str:
    """The line with every secret on it masked, cut to a window around this hit."""
    out = bytearray()
    pos = line_start
    line_end = line_start + len(line)
    for other in hits:
        if other.end <= line_start or other.start >= line_end:
            continue
        s, e = max(other.start, line_start), min(other.end, line_end)
        out += line[pos - line_start : s - line_start]
        keep = _reveal(other.end - other.start, other.rule_index)
        out += line[s - line_start : s - line_start + keep] + b"****"
        pos = e
    out += line[pos - line_start :]
    text = out.decode("utf-8", "replace").strip()
    col = max(hit.start - line_start, 0)
    if len(text) > _PREVIEW_WIDTH:
        begin = max(0, min(col - 30, len(text) - _PREVIEW_WIDTH))
        text = ("…" if begin else "") + text[begin : begin + _PREVIEW_WIDTH] + "…"
    return text
