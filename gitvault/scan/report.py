"""Render a :class:`~gitvault.scan.model.ScanResult` as text, JSON or SARIF 2.1.0.

Pure functions from the result to a string. They see only what a finding
holds — redacted previews and fingerprints — so no rendering can leak a secret.
SARIF output follows what GitHub code scanning accepts: one run, the rules
that fired in ``tool.driver.rules`` with ``security-severity``, results with
``partialFingerprints`` and a ``%SRCROOT%``-relative location.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gitvault import __version__
from gitvault.scan import nature
from gitvault.scan.detector import VAULT_VALUE_RULE
from gitvault.scan.model import Finding, ScanResult
from gitvault.scan.rules import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SEVERITY_SCORE = {"critical": "9.5", "high": "8.0", "medium": "6.0", "low": "3.0"}
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def where(f: Finding) -> str:
    """``path:line`` (and ``@commit`` in history scans) for one finding."""
    place = f"{f.path}:{f.line}" if f.line else f.path
    return f"{place}@{f.commit[:12]}" if f.commit else place


def finding_line(f: Finding) -> str:
    """One human line: where, which rule, redacted preview or the key path."""
    detail = f"vault key {f.key_path}" if f.key_path else f.description
    preview = f"  {f.preview}" if f.preview else ""
    return f"{where(f)}: {f.rule}: {detail}{preview}"


def render_text(result: ScanResult) -> str:
    """Findings one per line, then a summary line."""
    lines = [finding_line(f) for f in result.findings]
    summary = (
        f"{len(result.findings)} finding(s) in {result.files_scanned} file(s), "
        f"{result.bytes_scanned} bytes [{result.engine}]"
    )
    extras = []
    if result.suppressed_by_baseline:
        extras.append(f"{result.suppressed_by_baseline} in baseline")
    if result.allowed_inline:
        extras.append(f"{result.allowed_inline} allowed inline")
    if result.skipped:
        extras.append(f"{len(result.skipped)} skipped")
    if extras:
        summary += "; " + ", ".join(extras)
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(result: ScanResult) -> str:
    """The versioned JSON document (schema ``gitvault.scan/v1``)."""
    return json.dumps(result.to_json(), indent=2) + "\n"


def _rule_descriptor(rule_id: str, description: str, severity: str) -> dict[str, object]:
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": description},
        "fullDescription": {"text": f"gitvault secret scanning rule {rule_id}: {description}"},
        "help": {
            "text": "Remove the secret from the code, rotate it, and keep it in a vault file. "
            "Mark an intentional test value with a `gitvault:allow` comment or add its "
            "fingerprint to the baseline (gitvault scan --baseline-update)."
        },
        "defaultConfiguration": {"level": _SARIF_LEVEL.get(severity, "error")},
        "properties": {
            "tags": ["security", "secret", "external/cwe/cwe-798"],
            "precision": "high",
            "security-severity": _SEVERITY_SCORE.get(severity, "8.0"),
        },
    }


def render_sarif(result: ScanResult, rules: Sequence[Rule]) -> str:
    """SARIF 2.1.0 with one run; only rules that produced results are described."""
    known = {r.id: r for r in rules}
    order: list[str] = []
    descriptors: list[dict[str, object]] = []
    for f in result.findings:
        if f.rule in order:
            continue
        order.append(f.rule)
        if f.rule in known:
            r = known[f.rule]
            descriptors.append(_rule_descriptor(r.id, r.description, r.severity))
        elif f.rule == VAULT_VALUE_RULE:
            descriptors.append(_rule_descriptor(f.rule, "value of a vault secret", "critical"))
        else:
            desc = (
                "file that is a plaintext secret by nature"
                if f.rule == nature.RULE_ID
                else f.description
            )
            descriptors.append(_rule_descriptor(f.rule, desc, f.severity))
    results = []
    for f in result.findings:
        location: dict[str, object] = {
            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"}
        }
        if f.line:
            location["region"] = {"startLine": f.line, "startColumn": max(f.column, 1)}
        text = f"{f.description}" + (f" (vault key {f.key_path})" if f.key_path else "")
        if f.commit:
            text += f" in commit {f.commit}"
        if f.fix:
            text += f"; fix: {f.fix}"
        entry: dict[str, object] = {
            "ruleId": f.rule,
            "ruleIndex": order.index(f.rule),
            "level": _SARIF_LEVEL.get(f.severity, "error"),
            "message": {"text": text},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"gitvaultFingerprint/v1": f.fingerprint},
        }
        if f.commit:
            entry["properties"] = {"commit": f.commit}
        results.append(entry)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gitvault",
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/gitvault/gitvault",
                        "rules": descriptors,
                    }
                },
                "automationDetails": {"id": f"gitvault-scan/{result.source}/"},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
