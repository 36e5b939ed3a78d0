"""The last step of a rotation: keep what must not be lost, commit what rotated.

Once every key's outcome is known (:mod:`gitvault.rotate.engine`), each file
has two versions:

- **on disk**: the new value of every key that rotated *or whose rollback
  failed* (the external system holds it, or may), the old value elsewhere;
- **committed**: the new value only of the keys that rotated.

The on-disk version is written first and stays; the committed version is
staged from the index (:func:`gitvault.git.commit.commit_paths` with its bytes),
so no moment exists where a value an external system holds is missing from the
work tree. The journal moves to ``committing`` (with both versions) before
``git commit`` runs: a kill during a slow hook or a signing prompt leaves
everything ``gitvault recover --finish`` needs.

No value ever reaches a message, a trailer or the report: the hook output that
is shown has every old and new value replaced by ``***``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gitvault import fsutil, journal
from gitvault.errors import GitvaultError, Interrupted
from gitvault.git.trailers import VaultTrailers, build_vault_message
from gitvault.rotate.model import (
    ROLLBACK_FAILED,
    ROTATED,
    STDIN,
    KeyResult,
    NeedsHuman,
    RotationReport,
)

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.git.repo import Repository
    from gitvault.rotate.files import RotatingFile


def settle(
    repo: Repository,
    files: Mapping[str, RotatingFile],
    results: tuple[KeyResult, ...],
    *,
    allow_staged: bool,
    branch: str | None,
    message: str | None,
    needs_human: Sequence[NeedsHuman],
    record: journal.Journal,
    payload: Mapping[str, Any],
    recipients: Sequence[str],
) -> RotationReport:
    """Write the on-disk versions, commit the committed ones (see the module docstring)."""
    from gitvault.git.commit import CommitFailed, commit_paths
    from gitvault.git.worktree import switch_to_new_branch, undo_new_branch
    from gitvault.rotate.commands import redact

    status = {(r.file, r.key): r.status for r in results}

    def pick(relpath: str, wanted: tuple[str, ...]) -> Callable[[str], bool]:
        return lambda key: status[(relpath, key)] in wanted

    to_commit = {rel: s.render(pick(rel, (ROTATED,))) for rel, s in files.items()}
    # Render a second version only where it differs, so a clean file is byte-equal
    # to its commit (a re-render would carry a new timestamp and MAC).
    to_keep = {
        rel: s.render(pick(rel, (ROTATED, ROLLBACK_FAILED)))
        if any(status[(rel, k)] == ROLLBACK_FAILED for k in s.new)
        else to_commit[rel]
        for rel, s in files.items()
    }
    changed = [rel for rel, data in to_commit.items() if data != files[rel].original]
    held = [f"{r.file}:{r.key}" for r in results if r.status == ROLLBACK_FAILED]
    applied_elsewhere = bool(held) or any(r.applied for r in results if r.status == ROTATED)

    # The work tree first: new values stay wherever an external system may hold them.
    for rel, state in files.items():
        fsutil.atomic_write(state.path, to_keep[rel])

    text = message_for(results, message)
    after = {
        **payload,
        "commit": {rel: journal.encode(to_commit[rel]) for rel in changed},
        "disk": {rel: journal.encode(data) for rel, data in to_keep.items()},
        "text": text,
    }
    if not changed:
        _finish_record(record, held, after, recipients)
        return RotationReport(
            results=results,
            uncommitted=tuple(held),
            needs_human=tuple(needs_human),
            journal=str(record.path) if held else None,
        )

    record.set_stage(journal.COMMITTING, payload=after, recipients=recipients)
    commit: CommitResult | None = None
    commit_error: str | None = None
    output: tuple[str, ...] = ()
    new_branch: str | None = None
    previous: str | None = None
    try:
        if branch is not None:
            previous = switch_to_new_branch(repo, branch)
            new_branch = branch
        commit = commit_paths(
            repo,
            changed,
            text,
            allow_other_staged=allow_staged,
            contents={rel: to_commit[rel] for rel in changed},
        )
    except GitvaultError as exc:
        masks = tuple(v for s in files.values() for v in s.values())
        commit_error = redact(exc.message.encode(), masks)
        if isinstance(exc, CommitFailed):
            output = tuple(redact(line.encode(), masks) for line in exc.output)
        if new_branch is not None:
            undo_new_branch(repo, new_branch, previous)
            new_branch = None
    except KeyboardInterrupt:
        record.release()
        raise Interrupted(
            "interrupted during the commit: the new values are in the files, uncommitted",
            hint="run `gitvault recover --finish` to commit what was applied",
        ) from None

    uncommitted = list(held)
    if commit is not None:
        _finish_record(record, held, after, recipients)
    elif not applied_elsewhere:
        # Nothing outside the repository changed: put the files back as they were.
        for state in files.values():
            fsutil.atomic_write(state.path, state.original)
        record.close()
    else:
        uncommitted += [f"{r.file}:{r.key}" for r in results if r.status == ROTATED]
        record.set_stage(journal.UNCOMMITTED)
        record.release()
    kept = record.path.exists()
    return RotationReport(
        results=results,
        commit=commit,
        branch=new_branch,
        uncommitted=tuple(uncommitted),
        needs_human=tuple(needs_human),
        commit_error=commit_error,
        commit_output=output,
        journal=str(record.path) if kept else None,
    )


def _finish_record(
    record: journal.Journal,
    held: Sequence[str],
    payload: Mapping[str, Any],
    recipients: Sequence[str],
) -> None:
    """Close the journal, or keep it while a value whose rollback failed is uncommitted."""
    if held:
        record.set_stage(journal.KEPT, payload={**payload, "commit": {}}, recipients=recipients)
        record.release()
    else:
        record.close()


def message_for(results: Sequence[KeyResult], message: str | None) -> str:
    """Subject, a per-key body, and the rotate trailers — names and specs only."""
    from gitvault.commits import split_message

    done = [r for r in results if r.status == ROTATED]
    files = list(dict.fromkeys(r.file for r in done))
    if len(done) == 1:
        default = f"gitvault: rotate {done[0].key} in {done[0].file}"
    elif len(files) == 1:
        default = f"gitvault: rotate {len(done)} keys in {files[0]}"
    else:
        default = f"gitvault: rotate {len(done)} keys in {len(files)} files"
    subject, body = split_message(message, default)
    lines = []
    for r in done:
        steps = [f"generator {r.spec}" if r.spec != STDIN else "value from stdin"]
        if r.applied:
            steps.append("applied")
        steps.append("verified yes" if r.verified else "verified no-verify-command")
        lines.append(f"- {r.file} {r.key}: " + ", ".join(steps))
    skipped = [r for r in results if r.status != ROTATED]
    if skipped:
        lines.append("")
        lines += [f"- not rotated: {r.file} {r.key} ({r.status})" for r in skipped]
    body = "\n".join(filter(None, [body, "\n".join(lines)]))
    trailers = VaultTrailers(
        action="rotate",
        files=tuple(files),
        keys={f: tuple(r.key for r in done if r.file == f) for f in files},
        generators={(r.file, r.key): r.spec for r in done},
        verified={
            f: tuple(r.key for r in done if r.file == f and r.verified)
            for f in files
            if any(r.verified for r in done if r.file == f)
        },
    )
    return build_vault_message(subject, trailers, body)
