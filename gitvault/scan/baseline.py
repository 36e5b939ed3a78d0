"""The baseline: fingerprints of findings a team has reviewed and accepted.

A JSON file (default ``.gitvault-baseline.json`` at the repository root) that
holds fingerprints with the rule and path they belong to — never a secret, a
preview or a line of text. Findings whose fingerprint is in the baseline are
not reported. ``update`` merges new findings in, so a partial scan never drops
entries that belong to other files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from gitvault.errors import BadInput
from gitvault.scan.model import Finding

DEFAULT_NAME = ".gitvault-baseline.json"
SCHEMA = "gitvault.baseline/v1"


def load(path: Path) -> dict[str, dict[str, str]]:
    """Fingerprint -> {rule, path}; an absent file is an empty baseline."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BadInput(f"cannot read baseline {path.name}: {exc.strerror}") from exc
    return loads(raw, path.name)


def loads(raw: str, name: str = DEFAULT_NAME) -> dict[str, dict[str, str]]:
    """Parse baseline text (``name`` only labels errors)."""
    try:
        doc = json.loads(raw)
        entries = doc["findings"]
        return {
            str(e["fingerprint"]): {"rule": str(e.get("rule", "")), "path": str(e.get("path", ""))}
            for e in entries
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput(
            f"baseline {name} is not a gitvault baseline",
            hint="regenerate it with `gitvault scan --baseline-update`",
        ) from exc


def update(path: Path, findings: Iterable[Finding]) -> int:
    """Merge the fingerprints of ``findings`` into the baseline; return how many are new."""
    entries = load(path)
    before = len(entries)
    for f in findings:
        entries.setdefault(f.fingerprint, {"rule": f.rule, "path": f.path})
    doc = {
        "schema": SCHEMA,
        "findings": [
            {"fingerprint": fp, "rule": e["rule"], "path": e["path"]}
            for fp, e in sorted(
                entries.items(), key=lambda kv: (kv[1]["path"], kv[1]["rule"], kv[0])
            )
        ],
    }
    text = json.dumps(doc, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gitvault-baseline-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(entries) - before
