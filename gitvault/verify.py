"""``verify``: is every vault file well-formed, encrypted to the right people, intact and valid?

Checks per file: structure (a valid SOPS file), the policy rule (exactly one
should match; the first wins), recipients equal to the rule's, the MAC (when
an identity can open the file) and the rule's JSON Schema. Files a rule
covers that are not encrypted at all are reported too. Returns data; the CLI
renders it. No value ever appears in a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitvault.errors import AccessDenied, BadInput, GitvaultError, IntegrityError
from gitvault.identities import Identities
from gitvault.policy import Policy, normalize_key
from gitvault.sops import file as sopsfile

NOT_CHECKED = "not checked"


@dataclass
class FileReport:
    file: str
    rule: int | None = None
    checks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "rule": self.rule,
            "ok": self.ok,
            "checks": self.checks,
            "problems": self.problems,
            "warnings": self.warnings,
        }


@dataclass
class VerifyReport:
    files: list[FileReport]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "gitvault.verify/v1",
            "ok": self.ok,
            "files": [f.to_json() for f in self.files],
        }


def covered_files(pol: Policy) -> list[str]:
    """Every file in the work tree (outside .git) that some rule covers, sorted."""
    root = pol.root
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if rel == ".gitvault.yaml":
                continue
            if pol.rule_for(rel) is not None:
                out.append(rel)
    return sorted(out)


def recipient_problems(pol: Policy, relpath: str, vault: sopsfile.VaultFile) -> list[str]:
    """Differences between the file's recipients and the policy rule's, by name."""
    rule = pol.rule_for(relpath)
    if rule is None:
        return []
    want = {
        normalize_key(k): n
        for n, k in zip(pol.reader_names(rule), pol.reader_keys(rule), strict=True)
    }
    have = {normalize_key(r) for r in vault.recipients}
    problems = []
    missing = sorted(n for k, n in want.items() if k not in have)
    extra = sorted(pol.name_of(k) or _short(k) for k in have if k not in want)
    if missing:
        problems.append("not encrypted to " + ", ".join(missing) + " (run `gitvault rekey`)")
    if extra:
        problems.append("also encrypted to " + ", ".join(extra) + ", whom the policy does not name")
    return problems


def _short(key: str) -> str:
    from gitvault.crypto.envelope import short_recipient

    return short_recipient(key)


def check_file(
    pol: Policy, relpath: str, data: bytes, ids: Identities | None, *, check_schema: bool = True
) -> FileReport:
    """All checks for one file's bytes."""
    report = FileReport(relpath)
    rules = pol.rules_for(relpath)
    if not rules:
        report.problems.append("no policy rule covers this file")
        return report
    rule = rules[0]
    report.rule = rule.index
    if len(rules) > 1:
        others = ", ".join(f"rules[{r.index}]" for r in rules[1:])
        report.warnings.append(f"also matches {others}; rules[{rule.index}] wins")
    try:
        vault = sopsfile.parse_vault(data, relpath)
    except BadInput as err:
        text = data.decode("utf-8", "replace")
        plaintext = "sops:" not in text
        report.checks["structure"] = "plaintext" if plaintext else "invalid"
        report.problems.append(
            "not encrypted: plaintext in a path the policy says must be encrypted"
            if plaintext
            else err.message.removeprefix(relpath + ": ")
        )
        return report
    report.checks["structure"] = "ok"
    rp = recipient_problems(pol, relpath, vault)
    report.checks["recipients"] = "ok" if not rp else "mismatch"
    report.problems.extend(rp)
    if ids is None or not ids.items:
        report.checks["mac"] = NOT_CHECKED + " (no identity)"
        return report
    try:
        plain = sopsfile.open_file(vault, ids.keys, ids.describe_tried())
    except AccessDenied:
        report.checks["mac"] = NOT_CHECKED + " (no identity can open it)"
        return report
    except IntegrityError as err:
        report.checks["mac"] = "failed"
        report.problems.append(err.message)
        return report
    report.checks["mac"] = "ok"
    if check_schema and rule.schema:
        from gitvault.vault import validate_schema

        try:
            validate_schema(plain.documents, pol, rule, relpath)
            report.checks["schema"] = "ok"
        except GitvaultError as err:
            report.checks["schema"] = "failed"
            report.problems.append(err.message.removeprefix(relpath + ": "))
    return report


def verify(pol: Policy, relpaths: list[str] | None, ids: Identities | None) -> VerifyReport:
    """Verify the given files (relative to the policy root), or every covered file."""
    targets = relpaths if relpaths else covered_files(pol)
    reports = []
    for rel in targets:
        path = pol.root / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            reports.append(FileReport(rel, problems=["no such file"]))
            continue
        except IsADirectoryError:
            reports.append(FileReport(rel, problems=["is a directory"]))
            continue
        reports.append(check_file(pol, rel, data, ids))
    return VerifyReport(reports)
