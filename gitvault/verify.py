"""``verify``: is every vault file well-formed, encrypted to the right people, intact and valid?

Checks per file: structure (a valid SOPS file whose selection metadata is
the rule's and whose values the rule encrypts are encrypted, see
:mod:`gitvault.selection`), the policy rule (exactly one should match; the
first wins), recipients equal to the rule's, the MAC and the rule's JSON
Schema. Files a rule covers that are not encrypted at all are reported too.

A gate that checked no MAC has not checked the values: :func:`verify` makes a
file whose MAC no identity could check a problem of that file, unless the
caller asked for a structure-only check (``structure_only``).

:func:`gitvault.verify_history.check_history` adds what a file cannot say
about itself, from git history: rollbacks, substitutions and, on request,
commits not signed by a signing key the policy lists.

Returns data; the CLI renders it. No value ever appears in a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitvault.errors import AccessDenied, BadInput, GitvaultError, IntegrityError
from gitvault.fsutil import read_input
from gitvault.identities import Identities
from gitvault.policy import Policy, normalize_key
from gitvault.sops import file as sopsfile

NOT_CHECKED = "not checked"
STRUCTURE_ONLY = NOT_CHECKED + " (--structure-only)"


@dataclass
class FileReport:
    file: str
    rule: int | None = None
    checks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Which check found each problem (structure, selection, plaintext, recipients,
    # mac, schema, unchecked); problems added elsewhere (history) have none.
    kinds: dict[str, str] = field(default_factory=dict)
    readers: str = ""  # who can open the file, by policy name, when none of ours could

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def mac_checked(self) -> bool:
        return not self.checks.get("mac", NOT_CHECKED).startswith(NOT_CHECKED)

    def problem(self, kind: str, text: str) -> None:
        """Record a problem found by the check ``kind``."""
        self.problems.append(text)
        self.kinds.setdefault(text, kind)

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
class HistoryReport:
    """Freshness, authorship and (optionally) signatures of the verified files, from git.

    ``findings`` are :class:`gitvault.history.freshness.Finding` as JSON;
    ``problems`` are history-level errors (a policy change or a since-deleted
    file in an unsigned commit under ``--require-signed``).
    """

    checked: bool
    reason: str = ""  # why it was not checked
    since: str | None = None
    require_signed: bool = False
    commits: int = 0  # commits that changed the checked files (or the policy)
    findings: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # versions that could not be read

    def to_json(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "reason": self.reason,
            "since": self.since,
            "require_signed": self.require_signed,
            "commits": self.commits,
            "findings": self.findings,
            "problems": self.problems,
            "notes": self.notes,
        }


@dataclass
class VerifyReport:
    files: list[FileReport]
    history: HistoryReport | None = None
    structure_only: bool = False

    @property
    def ok(self) -> bool:
        history_ok = self.history is None or not self.history.problems
        return all(f.ok for f in self.files) and history_ok

    @property
    def unchecked(self) -> list[str]:
        """Files whose MAC was not checked (by choice under ``structure_only``, else a problem)."""
        return [f.file for f in self.files if "mac" in f.checks and not f.mac_checked]

    @property
    def nothing_decrypted(self) -> bool:
        """True when MACs were wanted, some file needed one, and no identity opened any file.

        The CLI exits 3 (no identity can decrypt) instead of 1 when this is the
        only reason the report is not ok.
        """
        if self.structure_only or not self.unchecked or any(f.mac_checked for f in self.files):
            return False
        return all(all(f.kinds.get(p) == "unchecked" for p in f.problems) for f in self.files) and (
            self.history is None or not self.history.problems
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "schema": "gitvault.verify/v1",
            "ok": self.ok,
            "structure_only": self.structure_only,
            "unchecked": self.unchecked,
            "files": [f.to_json() for f in self.files],
        }
        if self.history is not None:
            out["history"] = self.history.to_json()
        return out


def covered_files(pol: Policy) -> list[str]:
    """Every file in the work tree (outside .git) that some rule covers, sorted."""
    from gitvault.tempfiles import skip_temp  # temp files of writes are never vault files

    root = pol.root
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if rel == ".gitvault.yaml" or skip_temp(Path(dirpath, name)):
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
    pol: Policy,
    relpath: str,
    data: bytes,
    ids: Identities | None,
    *,
    check_schema: bool = True,
    structure_only: bool = False,
) -> FileReport:
    """All checks for one file's bytes (no MAC or schema under ``structure_only``).

    Without an identity that opens the file, ``checks["mac"]`` says why it was
    not checked; whether that is a problem is the caller's decision (``verify``
    says it is, the pre-commit hook and ``review`` without keys say it is not).
    """
    from gitvault.selection import plaintext_problems, selection_problems
    from gitvault.sops.structure import list_problems, metadata_problems

    report = FileReport(relpath)
    rules = pol.rules_for(relpath)
    if not rules:
        report.problem("structure", "no policy rule covers this file")
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
        from gitvault.sops.formats import looks_encrypted

        plaintext = "sops:" not in text and not looks_encrypted(data, need_mac=False)
        report.checks["structure"] = "plaintext" if plaintext else "invalid"
        report.problem(
            "structure",
            "not encrypted: plaintext in a path the policy says must be encrypted"
            if plaintext
            else err.message.removeprefix(relpath + ": "),
        )
        return report
    # The rule, not the file, decides what is encrypted: a file that chose its own
    # selection, or holds plaintext where the rule encrypts, is malformed for us.
    mismatch = selection_problems(rule, vault.meta)
    in_plaintext = plaintext_problems(rule, vault)
    shifting = list_problems(vault.documents)
    # A missing or malformed MAC (or lastmodified) is visible without a key.
    bad_meta = metadata_problems(vault.meta)
    for text in bad_meta:
        report.problem("structure", text)
    for text in mismatch:
        report.problem("selection", text)
    for text in in_plaintext:
        report.problem("plaintext", text)
    for text in shifting:
        report.problem("structure", text)
    report.checks["structure"] = (
        "malformed metadata"
        if bad_meta
        else "selection mismatch"
        if mismatch
        else "plaintext values"
        if in_plaintext
        else "unauthenticated list items"
        if shifting
        else "ok"
    )
    rp = recipient_problems(pol, relpath, vault)
    report.checks["recipients"] = "ok" if not rp else "mismatch"
    for text in rp:
        report.problem("recipients", text)
    if structure_only:
        report.checks["mac"] = STRUCTURE_ONLY
        return report
    if ids is None or not ids.items:
        report.checks["mac"] = NOT_CHECKED + " (no identity)"
        return report
    try:
        plain = sopsfile.open_file(vault, ids.keys, ids.describe_tried())
    except AccessDenied:
        report.checks["mac"] = NOT_CHECKED + " (no identity can open it)"
        report.readers = ", ".join(pol.name_of(r) or _short(r) for r in vault.recipients)
        return report
    except IntegrityError as err:
        report.checks["mac"] = "failed"
        report.problem("mac", err.message)
        return report
    report.checks["mac"] = "ok"
    if check_schema and rule.schema:
        from gitvault.schemacheck import validate_schema

        try:
            validate_schema(plain.documents, pol, rule, relpath)
            report.checks["schema"] = "ok"
        except GitvaultError as err:
            report.checks["schema"] = "failed"
            report.problem("schema", err.message.removeprefix(relpath + ": "))
    return report


def _linked(root: Path, rel: str) -> str | None:
    """Why ``rel`` is not what git stores at its path: a symlink on the way (else None).

    git stores a link as a blob naming its target, so the history checks judge
    that name while a read through the link gets another file — an old version
    kept at a path no rule covers would pass as current.
    """
    here = root
    for part in Path(rel).parts:
        here = here / part
        if here.is_symlink():
            where = "is" if here == root / rel else "is under"
            return (
                f"{where} a symlink: a vault file must be a regular file in the repository "
                "(git and the history checks see the link, not the file it leads to)"
            )
    return None


def verify(
    pol: Policy,
    relpaths: list[str] | None,
    ids: Identities | None,
    *,
    structure_only: bool = False,
) -> VerifyReport:
    """Verify the given files (relative to the policy root), or every covered file.

    Unless ``structure_only``, a file whose MAC no identity could check is a
    problem of that file: a gate that read no value must not pass it.
    """
    targets = relpaths if relpaths else covered_files(pol)
    reports = []
    for rel in targets:
        path = pol.root / rel
        try:
            # capped, no symlink out of the repository, no device (fsutil.read_input)
            data = read_input(path, root=pol.root)
        except BadInput as err:
            reports.append(FileReport(rel, problems=[err.message.removeprefix(f"{path}: ")]))
            continue
        link = _linked(pol.root, rel)
        if link is not None:
            reports.append(FileReport(rel, problems=[link]))
            continue
        report = check_file(pol, rel, data, ids, structure_only=structure_only)
        if not structure_only and "mac" in report.checks and not report.mac_checked:
            why = report.checks["mac"].removeprefix(NOT_CHECKED).strip(" ()")
            who = f"; readable by: {report.readers}" if report.readers else ""
            report.problem(
                "unchecked",
                f"MAC not checked: {why}{who} (verify it with an identity that can, "
                "or pass --structure-only for a check without keys)",
            )
        reports.append(report)
    if not relpaths:
        _check_sops_config(pol, reports)
    return VerifyReport(reports, structure_only=structure_only)


def _check_sops_config(pol: Policy, reports: list[FileReport]) -> None:
    """A ``.sops.yaml`` whose creation rules disagree with the policy is a problem.

    Plain-sops teammates would encrypt new files to other people than the
    policy names (the same drift recipients checks catch, one step earlier).
    A repository without ``.sops.yaml`` is not checked.
    """
    from gitvault.sopsrules import config_problems

    problems = config_problems(pol)
    if problems is None:
        return
    report = FileReport(".sops.yaml")
    report.checks["creation_rules"] = "ok" if not problems else "drift"
    for text in problems:
        report.problem("sops-config", text)
    if problems:
        report.warnings.append("regenerate it: gitvault sops-config --write")
    reports.append(report)
