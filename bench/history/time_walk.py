"""Time the history walk on a generated repository (see make_repo.py).

    python bench/history/time_walk.py REPO [--runs 5]

Measures, at the commit halfway (main~N/2) and at main:
  walk          gitvault.git.log.walk over secrets/ (one `git log --raw -z`)
  walk+blobs    the same, plus reading every changed blob once (Repository.read_blobs)
  audit         gitvault.history.audit.audit with the real format parser (what `log` does)
  due           audit + last_changes + due_report for every key with a 90d period
  pygit2-walk   the alternative we compared: a pygit2 revwalk diffing each commit's
                secrets/ subtree against its parent's, pruning equal subtrees
Prints the median wall time of several runs, in seconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from gitvault.git.log import walk
from gitvault.git.repo import Repository
from gitvault.history.audit import audit, last_changes
from gitvault.history.due import due_report
from gitvault.history.sources import parse_for_history


def pygit2_walk(root: Path, rev: str, prefix: str = "secrets") -> int:
    """Count (commit, path) changes under ``prefix`` with pygit2 tree comparisons."""
    repo = pygit2.Repository(str(root))
    start = repo.revparse_single(rev).peel(pygit2.Commit)
    changes = 0

    def subtree(commit: pygit2.Commit) -> pygit2.Tree | None:
        try:
            obj = commit.tree[prefix]
        except KeyError:
            return None
        return repo[obj.id].peel(pygit2.Tree)

    def as_tree(entry: pygit2.Object | None) -> pygit2.Tree | None:
        if entry is None or entry.type_str != "tree":
            return None
        return repo[entry.id].peel(pygit2.Tree)

    def diff(old: pygit2.Tree | None, new: pygit2.Tree | None) -> int:
        if old is not None and new is not None and old.id == new.id:
            return 0
        old_entries = {e.name: e for e in old} if old is not None else {}
        new_entries = {e.name: e for e in new} if new is not None else {}
        count = 0
        for name in old_entries.keys() | new_entries.keys():
            a, b = old_entries.get(name), new_entries.get(name)
            if a is not None and b is not None and a.id == b.id:
                continue
            if (a is not None and a.type_str == "tree") or (b is not None and b.type_str == "tree"):
                ta = (
                    repo[a.id].peel(pygit2.Tree) if a is not None and a.type_str == "tree" else None
                )
                tb = (
                    repo[b.id].peel(pygit2.Tree) if b is not None and b.type_str == "tree" else None
                )
                count += diff(ta, tb)
            else:
                count += 1
        return count

    for commit in repo.walk(start.id, pygit2.enums.SortMode.TOPOLOGICAL):
        parent = commit.parents[0] if commit.parents else None
        changes += diff(subtree(parent) if parent else None, subtree(commit))
    return changes


def walk_and_blobs(root: Path, rev: str) -> int:
    repo = Repository.open(root)
    records = walk(root, ["secrets"], rev=rev)
    ids = {b for r in records for c in r.changes for b in (c.old_blob, c.new_blob) if b}
    return len(repo.read_blobs(ids))


def run_audit(root: Path, rev: str) -> int:
    log = audit(Repository.open(root), ["secrets"], parse=parse_for_history, rev=rev)
    return len(log.events)


def run_due(root: Path, rev: str) -> int:
    log = audit(Repository.open(root), ["secrets"], parse=parse_for_history, rev=rev)
    changes = last_changes(log)
    now = datetime.now(tz=UTC)
    report = due_report(now, [(f, k, "90d") for f, k in changes], changes)
    return len(report.items)


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    total = int(
        subprocess.run(
            ["git", "-C", str(args.repo), "rev-list", "--count", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    half = total // 2
    print(f"{'case':<12} {'commits':>8} {'seconds':>8} {'changes':>8}")
    for rev, count in ((f"main~{total - half}", half), ("main", total)):
        n = sum(len(r.changes) for r in walk(args.repo, ["secrets"], rev=rev))
        for name, fn in (
            ("walk", lambda rev=rev: walk(args.repo, ["secrets"], rev=rev)),
            ("walk+blobs", lambda rev=rev: walk_and_blobs(args.repo, rev)),
            ("audit", lambda rev=rev: run_audit(args.repo, rev)),
            ("due", lambda rev=rev: run_due(args.repo, rev)),
            ("pygit2-walk", lambda rev=rev: pygit2_walk(args.repo, rev)),
        ):
            print(f"{name:<12} {count:>8} {median_time(fn, args.runs):>8.3f} {n:>8}")


if __name__ == "__main__":
    main()
