"""Rotation end to end: new values, apply and verify elsewhere, write, one commit.

:func:`gitvault.rotate.plan.rotate_keys` (``gitvault rotate PATH [KEY…]``) and
:func:`gitvault.rotate.plan.rotate_due` (``gitvault rotate --due``) plan a list
of :class:`Job` values and hand them to :func:`execute`, which keeps this order
so that no value an external system may hold is ever lost, not even to SIGKILL:

1. **check** everything that can be checked before any side effect: the
   repository (complete history, a branch, no merge in progress, no unrelated
   staged changes, each file committed and unchanged since HEAD, no interrupted
   operation pending on it), the keys, the generators, the new branch name;
   decrypt each file and compute its new encrypted bytes in memory;
2. **journal** what is about to happen (:mod:`gitvault.journal`: old and new
   bytes of each file, encrypted to its recipients, under ``.git/gitvault/``);
3. **write** each file with its new values (atomically) *before* any apply
   command runs. From then on the file holds every new value until the outcome
   is known, and the previous one stays readable at HEAD;
4. **apply and verify** key by key (:func:`gitvault.rotate.commands.run_rotation`;
   a failed verify is rolled back by running apply with the old value), the
   journal recording each key's phase before and after its commands;
5. **settle** (:mod:`gitvault.rotate.settle`): the work tree keeps the new
   value of every key that rotated *or whose rollback failed*; the commit is
   built from the index (:func:`gitvault.git.commit.commit_paths` with the bytes
   to commit), so the work tree is never rewritten to make it.

After a crash at any point the journal says what happened, and ``gitvault
recover`` finishes or undoes it (:mod:`gitvault.rotate.recover`).

Old and new ciphertexts are reused exactly (the IV stashes of the old and the
new version are merged), so the committed file differs from HEAD only in the
keys that really rotated, and history never mistakes a rolled-back key for a
rotation.

This module returns dataclasses and raises :mod:`gitvault.errors` classes; it
never prints, and no value ever reaches a message, a trailer or a field of the
report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil, journal
from gitvault.errors import BadInput, GitError, Interrupted
from gitvault.git.repo import Repository
from gitvault.rotate.commands import CommandFailed, check_passable, run_rotation
from gitvault.rotate.files import RotatingFile, load_file, merged_stash, scalar_text
from gitvault.rotate.model import (
    FAILED,
    NOT_RUN,
    ROLLBACK_FAILED,
    ROTATED,
    STDIN,
    Job,
    KeyResult,
    NeedsHuman,
    Overrides,
    RotationReport,
    Secret,
    ValueSource,
    parse_timeout,
)

if TYPE_CHECKING:
    from gitvault.identities import Identities

__all__ = [
    "FAILED",
    "NOT_RUN",
    "ROLLBACK_FAILED",
    "ROTATED",
    "STDIN",
    "Job",
    "KeyResult",
    "NeedsHuman",
    "Overrides",
    "RotatingFile",
    "RotationReport",
    "Secret",
    "ValueSource",
    "execute",
    "load_file",
    "merged_stash",
    "parse_timeout",
    "scalar_text",
]


def _precheck(
    repo: Repository, relpaths: Sequence[str], *, allow_staged: bool, branch: str | None
) -> None:
    from gitvault.commits import check_repository
    from gitvault.git.worktree import check_new_branch, uncommitted_many

    repo.require_history()
    journal.refuse_if_pending(repo.state().git_dir, relpaths)
    check_repository(repo, relpaths, allow_staged=allow_staged)
    at_head = repo.entries_at("HEAD", relpaths)
    changes = uncommitted_many(repo, relpaths)
    for relpath in relpaths:
        if relpath not in at_head:
            raise GitError(
                f"{relpath} is not committed yet: refusing to rotate a value with no history",
                hint="commit the file first, so the previous value stays readable from history",
            )
        change = changes.get(relpath)
        if change is not None:
            raise GitError(
                f"{relpath} has uncommitted changes ({change}): refusing to rotate over them",
                hint="commit or discard them first",
            )
    if branch is not None:
        check_new_branch(repo, branch)


def journal_payload(
    files: Mapping[str, RotatingFile],
    jobs: Sequence[Job],
    cwd: Path,
    *,
    message: str | None,
    branch: str | None,
    allow_staged: bool,
) -> dict[str, Any]:
    """What recovery needs (encrypted bytes, names and commands; no plaintext value)."""
    return {
        "op": "rotate",
        "files": {
            rel: {"old": journal.encode(s.original), "new": journal.encode(s.render(_all))}
            for rel, s in files.items()
        },
        "jobs": [
            {
                "file": j.file,
                "key": j.key,
                "spec": j.source.spec,
                "apply": j.apply,
                "verify": j.verify,
                "timeout": j.timeout,
            }
            for j in jobs
        ],
        "cwd": str(cwd),
        "message": message,
        "branch": branch,
        "allow_staged": allow_staged,
    }


def _all(_key: str) -> bool:
    return True


def execute(
    repo: Repository,
    jobs: Sequence[Job],
    identities: Identities,
    *,
    cwd: Path,
    allow_staged: bool = False,
    branch: str | None = None,
    message: str | None = None,
    needs_human: Sequence[NeedsHuman] = (),
    env: Mapping[str, str] | None = None,
) -> RotationReport:
    """Rotate ``jobs`` (see the module docstring for the order of steps)."""
    from gitvault.rotate.settle import settle

    if not jobs:
        return RotationReport(needs_human=tuple(needs_human))
    by_file: dict[str, list[Job]] = {}
    for job in jobs:
        by_file.setdefault(job.file, []).append(job)
    _precheck(repo, list(by_file), allow_staged=allow_staged, branch=branch)

    # 1. check and compute, no side effects
    files: dict[str, RotatingFile] = {}
    for relpath, file_jobs in by_file.items():
        original = fsutil.read_input(repo.root / relpath)
        state = load_file(repo.root, relpath, [j.key for j in file_jobs], identities, original)
        for job in file_jobs:
            new = job.source.new_value()
            old = state.old[job.key]
            if old is not None and old.reveal() == new:
                raise BadInput(
                    f"the new value of {relpath}:{job.key} is the same as the current one"
                )
            if job.apply or job.verify:
                # Commands get both values in their environment, which cannot hold
                # a NUL: refuse now, before anything is written (step 3).
                check_passable(relpath, job.key, new, None if old is None else old.reveal())
            state.new[job.key] = Secret(new)
        from gitvault.rotate.schema import check_new_values

        check_new_values(state)  # the rule's schema, before anything is written or run
        state.stash = merged_stash(state, state.render(_all), identities)
        files[relpath] = state

    # 2. journal what is about to happen, before anything changes
    payload = journal_payload(
        files, jobs, cwd, message=message, branch=branch, allow_staged=allow_staged
    )
    recipients = journal.recipients_of(s.original for s in files.values())
    record = journal.Journal.begin(
        repo.state().git_dir,
        "rotate",
        head=repo.state().head,
        files=list(files),
        keys=[(j.file, j.key) for j in jobs],
        payload=payload,
        recipients=recipients,
    )

    # 3. write every new value before anything runs elsewhere
    written: list[RotatingFile] = []
    try:
        for state in files.values():
            fsutil.atomic_write(state.path, state.render(_all))
            written.append(state)
    except BaseException:
        for state in written:
            fsutil.atomic_write(state.path, state.original)
        record.close()
        raise
    record.set_stage(journal.WRITTEN)

    # 4. apply and verify, key by key
    results = _apply_all(jobs, files, cwd, env, record)

    # 5. settle: commit what rotated, keep what must not be lost
    ordered = tuple(results[(j.file, j.key)] for j in jobs)
    return settle(
        repo,
        files,
        ordered,
        allow_staged=allow_staged,
        branch=branch,
        message=message,
        needs_human=needs_human,
        record=record,
        payload=payload,
        recipients=recipients,
    )


def _apply_all(
    jobs: Sequence[Job],
    files: Mapping[str, RotatingFile],
    cwd: Path,
    env: Mapping[str, str] | None,
    record: journal.Journal,
) -> dict[tuple[str, str], KeyResult]:
    results: dict[tuple[str, str], KeyResult] = {}
    running: Job | None = None
    try:
        stop = False
        for job in jobs:
            if stop:
                results[(job.file, job.key)] = _not_run(job)
                record.set_phase(job.file, job.key, journal.NOT_RUN)
                continue
            running = job
            if job.apply or job.verify:
                record.set_phase(job.file, job.key, journal.APPLYING)
            result = _run(job, files[job.file], cwd, env, record.set_child)
            results[(job.file, job.key)] = result
            record.set_phase(job.file, job.key, result.status)
            running = None
            stop = result.status == ROLLBACK_FAILED
    except BaseException as exc:
        # Interrupted (Ctrl-C, SIGTERM) while a command ran: its system may hold
        # either value, so the file keeps the new one, uncommitted, and the
        # journal says which; keys that did not start get their old value back.
        done = {k for k, r in results.items() if r.status in (ROTATED, ROLLBACK_FAILED)}
        if running is not None:
            done.add((running.file, running.key))
        for relpath, state in files.items():
            fsutil.atomic_write(state.path, state.render(_member(relpath, done)))
        record.release()
        if not isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        where = f"{running.file}:{running.key}" if running else "a rotation"
        raise Interrupted(
            f"interrupted during {where}: changed keys are written to the files, uncommitted; "
            "the previous values are at HEAD (gitvault decrypt --rev HEAD)",
            hint="check the external systems, then `gitvault recover --finish` (commit what "
            "was applied) or `gitvault recover --undo`",
        ) from None
    return results


def _member(relpath: str, keys: set[tuple[str, str]]) -> Callable[[str], bool]:
    return lambda key: (relpath, key) in keys


def _not_run(job: Job) -> KeyResult:
    return KeyResult(
        job.file,
        job.key,
        job.source.spec,
        NOT_RUN,
        has_verify=bool(job.verify),
        message=f"{job.file}:{job.key} was not rotated: an earlier rollback failed",
    )


def _run(
    job: Job,
    state: RotatingFile,
    cwd: Path,
    env: Mapping[str, str] | None,
    on_start: Callable[[int], None] | None = None,
) -> KeyResult:
    old = state.old[job.key]
    try:
        outcome = run_rotation(
            file=job.file,
            key=job.key,
            new_value=state.new[job.key].reveal(),
            old_value=None if old is None else old.reveal(),
            apply=job.apply,
            verify=job.verify,
            cwd=cwd,
            timeout=job.timeout,
            base_env=env,
            on_start=on_start,
        )
    except CommandFailed as exc:
        # An apply that failed outright was never rolled back, but nothing changed.
        return KeyResult(
            job.file,
            job.key,
            job.source.spec,
            ROLLBACK_FAILED if exc.rollback_failed else FAILED,
            applied=False,
            verified=False,
            has_verify=bool(job.verify),
            message=exc.message,
            details=exc.details,
        )
    except OSError as exc:
        return KeyResult(
            job.file,
            job.key,
            job.source.spec,
            FAILED,
            has_verify=bool(job.verify),
            message=f"cannot run the commands for {job.file}:{job.key} ({exc.strerror}); "
            "nothing was changed",
        )
    return KeyResult(
        job.file,
        job.key,
        job.source.spec,
        ROTATED,
        applied=outcome.applied,
        verified=outcome.verified,
        has_verify=bool(job.verify),
        message=f"{job.file}:{job.key} rotated",
    )
