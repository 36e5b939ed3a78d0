from __future__ import annotations

from gitvault.scan.rules import Rule

RULES: tuple[Rule, ...] = ()
