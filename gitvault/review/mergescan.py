"""The lines a merge commit adds of its own: what neither of its parents had.

``git log -p`` shows no diff for a merge commit, so a commit-by-commit leak
scan never sees a line written while resolving a merge (an "evil merge").
For each merge of the range, the lines it adds against *every* parent — the
same file line, with the same text — are the merge's own; they become scanner
units attributed to the merge commit. A merge that takes one side's file as
it is adds nothing of its own, so merging the base branch in brings none of
the base's lines into the review.

Reads git only; returns units of text for :func:`gitvault.scan.scan_units`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitvault.git.log import CommitRecord
from gitvault.scan.gitdiff import DiffParser, run_git
from gitvault.scan.model import LineMap, Unit

# Added lines only, no context, no drivers or conversions (what the scanner reads).
_DIFF = (
    "diff",
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=all",
)


def _added(root: Path, parent: str, commit: str) -> dict[str, dict[int, bytes]]:
    """Per path, the lines ``commit`` adds against ``parent`` (line number -> text)."""
    parser = DiffParser(dedupe_blobs=False)
    for line in run_git([*_DIFF, parent, commit, "--"], root).split(b"\n"):
        parser.feed(line)
    parser.close()
    out: dict[str, dict[int, bytes]] = {}
    for unit in parser.units:
        lines = out.setdefault(unit.path, {})
        for index, text in enumerate(unit.data.split(b"\n")):
            lines[unit.lines.number(index)] = text
    return out


def merge_units(root: Path, records: Sequence[CommitRecord]) -> list[Unit]:
    """Units of the lines each merge commit in ``records`` adds against all its parents."""
    units: list[Unit] = []
    for record in records:
        if len(record.parents) < 2:
            continue
        per_parent = [_added(root, parent, record.id) for parent in record.parents]
        first, others = per_parent[0], per_parent[1:]
        for path, lines in first.items():
            own = sorted(
                number
                for number, text in lines.items()
                if all(other.get(path, {}).get(number) == text for other in others)
            )
            if not own:
                continue
            units.append(
                Unit(
                    path=path,
                    data=b"\n".join(lines[n] for n in own),
                    lines=LineMap(tuple(range(len(own))), tuple(own)),
                    commit=record.id,
                )
            )
    return units
