"""Data that flows through the scanner: units of text in, findings and a result out.

Frozen dataclasses only. A :class:`Finding` never holds the secret: it carries
a redacted preview and a fingerprint (a truncated SHA-256 over rule, path and
secret, or over rule, path and vault key path for vault values).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

SCHEMA = "gitvault.scan/v1"


@dataclass(frozen=True)
class LineMap:
    """Maps line indexes of a scanned buffer to line numbers of the real file.

    Whole files map line ``i`` (0-based) to ``i + 1``. Added lines of a diff are
    concatenated into one buffer; ``starts`` holds the buffer index where each
    hunk begins and ``numbers`` the file line number of that first line.
    """

    starts: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()

    def number(self, index: int) -> int:
        """The 1-based line number in the real file of buffer line ``index``."""
        if not self.starts:
            return index + 1
        pos = bisect.bisect_right(self.starts, index) - 1
        return self.numbers[pos] + (index - self.starts[pos])


@dataclass(frozen=True)
class Unit:
    """One buffer to scan: a whole file, or the added lines of one file in one commit."""

    path: str
    data: bytes
    lines: LineMap = field(default_factory=LineMap)
    commit: str | None = None


@dataclass(frozen=True)
class Finding:
    """One problem at one place. ``line`` is 0 for file-level problems."""

    rule: str
    description: str
    path: str
    line: int
    column: int
    fingerprint: str
    preview: str
    severity: str = "high"
    commit: str | None = None
    key_path: str | None = None  # vault key path, for vault-value findings only
    fix: str = ""

    def to_json(self) -> dict[str, object]:
        """The stable JSON form (schema ``gitvault.scan/v1``)."""
        return {
            "rule": self.rule,
            "description": self.description,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "commit": self.commit,
            "fingerprint": self.fingerprint,
            "preview": self.preview,
            "severity": self.severity,
            "key_path": self.key_path,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Skipped:
    """A file the scanner did not read, and why (binary, symlink, too large, …)."""

    path: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan found, plus counts that explain what was looked at."""

    findings: tuple[Finding, ...]
    files_scanned: int
    bytes_scanned: int
    skipped: tuple[Skipped, ...] = ()
    suppressed_by_baseline: int = 0
    allowed_inline: int = 0
    engine: str = "hyperscan"
    source: str = "paths"

    def to_json(self) -> dict[str, object]:
        """The stable JSON form (schema ``gitvault.scan/v1``)."""
        return {
            "schema": SCHEMA,
            "source": self.source,
            "engine": self.engine,
            "findings": [f.to_json() for f in self.findings],
            "stats": {
                "files_scanned": self.files_scanned,
                "bytes_scanned": self.bytes_scanned,
                "findings": len(self.findings),
                "suppressed_by_baseline": self.suppressed_by_baseline,
                "allowed_inline": self.allowed_inline,
            },
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }
