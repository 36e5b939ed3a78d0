"""``migrate status``: where each step of a migration stands, from the plan and history.

find, import and rewrite are read from the plan's ``steps``; the lines to
change are counted afresh in the work trees; rotation is read from the
vault's history (keys still exposed, :mod:`gitvault.history.exposed`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitvault.errors import GitvaultError
from gitvault.migrate.plan import Plan

STEPS = ("find", "import", "rotate", "code", "rewrite")


def status(
    plan: Plan,
    *,
    exposed_in: Callable[[Path], int] | None = None,
) -> dict[str, Any]:
    """A JSON-ready summary: one entry per step with ``state`` and details."""
    from gitvault.migrate.code import lines_to_change

    steps = plan.steps
    active = plan.active()
    out: dict[str, Any] = {"schema": "gitvault.migrate-status/v1", "steps": {}}
    find = steps.get("find") or {}
    out["steps"]["find"] = {
        "state": "done" if find.get("done") else "todo",
        "repos": len(plan.repos),
        "secrets": len(active),
        "skipped": len(plan.secrets) - len(active),
        "at": find.get("at"),
    }
    imp = steps.get("import") or {}
    missing = [s.id for s in active if s.imported not in ("added", "present", "kept")]
    imp_state = "todo"
    if imp.get("pending"):
        imp_state = "interrupted"
    elif imp.get("done") and not missing:
        imp_state = "done"
    out["steps"]["import"] = {
        "state": imp_state,
        "commit": imp.get("commit"),
        "vault": imp.get("vault"),
        "not_imported": missing,
        "kept": [s.id for s in active if s.imported == "kept"],
    }
    rotate: dict[str, Any] = {"state": "todo" if imp_state != "done" else "unknown"}
    vault = imp.get("vault")
    if vault and exposed_in is not None:
        try:
            count = exposed_in(Path(vault))
            rotate = {"state": "done" if count == 0 else "todo", "still_exposed": count}
        except GitvaultError as exc:
            rotate = {"state": "unknown", "problem": exc.message}
    out["steps"]["rotate"] = rotate
    lines = lines_to_change(plan)
    out["steps"]["code"] = {
        "state": "done" if not lines else "todo",
        "lines_left": len(lines),
        "config_lines_left": sum(1 for x in lines if x.kind != "code"),
        "applied": (steps.get("code") or {}).get("applied", []),
    }
    rew = steps.get("rewrite") or {}
    per_repo = {r.id: (rew.get(r.id) or {}).get("status", "todo") for r in plan.repos}
    rew_state = "done" if per_repo and all(v == "verified" for v in per_repo.values()) else "todo"
    if any(v in ("cloning", "filtering") for v in per_repo.values()):
        rew_state = "interrupted"
    out["steps"]["rewrite"] = {"state": rew_state, "repos": per_repo}
    out["next"] = next((name for name in STEPS if out["steps"][name]["state"] != "done"), None)
    return out


def exposed_count(vault: Path) -> int:
    """How many keys of the vault are still exposed (``due`` would list them)."""
    from datetime import timedelta

    from gitvault.history.query import due

    result = due(vault, within=timedelta(0))
    return sum(1 for item in result.report.items if item.exposed)
