"""What one agent cycle did: the report ``gitvault agent --once`` prints and exits with.

:class:`CycleReport` (the outcome and exit code of a cycle) holds one
:class:`OutputResult` per output: its action and the names of the keys it
added, changed or removed (never a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutputResult:
    name: str
    action: str = "unchanged"  # create | change | unchanged | error | skipped
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "keys": {"added": self.added, "changed": self.changed, "removed": self.removed},
            "error": self.error,
        }


@dataclass
class CycleReport:
    outcome: str  # current | applied | refused | error | dry-run
    exit_code: int
    tip: str | None = None
    applied: str | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    outputs: list[OutputResult] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.agent.cycle/v1",
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "tip": self.tip,
            "applied": self.applied,
            "message": self.message,
            "warnings": self.warnings,
            "outputs": [o.to_json() for o in self.outputs],
        }
