"""The review as JSON: the versioned ``gitvault.review/v1`` model (documented in docs/review.md).

Stable promise of v1: every field listed in the docs keeps its name, type and
meaning; new fields may be added; a change that removes or re-types a field
is ``v2``. Key order follows the model so diffs of two reports stay readable.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from gitvault.review.model import Review


def to_json(review: Review, fail_on: frozenset[str]) -> dict[str, Any]:
    """The JSON-ready dictionary of ``review``, with the findings that fail it."""
    failing = review.failing(fail_on)
    return {
        "schema": review.schema,
        "range": {
            "base": review.base,
            "head": review.head,
            "merge_base": review.merge_base,
            "base_name": review.base_name,
            "head_name": review.head_name,
        },
        "generated_at": review.now,
        "identity": review.identity,
        "scanned": review.scanned,
        "fail_on": sorted(fail_on),
        "failed": bool(failing),
        "summary": {
            "commits": len(review.commits),
            "vault_commits": sum(1 for c in review.commits if c.vault),
            "files": len(review.files),
            "keys": dict(Counter(k.change for k in review.keys)),
            "findings": dict(Counter(f.kind for f in review.findings)),
            "failing": len(failing),
        },
        "findings": [dict(f.to_json(), fails=f in failing) for f in review.findings],
        "commits": [c.to_json() for c in review.commits],
        "files": [f.to_json() for f in review.files],
        "keys": [k.to_json() for k in review.keys],
        "policy": [p.to_json() for p in review.policy],
        "access": [a.to_json() for a in review.access],
        "freshness": [f.to_json() for f in review.freshness],
        "leaks": [leak.to_json() for leak in review.leaks],
        "ages": [a.to_json() for a in review.ages],
        "checks": [c.to_json() for c in review.checks],
        "problems": list(review.problems),
    }


def render_json(review: Review, fail_on: frozenset[str]) -> str:
    from gitvault.safetext import json_text

    return json_text(json.dumps(to_json(review, fail_on), indent=2, ensure_ascii=False)) + "\n"
