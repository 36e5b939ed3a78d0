"""Exposed values: leaked secrets that stay overdue until a later commit changes them.

``migrate import`` records each value it brings in from a leak with a
``Gitvault-Exposed: <file>: <key>, …`` trailer on its commit. A value stays
exposed, whatever its age and whatever the policy's period, until a commit
that is *not* an ancestor of the exposing commit (reachable from the revision
being judged, not from the exposure) changes the value — a rotation. Re-keys
do not count (the value is the same); nor does any message text.

Why history and not a file: nobody can remove a trailer from a pushed commit
without rewriting history, and a key-less writer cannot clear an exposure
without replacing the value itself — which ``review`` and the trust checks
attribute like any other write.

This module reads commit messages and commit ids only; it never sees a value.
"""

from __future__ import annotations

import secrets as _secrets
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import GitError
from gitvault.git.trailers import parse_vault_trailers
from gitvault.history.events import ADDED, REKEYED, ROTATED, KeyEvent

MAX_EXPOSING_COMMITS = 10_000


@dataclass(frozen=True)
class Exposure:
    """Where a key's exposure was recorded: the commit and its author time."""

    commit: str
    time: int


def exposing_commits(root: Path, rev: str = "HEAD") -> dict[tuple[str, str], Exposure]:
    """(file, key) -> the newest commit up to ``rev`` whose trailers mark it exposed."""
    if rev.startswith("-"):
        raise GitError(f"invalid revision {rev[:60]!r}")
    nonce = _secrets.token_hex(8)
    proc = subprocess.run(
        [
            "git",
            "log",
            "-i",
            "--grep=^gitvault-exposed:",
            f"--max-count={MAX_EXPOSING_COMMITS}",
            f"--format=%x1e{nonce}%H %at%n%B",
            rev,
            "--",
        ],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        if first and "does not have any commits" in first[0]:
            return {}
        raise GitError(f"git log failed: {first[0] if first else proc.returncode}")
    found: dict[tuple[str, str], Exposure] = {}
    text = proc.stdout.decode("utf-8", "surrogateescape")
    for record in text.split(f"\x1e{nonce}")[1:]:  # newest first
        head, _, message = record.partition("\n")
        commit, _, when = head.partition(" ")
        claims = parse_vault_trailers(message)
        for path, keys in claims.exposed.items():
            for key in keys:
                found.setdefault((path, key), Exposure(commit, int(when or 0)))
    return found


def is_value_change(event: KeyEvent) -> bool:
    """Events that give a key a new value (what clears an exposure)."""
    return event.kind in (ADDED, ROTATED) or (event.kind == REKEYED and bool(event.value_changed))


class ChangeLog:
    """Collects, per key, the commits that changed its value (fed from the audit walk)."""

    def __init__(self, wanted: Iterable[tuple[str, str]]) -> None:
        self.wanted = frozenset(wanted)
        self.commits: dict[tuple[str, str], set[str]] = {}

    def __call__(self, event: KeyEvent) -> None:
        if event.key is None or not is_value_change(event):
            return
        ident = (event.file, event.key)
        if ident in self.wanted:
            self.commits.setdefault(ident, set()).add(event.commit)


def still_exposed(
    root: Path,
    exposures: Mapping[tuple[str, str], Exposure],
    changes: Mapping[tuple[str, str], set[str]],
    rev: str = "HEAD",
) -> dict[tuple[str, str], Exposure]:
    """The exposures no value change after them (``exposure..rev``) has cleared.

    A change counts only if the key's stored text at ``rev`` differs from the
    one the exposing commit holds: a revert of the rotation (the old ciphertext
    back, so the leaked value back) leaves the key exposed. A trailer naming a
    key its own commit does not hold is ignored (nothing of ours leaked there).
    """
    after: dict[str, frozenset[str]] = {}
    out: dict[tuple[str, str], Exposure] = {}
    texts: dict[tuple[str, str], dict[str, str] | None] = {}
    for ident, exposure in exposures.items():
        then = _leaves(root, exposure.commit, ident[0], texts)
        if then is None or ident[1] not in then:
            continue  # the trailer names a key its own commit does not hold: nothing leaked there
        commits = changes.get(ident, set()) - {exposure.commit}
        if commits:
            if exposure.commit not in after:
                after[exposure.commit] = _since(root, exposure.commit, rev)
            if commits & after[exposure.commit]:
                file, key = ident
                now = _leaves(root, rev, file, texts)
                same = now is not None and then.get(key) == now.get(key)
                if not same:
                    continue
        out[ident] = exposure
    return out


def _leaves(
    root: Path, rev: str, file: str, cache: dict[tuple[str, str], dict[str, str] | None]
) -> dict[str, str] | None:
    """Key path -> stored text of ``file`` at ``rev`` (None when unreadable)."""
    from gitvault.errors import GitvaultError
    from gitvault.sops.view import parse_for_history

    if (rev, file) in cache:
        return cache[(rev, file)]
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{rev}:{file}"], cwd=root, capture_output=True, check=False
    )
    found: dict[str, str] | None = None
    if proc.returncode == 0:
        try:
            found = dict(parse_for_history(proc.stdout, file).leaves)
        except GitvaultError:
            found = None
    cache[(rev, file)] = found
    return found


def _since(root: Path, commit: str, rev: str) -> frozenset[str]:
    proc = subprocess.run(
        ["git", "rev-list", f"{commit}..{rev}", "--"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"git rev-list failed for the exposure recorded in {commit[:12]}")
    return frozenset(proc.stdout.decode().split())
