"""``migrate find``: scan many repositories (work tree and every ref's history) into a plan.

One process, one detector: each repository's work tree (files on disk) and
the lines every commit of every ref adds (``git log --all``, oldest first, so
the first place a value is seen is the first commit that held it; merges are
compared with their first parent, which also covers a stash's work-tree
commit). Findings are grouped by value (a salted fingerprint, see
:mod:`gitvault.migrate.plan`) across repositories, and each distinct value gets
a proposed vault destination the user may edit.

Re-running ``find`` on an existing plan keeps its salt and the user's edits
(destination, ``skip``) for values it already lists.

Values live only in memory while they are fingerprinted; none is returned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.migrate import repos as repos_mod
from gitvault.migrate.plan import (
    Location,
    Plan,
    Progress,
    Repo,
    Secret,
    new_plan,
    no_progress,
    now_text,
)

if TYPE_CHECKING:
    from gitvault.scan.detector import Detector

# git log arguments: every ref, parents before children, merges by first parent.
HISTORY_REVS = ("--all", "--topo-order", "--reverse", "--diff-merges=first-parent")
_ASSIGN = re.compile(rb"""^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*[:=]""")
_KEY_CHARS = re.compile(r"[^a-z0-9_]+")


@dataclass
class RepoSummary:
    id: str
    source: str
    commits: int
    refs: int
    findings: int
    other_refs: list[str]


@dataclass
class FindReport:
    """What ``find`` saw, for the combined report (counts and names only)."""

    repos: list[RepoSummary] = field(default_factory=list)
    secrets: int = 0
    findings: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.migrate-find/v1",
            "secrets": self.secrets,
            "findings": self.findings,
            "by_rule": dict(sorted(self.by_rule.items())),
            "repos": [
                {
                    "id": r.id,
                    "source": r.source,
                    "commits": r.commits,
                    "refs": r.refs,
                    "findings": r.findings,
                    "other_refs": r.other_refs,
                }
                for r in self.repos
            ],
        }


def key_name(line_prefix: bytes, rule: str) -> str:
    """A vault key name from the assignment on the value's line, else the rule id."""
    match = _ASSIGN.match(line_prefix)
    base = match.group(1).decode("ascii", "replace") if match else rule
    name = _KEY_CHARS.sub("_", base.lower()).strip("_")
    return name or "secret"


@dataclass
class _Seen:
    fingerprint: str
    rule: str
    length: int
    key: str
    order: int
    locations: list[Location]


class _Collector:
    """Folds (unit, span, finding) into distinct values; keeps no value."""

    def __init__(self, plan: Plan) -> None:
        self.fp = plan.fingerprinter()
        self.seen: dict[str, _Seen] = {}
        self.order = 0
        self.findings = 0
        self.by_rule: dict[str, int] = {}

    def add(
        self, repo: Repo, data: bytes, span: tuple[int, int], finding: Any, refs: list[str]
    ) -> None:
        start, end = span
        if finding.line <= 0 or end <= start:
            return
        value = data[start:end]
        fingerprint = self.fp(value)
        line_start = data.rfind(b"\n", 0, start) + 1
        loc = Location(
            repo=repo.id,
            commit=finding.commit,
            path=finding.path,
            line=finding.line,
            column=start - line_start + 1,
            length=end - start,
            rule=finding.rule,
            refs=refs,
        )
        self.findings += 1
        self.by_rule[finding.rule] = self.by_rule.get(finding.rule, 0) + 1
        self.order += 1
        entry = self.seen.get(fingerprint)
        if entry is None:
            key = key_name(data[line_start:start], finding.rule)
            self.seen[fingerprint] = _Seen(
                fingerprint, finding.rule, end - start, key, self.order, [loc]
            )
        elif not any(_same_place(loc, old) for old in entry.locations):
            entry.locations.append(loc)


def _same_place(a: Location, b: Location) -> bool:
    return (a.repo, a.commit, a.path, a.line, a.column) == (
        b.repo,
        b.commit,
        b.path,
        b.line,
        b.column,
    )


def _scan_repo(
    repo: Repo, collector: _Collector, detector: Detector, progress: Progress
) -> RepoSummary:
    from gitvault.scan import gitdiff, sources
    from gitvault.scan.model import Skipped

    root = Path(repo.path)
    before = collector.findings
    refs = repos_mod.all_refs(root)
    holders = repos_mod.commits_by_ref(root, refs)
    repo.head = repos_mod.head_of(root)
    repo.refs = len(refs)
    repo.commits = len(holders)
    repo.other_refs = repos_mod.unusual_refs(refs)
    progress(f"{repo.id}: {repo.commits} commits on {repo.refs} refs")
    done: set[str] = set()
    step = max(repo.commits // 10, 200)
    if refs:
        for parser in gitdiff.history_changes(root, HISTORY_REVS):
            for unit in parser.units:
                report = detector.scan(unit)
                for finding, span in zip(report.findings, report.spans, strict=True):
                    names = holders.get(finding.commit or "", [])
                    collector.add(repo, unit.data, span, finding, list(names))
                if unit.commit and unit.commit not in done:
                    done.add(unit.commit)
                    if len(done) % step == 0:
                        progress(f"{repo.id}: history {len(done)}/{repo.commits} commits")
            parser.units.clear()
            parser.files.clear()
    if repo.kind == "local" and not repos_mod.is_bare(repo):
        for item in sources.file_units([root], root):
            if isinstance(item, Skipped):
                continue
            report = detector.scan(item)
            for finding, span in zip(report.findings, report.spans, strict=True):
                collector.add(repo, item.data, span, finding, ["worktree"])
    found = collector.findings - before
    progress(f"{repo.id}: done, {found} findings")
    return RepoSummary(repo.id, repo.source, repo.commits, repo.refs, found, repo.other_refs)


def find(
    sources: Sequence[str],
    existing: Plan | None = None,
    *,
    dest_dir: str = "secrets/migrated",
    progress: Progress = no_progress,
) -> tuple[Plan, FindReport]:
    """Scan ``sources`` (plus the repositories ``existing`` lists) and build the plan."""
    plan = existing or new_plan()
    old_by_fp = {s.fingerprint: s for s in plan.secrets}
    taken = {r.id for r in plan.repos}
    by_source = {r.source: r for r in plan.repos}
    order: list[Repo] = []
    for source in sources:
        if source in by_source:
            continue
        repo_id = repos_mod.repo_id_for(source, taken)
        by_source[source] = Repo(id=repo_id, source=source, path="", kind="")
    from gitvault.scan.detector import Detector

    collector = _Collector(plan)
    report = FindReport()
    detector = Detector()  # rules compiled once for every repository
    for source, placeholder in by_source.items():
        repo = repos_mod.open_source(source, placeholder.id)
        order.append(repo)
        report.repos.append(_scan_repo(repo, collector, detector, progress))
    plan.repos = order
    plan.secrets = _secrets(collector, old_by_fp, dest_dir)
    report.secrets = len(plan.secrets)
    report.findings = collector.findings
    report.by_rule = collector.by_rule
    plan.steps["find"] = {"done": True, "at": now_text(), "repos": len(order)}
    return plan, report


def _secrets(collector: _Collector, old: dict[str, Secret], dest_dir: str) -> list[Secret]:
    out: list[Secret] = []
    used: set[tuple[str, str]] = set()
    ordered = sorted(collector.seen.values(), key=lambda s: s.order)
    for old_secret in old.values():
        if not old_secret.skip:
            used.add((old_secret.dest_file, old_secret.dest_key))
    for number, seen in enumerate(ordered, start=1):
        history = [loc for loc in seen.locations if loc.commit is not None]
        first = history[0] if history else seen.locations[0]
        previous = old.get(seen.fingerprint)
        if previous is not None:
            dest_file, dest_key = previous.dest_file, previous.dest_key
        else:
            dest_file = f"{dest_dir.strip('/')}/{first.repo}.yaml"
            dest_key, n = seen.key, 2
            while (dest_file, dest_key) in used:
                dest_key = f"{seen.key}_{n}"
                n += 1
            used.add((dest_file, dest_key))
        out.append(
            Secret(
                id=previous.id if previous is not None else f"s{number}",
                fingerprint=seen.fingerprint,
                rule=seen.rule,
                length=seen.length,
                dest_file=dest_file,
                dest_key=dest_key,
                locations=seen.locations,
                first_commit=first.commit,
                first_repo=first.repo,
                skip=previous.skip if previous is not None else False,
                imported=previous.imported if previous is not None else None,
            )
        )
    _unique_ids(out)
    return out


def _unique_ids(secrets: list[Secret]) -> None:
    seen: set[str] = set()
    for s in secrets:
        if s.id in seen:
            n = len(secrets) + 1
            while f"s{n}" in seen:
                n += 1
            s.id = f"s{n}"
        seen.add(s.id)
