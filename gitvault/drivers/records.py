"""Conflict records of the merge driver, and the cheap helpers its CLI needs first.

A conflict leaves the conflicting key paths (names only) in
``$GIT_DIR/gitvault-conflicts/PATH.json``, so ``gitvault edit`` can name them
and clear the record once the file is resolved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitvault.drivers.treemerge import Conflict
from gitvault.errors import GitvaultError
from gitvault.fsutil import MAX_POLICY_BYTES, read_input

CONFLICTS_DIR = "gitvault-conflicts"


def conflicts_dir(cwd: Path) -> Path:
    """``$GIT_DIR/gitvault-conflicts`` of the repository at ``cwd`` (worktrees included)."""
    proc = subprocess.run(
        ["git", "rev-parse", "--git-path", CONFLICTS_DIR],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise GitvaultError("not inside a git repository")
    return (cwd / proc.stdout.strip()).resolve()


def record_path(cwd: Path, relpath: str) -> Path:
    directory = conflicts_dir(cwd)
    target = (directory / (relpath + ".json")).resolve()
    if directory not in target.parents:
        raise GitvaultError(f"unexpected merge path {relpath[:80]!r}")
    return target


def write_record(cwd: Path, relpath: str, conflicts: Sequence[Conflict], data: bytes) -> Path:
    """Record the conflicting key paths (names only) for ``relpath``; returns the record."""
    from gitvault import fsutil

    path = record_path(cwd, relpath)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": "gitvault.conflicts/v1",
        "path": relpath,
        "keys": [c.key for c in conflicts],
        "conflicts": [{"key": c.key, "kind": c.kind} for c in conflicts],
        "kept": "ours",
        "theirs": "MERGE_HEAD",
        "written_sha256": hashlib.sha256(data).hexdigest(),
        "time": int(time.time()),
    }
    fsutil.atomic_write(path, (json.dumps(payload, indent=2) + "\n").encode(), mode=0o644)
    return path


def clear_record(cwd: Path, relpath: str) -> None:
    with contextlib.suppress(FileNotFoundError, GitvaultError):
        record_path(cwd, relpath).unlink()


def pending_conflicts(root: Path) -> list[dict[str, Any]]:
    """Conflict records whose file is still exactly as the merge driver wrote it."""
    try:
        directory = conflicts_dir(root)
    except GitvaultError:
        return []
    out = []
    for record in sorted(directory.rglob("*.json")) if directory.is_dir() else []:
        try:
            payload = json.loads(read_input(record, limit=MAX_POLICY_BYTES))
            data = read_input(root / payload["path"], root=root)
        except (GitvaultError, OSError, ValueError, KeyError, TypeError):
            continue
        if hashlib.sha256(data).hexdigest() == payload.get("written_sha256"):
            out.append(payload)
    return out


def merge_text(base: Path, ours: Path, theirs: Path, name: str) -> int:
    """git's own line merge (``git merge-file``) for files that are not vault files."""
    proc = subprocess.run(
        [
            "git",
            "merge-file",
            "-L",
            f"{name} (ours)",
            "-L",
            f"{name} (base)",
            "-L",
            f"{name} (theirs)",
            "--",
            str(ours),
            str(base),
            str(theirs),
        ],
        capture_output=True,
        check=False,
    )
    return 0 if proc.returncode == 0 else 1


def is_vault_bytes(data: bytes) -> bool:
    """Cheap check for sops metadata in any format (no pygit2, no parse).

    A JSON, dotenv or binary-format vault file must reach the per-key merge:
    git's line merge would write conflict markers into it.
    """
    from gitvault.sops.formats import looks_encrypted

    return looks_encrypted(data, need_mac=False)
