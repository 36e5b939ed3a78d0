"""The write journal of ``offboard --rotate`` (see :mod:`gitvault.journal`).

``offboard`` re-keys every file the person could read and, with ``--rotate``,
runs the rotated keys' ``apply``/``verify`` commands. Those commands change
systems outside the repository, so the same rules as ``rotate`` hold: the
journal records the old and new bytes of every file (and the policy edit)
before anything is written, each key's phase around its commands, and the
exact bytes to commit and to keep once the outcome is known;
``gitvault recover`` finishes or undoes an interrupted run from it.

Offboarding without commands has no external effect and needs no journal:
every function here accepts ``record=None`` and then does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitvault import journal


def begin(
    repo: Any,
    states: Iterable[Any],
    jobs: Sequence[Any],
    new_bytes: Mapping[str, bytes],
    policy: tuple[str, Sequence[tuple[Path, bytes | None]], Sequence[tuple[Path, bytes]]] | None,
    *,
    cwd: Path,
    commit: bool,
    allow_staged: bool,
    message: str | None,
) -> journal.Journal | None:
    """Record the run before the first write, when any rotated key has a command."""
    if not any(j.apply or j.verify for j in jobs):
        return None
    items = list(states)
    journal.refuse_if_pending(repo.state().git_dir, [s.repo_rel for s in items])
    payload: dict[str, Any] = {
        "op": "offboard",
        "files": {
            s.repo_rel: {
                "old": journal.encode(s.original),
                "new": journal.encode(new_bytes[s.repo_rel]),
            }
            for s in items
        },
        "jobs": [
            {
                "file": j.file,
                "key": j.key,
                "spec": j.spec,
                "apply": j.apply,
                "verify": j.verify,
                "timeout": j.timeout,
            }
            for j in jobs
            if j.apply or j.verify
        ],
        "cwd": str(cwd),
        "commit_requested": commit,
        "allow_staged": allow_staged,
        "message": message,
    }
    if policy is not None:
        rel, originals, writes = policy
        payload["plain_old"] = {rel: journal.encode(originals[0][1] or b"")}
        payload["plain"] = {rel: journal.encode(writes[0][1])}
    # Encrypted to the readers of the new versions: never to the person leaving.
    return journal.Journal.begin(
        repo.state().git_dir,
        "offboard",
        head=repo.state().head,
        files=[s.repo_rel for s in items],
        keys=[(j.file, j.key) for j in jobs if j.apply or j.verify],
        payload=payload,
        recipients=journal.recipients_of(new_bytes.values()),
    )


def release(record: journal.Journal | None) -> None:
    """Leave the journal for ``gitvault recover`` (interrupted, or the commit failed)."""
    if record is not None:
        record.release()


def phase(record: journal.Journal | None, file: str, key: str, value: str) -> None:
    if record is not None:
        record.set_phase(file, key, value)


def settled(
    record: journal.Journal | None,
    to_commit: Mapping[str, bytes],
    to_keep: Mapping[str, bytes],
    text: str | None,
    writes: Sequence[tuple[Path, bytes]],
    policy_rel: str,
    edit: Any,
) -> None:
    """The outcome is known: record the bytes to commit and to keep, before committing."""
    if record is None:
        return
    payload = record.payload_cache
    commit = {rel: journal.encode(data) for rel, data in to_commit.items()}
    if edit is not None and text is not None:
        commit[policy_rel] = journal.encode(writes[0][1])
    record.set_stage(
        journal.COMMITTING if text is not None else journal.UNCOMMITTED,
        payload={
            **payload,
            "commit": commit if text is not None else {},
            "disk": {rel: journal.encode(data) for rel, data in to_keep.items()},
            "text": text,
        },
        recipients=record.recipients,
    )


def done(record: journal.Journal | None, held: Sequence[str]) -> None:
    """Close the journal, or keep it while a value whose rollback failed is uncommitted."""
    if record is None:
        return
    if held:
        record.set_stage(journal.KEPT)
        record.release()
    else:
        record.close()
