"""``offboard NAME``: remove a person everywhere, re-key, and list what they could read.

Removing a recipient does not un-share what they already read, so offboarding
does four things, in this order, and nothing is written until every check and
every decryption has passed:

1. **policy**: the person is removed from ``recipients``, every group and every
   rule (:mod:`gitvault.team.recipients`; refused when a rule would be left
   with no reader);
2. **exposure**: every key they could ever read, from the recipients recorded
   in each past version of each vault file (:mod:`gitvault.team.exposure`): a
   key that existed while they were a recipient is listed, a key added after
   their removal is not. Their keys are every public key any version of the
   policy gave their name; with an identity that can unwrap past data keys,
   versions that shared a data key they held count too;
3. **re-key**: every current file they could read, now or in any past version,
   gets a new data key wrapped for the readers the new policy names;
4. **rotate** (``--rotate``): exposed keys that still exist and have a
   generator in the policy get new values in the same re-encryption; their
   ``apply``/``verify`` commands run after the files are written (as in
   ``rotate``: a failed verify rolls back, and that key keeps its old value).
   The rest are listed as needing a human (no generator, or gone from the vault:
   rotate them wherever they are still used).

With ``commit=True`` the policy and the files go into ONE commit whose trailers
say what happened: ``Gitvault-Action: offboard``, ``Gitvault-Offboarded``,
``Gitvault-File`` per path, ``Gitvault-Rekey`` per file, ``Gitvault-Keys`` and
``Gitvault-Generator`` for rotated keys, ``Gitvault-Recipients``.

Returns an :class:`OffboardReport`; never prints, and no value reaches the
report, a trailer or a message.

The per-file state and the rotation jobs (steps 3-4) are in
:mod:`gitvault.team.offboard_rotate`; the report and the commit message in
:mod:`gitvault.team.offboard_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault import fsutil
from gitvault.errors import BadInput, GitError, GitvaultError, Interrupted
from gitvault.policy import POLICY_FILE
from gitvault.rotate import offboard_journal
from gitvault.rotate.engine import FAILED as FAILED
from gitvault.rotate.engine import ROLLBACK_FAILED as ROLLBACK_FAILED
from gitvault.rotate.engine import ROTATED as ROTATED
from gitvault.team import exposure as exp
from gitvault.team.offboard_report import GONE as GONE
from gitvault.team.offboard_report import NEEDS_HUMAN as NEEDS_HUMAN
from gitvault.team.offboard_report import NOT_ROTATED as NOT_ROTATED
from gitvault.team.offboard_report import ExposedKey as ExposedKey
from gitvault.team.offboard_report import OffboardReport as OffboardReport
from gitvault.team.offboard_report import commit_message
from gitvault.team.offboard_rotate import OffboardFile, RotationJob, plan_job, run_commands
from gitvault.team.reencrypt import load_each
from gitvault.team.rekey import write_all

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.identities import Identities
    from gitvault.policy import Policy


def offboard(
    start: Path,
    name: str,
    ids: Identities,
    *,
    rotate: bool = False,
    commit: bool = False,
    message: str | None = None,
    allow_staged: bool = False,
    env: Mapping[str, str] | None = None,
) -> OffboardReport:
    """Offboard ``name`` (see the module docstring).

    Runs under the work tree's exclusive lock (:func:`gitvault.locking.tree_lock`):
    the policy and every file are read after it is held, so no concurrent
    writer's change is lost or left encrypted to the person.
    """
    from gitvault import policy as policy_mod
    from gitvault.locking import tree_lock

    root = policy_mod.find_root(start)
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    with tree_lock(root, "offboard"):
        return _offboard_locked(
            policy_mod.load(root),
            name,
            ids,
            rotate=rotate,
            commit=commit,
            message=message,
            allow_staged=allow_staged,
            env=env,
        )


def _offboard_locked(
    pol: Policy,
    name: str,
    ids: Identities,
    *,
    rotate: bool,
    commit: bool,
    message: str | None,
    allow_staged: bool,
    env: Mapping[str, str] | None,
) -> OffboardReport:
    from gitvault import policy as policy_mod
    from gitvault.crypto.envelope import short_recipient
    from gitvault.git.repo import Repository
    from gitvault.history.schedule import policy_prefix
    from gitvault.team import commitplan
    from gitvault.team.recipients import remove_edit
    from gitvault.verify import covered_files

    repo = Repository.discover(pol.root)
    if repo.state().is_shallow:
        raise GitError(
            "shallow clone: history is incomplete, so what they could read cannot be listed",
            hint="run `git fetch --unshallow` first",
        )
    prefix = policy_prefix(pol, repo.root)
    policy_rel = prefix + POLICY_FILE

    # 1. who they are, and the new policy (validated before anything else)
    policies = exp.policy_versions(repo, policy_rel, pol.path)
    person = exp.History(policies=policies).keys_of(name)
    if not person:
        raise BadInput(f"no recipient named {name} in the policy or its history")
    edit = remove_edit(pol, name) if name in pol.recipients else None
    new_pol = edit.policy if edit is not None else pol

    # 2. everything they could read
    covered = covered_files(pol)
    globs = {g for pv in policies for g in pv.globs} | {r.path for r in pol.rules}
    regexes = [policy_mod.glob_to_regex(g) for g in globs]

    def wanted(path: str) -> bool:
        rest = path[len(prefix) :]
        return path.startswith(prefix) and any(r.fullmatch(rest) for r in regexes)

    versions = exp.file_versions(
        repo,
        wanted,
        exp.pathspecs(globs, prefix),
        [(prefix + rel, pol.root / rel) for rel in covered],
        ids,
    )
    exposed = exp.exposure(versions, person)
    current = {v.file: v for v in versions if v.commit == exp.WORKTREE}
    exposed_files = {e.file for e in exposed}

    # 3. every current file they could read, decrypted now (all or nothing), one
    # at a time: only the files whose keys may rotate keep their documents.
    to_rekey = [
        rel
        for rel in covered
        if prefix + rel in exposed_files
        or (prefix + rel in current and current[prefix + rel].recipients & person)
    ]
    # The commit holds the re-keyed files and the policy: changed here, or
    # edited by hand before (which is how one offboards); a file an earlier
    # plain offboard re-keyed is fine, an uncommitted value change is refused.
    target = commitplan.plan(pol, to_rekey, allow_staged=allow_staged) if commit else None
    states: dict[str, OffboardFile] = {}
    for loaded in load_each(new_pol, to_rekey, ids):
        state = OffboardFile.of(loaded, prefix + loaded.relpath)
        if target is not None:
            commitplan.require_only_rekeyed(target, [(state.repo_rel, loaded.plain)], ids)
        if not (rotate and state.repo_rel in exposed_files):
            state.drop_plaintext()
        states[loaded.relpath] = state

    # 4. what to rotate, what needs a human
    listed: list[tuple[exp.Exposure, str, str]] = []  # (exposure, status, reason)
    jobs: list[RotationJob] = []
    for item in exposed:
        rel = item.file[len(prefix) :]
        now = current.get(item.file)
        if now is None or item.key not in now.keys or rel not in states:
            listed.append((item, GONE, "no longer in the vault; rotate it wherever it is used"))
            continue
        if not rotate:
            listed.append((item, NOT_ROTATED, ""))
            continue
        job, reason = plan_job(new_pol, states[rel], rel, item)
        if job is None:
            listed.append((item, NEEDS_HUMAN, reason))
            continue
        states[rel].jobs.append(job)
        jobs.append(job)
        listed.append((item, ROTATED, ""))

    for state in states.values():
        state.drop_plaintext()  # a file none of whose keys got a job
    with_policy = edit is not None or (target is not None and target.policy_changed)
    paths = ([policy_rel] if with_policy else []) + [s.repo_rel for s in states.values()]

    # 5. write, run commands, settle, commit
    report_base = dict(
        name=name,
        public_keys=tuple(sorted(short_recipient(k) for k in person)),
        policy_file=policy_rel,
        policy_changed=edit is not None,
        layout=edit.layout if edit is not None else None,
        groups=tuple(g for g, m in pol.groups.items() if name in m),
        rules=tuple(r.path for r in pol.rules if name in pol.reader_names(r)),
        rekeyed=tuple(s.repo_rel for s in states.values()),
        rotate=rotate,
        root=repo.root,
    )
    originals: list[tuple[Path, bytes | None]] = []
    if edit is not None:
        originals.append((pol.path, pol.path.read_bytes()))
    originals += [(s.path, s.original) for s in states.values()]
    # Rendered once: a re-key encrypts afresh, and the journal must name these bytes.
    new_bytes = {s.repo_rel: s.render({j.key for j in s.jobs}) for s in states.values()}
    writes = ([(pol.path, edit.text.encode("utf-8"))] if edit is not None else []) + [
        (s.path, new_bytes[s.repo_rel]) for s in states.values()
    ]
    record = offboard_journal.begin(
        repo,
        states.values(),
        jobs,
        new_bytes,
        (policy_rel, originals, writes) if edit else None,
        cwd=pol.root,
        commit=commit,
        allow_staged=allow_staged,
        message=message,
    )
    try:
        write_all(writes)
    except BaseException:
        if record is not None:
            record.close()
        raise
    details = run_commands(jobs, states, pol.root, env, record)

    committed = {(j.file, j.key) for j in jobs if j.status == ROTATED}
    on_disk = {(j.file, j.key) for j in jobs if j.status in (ROTATED, ROLLBACK_FAILED)}
    to_commit, to_keep = {}, {}
    for s in states.values():
        rel, mine = s.repo_rel, {(j.file, j.key) for j in s.jobs}
        to_commit[rel] = (
            new_bytes[rel]
            if mine <= committed
            else s.render({j.key for j in s.jobs if (j.file, j.key) in committed})
        )
        to_keep[rel] = (
            to_commit[rel]
            if not (mine & on_disk) - committed
            else s.render({j.key for j in s.jobs if (j.file, j.key) in on_disk})
        )
        if to_keep[rel] != new_bytes[rel]:
            # New values stay wherever an external system may hold them.
            fsutil.atomic_write(s.path, to_keep[rel])
    result: CommitResult | None = None
    commit_error: str | None = None
    # A value whose rollback failed is held by the external system: it counts as
    # applied, so a failed commit never restores it away.
    held_elsewhere = any(j.applied or j.status == ROLLBACK_FAILED for j in jobs)
    uncommitted = [f"{j.file}:{j.key}" for j in jobs if j.status == ROLLBACK_FAILED]
    text = None
    if commit and paths:
        rekeyed = {s.repo_rel: s.recipients for s in states.values()}
        text = commit_message(
            name, new_pol, report_base, rekeyed, jobs, listed, message, with_policy=with_policy
        )
    offboard_journal.settled(record, to_commit, to_keep, text, writes, policy_rel, edit)
    if commit and paths:
        assert text is not None
        from gitvault.git.commit import commit_paths
        from gitvault.locking import commit_lock

        try:
            with commit_lock(repo.root, "offboard"):
                result = commit_paths(
                    repo,
                    paths,
                    text,
                    allow_other_staged=allow_staged,
                    plain=[policy_rel],
                    contents=to_commit,
                )
        except GitvaultError as exc:
            if not held_elsewhere:
                _restore(originals)
                offboard_journal.done(record, ())
                raise
            commit_error = exc.message
            if exc.hint:
                commit_error += "\n" + exc.hint
        except KeyboardInterrupt:
            offboard_journal.release(record)
            raise Interrupted(
                "interrupted during the commit: the files hold the new values, uncommitted",
                hint="run `gitvault recover --finish` to commit them",
            ) from None
    if commit_error is None:
        offboard_journal.done(record, uncommitted if commit else ())
    else:
        offboard_journal.release(record)

    by_key = {(j.file, j.key): j for j in jobs}
    out = []
    for item, status, reason in listed:
        job = by_key.get((item.file, item.key))
        out.append(
            ExposedKey(
                file=item.file,
                key=item.key,
                first=item.first,
                last=item.last,
                via=item.via,
                status=job.status if job is not None else status,
                generator=job.spec if job is not None else None,
                reason=job.reason if job is not None else reason,
                verified=job.verified if job is not None else False,
            )
        )
    return OffboardReport(
        **report_base,  # type: ignore[arg-type]
        exposed=tuple(out),
        commit=result,
        commit_error=commit_error,
        uncommitted=tuple(uncommitted),
        details=tuple(details),
    )


def _restore(originals: Sequence[tuple[Path, bytes | None]]) -> None:
    from gitvault.commits import restore

    for path, before in originals:
        restore(path, before)
