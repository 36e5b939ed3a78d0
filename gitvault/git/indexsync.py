"""Finish the real index update of a commit whose process was killed right after ``git commit``.

:func:`gitvault.git.commit.commit_paths` commits from a private index and only
then updates the real index for the committed paths. A process killed between
the two leaves HEAD holding the new blobs while the real index still holds the
old ones: ``git status`` shows the file as changed although the work tree
equals HEAD, the next ``--commit`` refuses it as "uncommitted changes", and a
plain ``git commit`` would silently commit the *old* version back.

So, before ``git commit`` runs, :func:`record` writes a marker in
``$GIT_DIR/gitvault/`` naming each path, the index entry it had and the entry
it is about to get (modes, blob ids and paths only: no content), and
:func:`done` removes it once the real index is updated. :func:`heal`, run
before gitvault checks a repository for a commit, finishes the update of a
dead process's marker for every path where the commit landed (HEAD holds the
marker's new blob) and the real index still holds exactly the entry it had
before; anything else (a commit that never landed, a path staged again since)
is left as it is. Then the marker is removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.git.log import run_git

if TYPE_CHECKING:
    from gitvault.git.repo import Repository

_PREFIX = "index-pending-"


def _index_entries(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """``"MODE BLOB"`` of each of ``paths`` in the real index (stage 0 only; one git call)."""
    wanted = set(paths)
    out = run_git(root, ["ls-files", "-s", "-z"])
    found: dict[str, str] = {}
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        meta, _tab, path = entry.partition("\t")
        fields = meta.split()
        if path in wanted and len(fields) == 3 and fields[2] == "0":
            found[path] = f"{fields[0]} {fields[1]}"
    return found


def record(repo: Repository, git_dir: Path, lines: Sequence[str]) -> Path | None:
    """Write the marker for ``lines`` (``update-index --index-info`` lines); its path."""
    from gitvault import fsutil
    from gitvault.tempfiles import process_token

    paths = [line.split("\t", 1)[1].rstrip("\n") for line in lines]
    before = _index_entries(repo.root, paths)
    body = "".join(
        f"{before.get(path, '-')}\t{line}" for path, line in zip(paths, lines, strict=True)
    )
    marker = git_dir / "gitvault" / f"{_PREFIX}{process_token()}.txt"
    try:
        fsutil.atomic_write(marker, body.encode("utf-8", "surrogateescape"), mode=0o600)
    except OSError:
        return None  # without a marker a kill here needs `git reset -- PATH`, as before
    return marker


def done(marker: Path | None) -> None:
    """Remove the marker: the real index is updated (or the commit did not happen)."""
    if marker is not None:
        with contextlib.suppress(OSError):
            marker.unlink()


def heal(repo: Repository) -> None:
    """Finish the real index update of every dead process's marker (see the docstring)."""
    from gitvault.git.stalelock import clear_stale
    from gitvault.tempfiles import process_alive

    git_dir = repo.state().git_dir
    clear_stale(git_dir)  # a killed git's index.lock would fail every index write
    directory = git_dir / "gitvault"
    markers: list[Path] = []
    with contextlib.suppress(OSError):
        markers = [p for p in directory.iterdir() if p.name.startswith(_PREFIX)]
    if not markers:
        return
    for marker in markers:
        try:
            pid, start = marker.name[len(_PREFIX) :].removesuffix(".txt").split("-")[:2]
            if process_alive(int(pid), start):
                continue
            _finish(repo, marker.read_text(encoding="utf-8", errors="surrogateescape"))
        except (OSError, ValueError):
            continue
        with contextlib.suppress(OSError):
            marker.unlink()


def _finish(repo: Repository, body: str) -> None:
    """Apply the marker's lines where the commit landed and nobody staged anything since."""
    planned: dict[str, tuple[str, str]] = {}  # path -> (index entry before, index line)
    for row in body.splitlines(keepends=True):
        before, _tab, line = row.partition("\t")
        path = line.split("\t", 1)[1].rstrip("\n")
        planned[path] = (before, line)
    if repo.state().is_empty:
        return
    head = repo.entries_at("HEAD", list(planned))
    now = _index_entries(repo.root, list(planned))
    lines = []
    for path, (before, line) in planned.items():
        mode_blob = line.split("\t", 1)[0]
        landed = (
            f"{head[path][0]:o} {head[path][1]}" == mode_blob
            if path in head
            else mode_blob.endswith(" " + "0" * 40)
        )
        if landed and now.get(path, "-") == before and before != mode_blob:
            lines.append(line)
    if lines:
        run_git(repo.root, ["update-index", "--index-info"], stdin="".join(lines).encode())
