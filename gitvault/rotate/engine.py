"""Rotation end to end: new values, apply and verify elsewhere, write, one commit.

:func:`rotate_keys` (``gitvault rotate PATH [KEY…]``) and :func:`rotate_due`
(``gitvault rotate --due``) plan a list of :class:`Job` values and hand them to
:func:`execute`, which keeps this order so that no state is ever lost:

1. **check** everything that can be checked before any side effect: the
   repository (complete history, a branch, no merge in progress, no unrelated
   staged changes, each file committed and unchanged since HEAD), the keys
   (they exist and hold single values), the generators, the new branch name;
   decrypt each file and compute its new encrypted bytes in memory;
2. **write** each file with its new values (atomically) *before* any apply
   command runs: from then on a new value an external system may hold is on
   disk, and the previous one stays readable at HEAD (``decrypt --rev HEAD``),
   even if the process is killed;
3. **apply and verify** key by key (:func:`gitvault.rotate.commands.run_rotation`;
   a failed verify is rolled back by running apply with the old value);
4. **settle** each file: keys that rotated keep their new value, keys that
   failed and were rolled back get their old value *and their old ciphertext*
   back; commit the files that changed (optionally on a new branch), with
   trailers. A key whose rollback failed keeps its new value, written to the
   file but left out of the commit, and the report says so loudly: the
   external system holds it.

Old and new ciphertexts are reused exactly (the IV stashes of the old and the
new version are merged), so the committed file differs from HEAD only in the
keys that really rotated, and history never mistakes a rolled-back key for a
rotation.

This module returns dataclasses and raises :mod:`gitvault.errors` classes; it
never prints, and no value ever reaches a message, a trailer or a field of the
report.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil, keypath
from gitvault.errors import BadInput, GitError, GitvaultError, Interrupted
from gitvault.git.commit import CommitResult, commit_paths
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, build_vault_message
from gitvault.rotate.commands import DEFAULT_TIMEOUT, CommandFailed, run_rotation
from gitvault.rotate.generators import Generator, parse_generator

if TYPE_CHECKING:
    from gitvault.history.due import DueItem
    from gitvault.identities import Identities
    from gitvault.policy import Policy
    from gitvault.sops.document import IvStash, Plain

ROTATED = "rotated"
FAILED = "failed"  # apply failed, or verify failed and was rolled back: the old value holds
ROLLBACK_FAILED = "rollback-failed"  # the external system may hold the new value
NOT_RUN = "not-run"  # an earlier failure stopped the run before this key
STDIN = "stdin"


class Secret:
    """A value that must never be shown: no repr, no str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class ValueSource:
    """Where new values come from: a generator spec, or one value read from stdin."""

    spec: str  # canonical generator spec, or "stdin"
    generator: Generator | None = None
    value: Secret | None = None

    @classmethod
    def from_spec(cls, spec: str) -> ValueSource:
        generator = parse_generator(spec)
        return cls(generator.spec, generator)

    @classmethod
    def from_stdin(cls, value: str) -> ValueSource:
        if value == "":
            raise BadInput("the new value read from stdin is empty")
        if "\x00" in value:
            raise BadInput("the new value read from stdin contains a NUL byte")
        return cls(STDIN, None, Secret(value))

    def new_value(self) -> str:
        if self.value is not None:
            return self.value.reveal()
        assert self.generator is not None
        return self.generator.generate()


@dataclass(frozen=True)
class Job:
    """One key to rotate."""

    file: str  # relative to the repository root
    key: str  # display key path (``db.password``)
    source: ValueSource
    apply: str | None = None
    verify: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class KeyResult:
    """What happened to one key; ``message`` and ``details`` never hold a value."""

    file: str
    key: str
    spec: str
    status: str  # rotated | failed | rollback-failed | not-run
    applied: bool = False
    verified: bool = False
    has_verify: bool = False
    message: str = ""
    details: str = ""  # failed commands' output, values masked as ***


@dataclass(frozen=True)
class NeedsHuman:
    """An overdue key ``rotate --due`` could not rotate by itself."""

    file: str
    key: str
    reason: str
    item: DueItem | None = None


@dataclass(frozen=True)
class RotationReport:
    results: tuple[KeyResult, ...] = ()
    commit: CommitResult | None = None
    branch: str | None = None  # the new branch the commit went to
    uncommitted: tuple[str, ...] = ()  # "file:key" written to disk but not committed
    needs_human: tuple[NeedsHuman, ...] = ()
    commit_error: str | None = None  # the commit failed after values were applied

    @property
    def rotated(self) -> tuple[KeyResult, ...]:
        return tuple(r for r in self.results if r.status == ROTATED)

    @property
    def failed(self) -> tuple[KeyResult, ...]:
        return tuple(r for r in self.results if r.status != ROTATED)

    @property
    def ok(self) -> bool:
        return not self.failed and self.commit_error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.rotate/v1",
            "results": [
                {
                    "file": r.file,
                    "key": r.key,
                    "generator": r.spec,
                    "status": r.status,
                    "applied": r.applied,
                    "verified": r.verified,
                    "verify_command": r.has_verify,
                    "message": r.message,
                }
                for r in self.results
            ],
            "commit": None
            if self.commit is None
            else {
                "id": self.commit.id,
                "branch": self.commit.branch,
                "signed": self.commit.signed,
                "files": list(self.commit.paths),
            },
            "branch": self.branch,
            "uncommitted": list(self.uncommitted),
            "commit_error": self.commit_error,
            "needs_human": [
                {
                    "file": n.file,
                    "key": n.key,
                    "reason": n.reason,
                    "status": n.item.status if n.item else None,
                }
                for n in self.needs_human
            ],
        }


# ----------------------------------------------------------------- planning


def parse_timeout(text: str | float | None) -> float | None:
    """``--timeout``/policy ``timeout``: seconds (``90``) or a duration (``2m``, ``30s``)."""
    if text is None:
        return None
    if isinstance(text, int | float):
        value = float(text)
    else:
        spec = text.strip()
        try:
            value = float(spec)
        except ValueError:
            from gitvault.policy import parse_duration

            value = float(parse_duration(spec))
    if not 0 < value <= 86400:
        raise BadInput(f"invalid timeout {str(text)[:20]!r}: must be more than 0 and at most 1d")
    return value


@dataclass(frozen=True)
class Overrides:
    """Command-line settings that override the policy for every key of a run."""

    source: ValueSource | None = None
    apply: str | None = None
    verify: str | None = None
    timeout: float | None = None


def plan_keys(
    pol: Policy | None,
    policy_rel: str,
    repo_rel: str,
    keys: Sequence[str],
    current: Sequence[str],
    overrides: Overrides,
) -> list[Job]:
    """Jobs for ``rotate PATH [KEY…]``; ``current`` lists the file's display key paths.

    Without KEYs, every key of the file whose policy entry has ``generate``.
    """
    from gitvault.history.schedule import KeySettings, key_settings, normalize_key

    rule = pol.rule_for(policy_rel) if pol is not None else None
    wanted = [normalize_key(k) for k in keys]
    present = set(current)
    for key in wanted:
        if key not in present:
            if any(k.startswith((key + ".", key + "[")) for k in present):
                raise BadInput(f"{repo_rel}:{key} is not a single value: name a key that holds one")
            raise BadInput(f"no key {key!r} in {repo_rel}")
    if not wanted:
        if overrides.source is not None:
            raise BadInput(
                "name the keys to rotate when --generate or --stdin gives the value",
                hint="e.g. gitvault rotate secrets/prod/db.yaml db.password --generate password:32",
            )
        wanted = [k for k in current if rule is not None and key_settings(rule, k).generate]
        if not wanted:
            raise BadInput(
                f"nothing to rotate in {repo_rel}: no key has a `generate` in the policy",
                hint="name the keys and give --generate SPEC or --stdin",
            )
    if overrides.source is not None and overrides.source.spec == STDIN and len(wanted) != 1:
        raise BadInput("--stdin gives one value: name exactly one key")
    jobs = []
    for key in dict.fromkeys(wanted):
        settings = key_settings(rule, key) if rule is not None else KeySettings()
        source = overrides.source
        if source is None:
            if not settings.generate:
                raise BadInput(
                    f"no generator for {repo_rel}:{key}",
                    hint="pass --generate SPEC or --stdin, or give the key a policy `generate`",
                )
            try:
                source = ValueSource.from_spec(settings.generate)
            except BadInput as exc:
                raise BadInput(f"{repo_rel}:{key}: policy `generate`: {exc.message}") from None
        jobs.append(
            Job(
                file=repo_rel,
                key=key,
                source=source,
                apply=overrides.apply or settings.apply,
                verify=overrides.verify or settings.verify,
                timeout=overrides.timeout or parse_timeout(settings.timeout) or DEFAULT_TIMEOUT,
            )
        )
    return jobs


# ----------------------------------------------------------------- executing


@dataclass
class _File:
    """One vault file during a run: its old plaintext and the bytes to write."""

    relpath: str
    path: Path
    original: bytes
    plain: Plain
    parts: dict[str, list[str | int]] = field(default_factory=dict)
    old: dict[str, Secret | None] = field(default_factory=dict)  # None: no previous value
    new: dict[str, Secret] = field(default_factory=dict)
    stash: IvStash | None = None  # None: the old version's IVs only

    def render(self, use_new: Callable[[str], bool]) -> bytes:
        """The file with new values for the keys ``use_new`` accepts, old ones elsewhere."""
        from gitvault.sops.file import reencrypt

        if not any(use_new(k) for k in self.new):
            return self.original
        docs = copy.deepcopy(self.plain.documents)
        for key, secret in self.new.items():
            if use_new(key):
                keypath.set_value(docs[0], self.parts[key], secret.reveal())
        return reencrypt(docs, self.plain, stash=self.stash)


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = getattr(value, "text", None)  # timestamps keep their text
    return text if isinstance(text, str) else str(value)


def _load(repo: Repository, relpath: str, keys: Sequence[str], identities: Identities) -> _File:
    from gitvault.model import Mapping as DocMapping
    from gitvault.sops.file import open_file, parse_vault

    path = repo.root / relpath
    original = fsutil.read_input(path)
    vault = parse_vault(original, relpath)
    plain = open_file(vault, identities.keys, identities.describe_tried(), record_ivs=True)
    state = _File(relpath, path, original, plain)
    if len(plain.documents) != 1:
        raise BadInput(
            f"{relpath}: rotating keys in a file with several YAML documents is not supported"
        )
    for key in keys:
        parts = keypath.parse(key)
        try:
            node = keypath.get(plain.documents[0], parts)
        except BadInput:
            raise BadInput(f"no key {key!r} in {relpath}") from None
        if isinstance(node, DocMapping | list):
            raise BadInput(f"{relpath}:{key} is not a single value: name a key that holds one")
        state.parts[key] = parts
        old = _scalar_text(node)
        state.old[key] = None if old is None else Secret(old)
    return state


def _precheck(
    repo: Repository, relpaths: Sequence[str], *, allow_staged: bool, branch: str | None
) -> None:
    from gitvault.commits import check_repository
    from gitvault.git.worktree import check_new_branch, uncommitted

    repo.require_history()
    check_repository(repo, relpaths, allow_staged=allow_staged)
    for relpath in relpaths:
        if repo.blob_id_at("HEAD", relpath) is None:
            raise GitError(
                f"{relpath} is not committed yet: refusing to rotate a value with no history",
                hint="commit the file first, so the previous value stays readable from history",
            )
        change = uncommitted(repo, relpath)
        if change is not None:
            raise GitError(
                f"{relpath} has uncommitted changes ({change}): refusing to rotate over them",
                hint="commit or discard them first",
            )
    if branch is not None:
        check_new_branch(repo, branch)


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
    if not jobs:
        return RotationReport(needs_human=tuple(needs_human))
    by_file: dict[str, list[Job]] = {}
    for job in jobs:
        by_file.setdefault(job.file, []).append(job)
    _precheck(repo, list(by_file), allow_staged=allow_staged, branch=branch)

    # 1. check and compute, no side effects
    files: dict[str, _File] = {}
    for relpath, file_jobs in by_file.items():
        state = _load(repo, relpath, [j.key for j in file_jobs], identities)
        for job in file_jobs:
            new = job.source.new_value()
            old = state.old[job.key]
            if old is not None and old.reveal() == new:
                raise BadInput(
                    f"the new value of {relpath}:{job.key} is the same as the current one"
                )
            state.new[job.key] = Secret(new)
        all_new = state.render(lambda _key: True)
        state.stash = _merged_stash(state, all_new, identities)
        files[relpath] = state

    # 2. write every new value before anything runs elsewhere
    written: list[_File] = []
    try:
        for state in files.values():
            fsutil.atomic_write(state.path, state.render(lambda _key: True))
            written.append(state)
    except BaseException:
        for state in written:
            fsutil.atomic_write(state.path, state.original)
        raise

    # 3. apply and verify, key by key
    results: dict[tuple[str, str], KeyResult] = {}
    running: Job | None = None
    try:
        stop = False
        for job in jobs:
            if stop:
                results[(job.file, job.key)] = _not_run(job)
                continue
            running = job
            results[(job.file, job.key)] = _run(job, files[job.file], cwd, env)
            running = None
            stop = results[(job.file, job.key)].status == ROLLBACK_FAILED
    except BaseException as exc:
        # Interrupted (Ctrl-C, SIGTERM) while a command ran: its system may hold
        # either value, so the file keeps the new one, uncommitted; keys that did
        # not start get their old value back.
        done = {k for k, r in results.items() if r.status in (ROTATED, ROLLBACK_FAILED)}
        if running is not None:
            done.add((running.file, running.key))
        for relpath, state in files.items():
            fsutil.atomic_write(state.path, state.render(_member(relpath, done)))
        if not isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        where = f"{running.file}:{running.key}" if running else "a rotation"
        raise Interrupted(
            f"interrupted during {where}: changed keys are written to the files, uncommitted; "
            "the previous values are at HEAD (gitvault decrypt --rev HEAD)",
            hint="check the external systems, then commit or `git checkout` the files",
        ) from None

    # 4. settle: commit what rotated, keep what must not be lost
    ordered = tuple(results[(j.file, j.key)] for j in jobs)
    return _settle(repo, jobs, files, ordered, allow_staged, branch, message, needs_human)


def _member(relpath: str, keys: set[tuple[str, str]]) -> Callable[[str], bool]:
    return lambda key: (relpath, key) in keys


def _merged_stash(state: _File, all_new: bytes, identities: Identities) -> IvStash:
    """IVs of the old and the new version, so any mix keeps both sides' ciphertexts."""
    from gitvault.sops.file import open_file, parse_vault

    reopened = open_file(parse_vault(all_new, state.relpath), identities.keys, record_ivs=True)
    # Unchanged values have the same entry on both sides; the old IV wins by design.
    return {**reopened.stash, **state.plain.stash}


def _not_run(job: Job) -> KeyResult:
    return KeyResult(
        job.file,
        job.key,
        job.source.spec,
        NOT_RUN,
        has_verify=bool(job.verify),
        message=f"{job.file}:{job.key} was not rotated: an earlier rollback failed",
    )


def _run(job: Job, state: _File, cwd: Path, env: Mapping[str, str] | None) -> KeyResult:
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


def _settle(
    repo: Repository,
    jobs: Sequence[Job],
    files: Mapping[str, _File],
    results: tuple[KeyResult, ...],
    allow_staged: bool,
    branch: str | None,
    message: str | None,
    needs_human: Sequence[NeedsHuman],
) -> RotationReport:
    from gitvault.git.worktree import switch_to_new_branch, undo_new_branch

    status = {(r.file, r.key): r.status for r in results}

    def committed(relpath: str) -> Callable[[str], bool]:
        return lambda key: status[(relpath, key)] == ROTATED

    def on_disk(relpath: str) -> Callable[[str], bool]:
        return lambda key: status[(relpath, key)] in (ROTATED, ROLLBACK_FAILED)

    # First the committed state of every file (old values back where they failed).
    to_commit = []
    for relpath, state in files.items():
        data = state.render(committed(relpath))
        fsutil.atomic_write(state.path, data)
        if data != state.original:
            to_commit.append(relpath)

    def keep_rollback_failed() -> list[str]:
        """Write back the values an external system holds although their rollback failed."""
        kept = []
        for relpath, state in files.items():
            if any(status[(relpath, k)] == ROLLBACK_FAILED for k in state.new):
                fsutil.atomic_write(state.path, state.render(on_disk(relpath)))
                kept += [
                    f"{relpath}:{k}" for k in state.new if status[(relpath, k)] == ROLLBACK_FAILED
                ]
        return kept

    commit: CommitResult | None = None
    commit_error: str | None = None
    new_branch: str | None = None
    uncommitted: list[str] = []
    try:
        if to_commit:
            text = _message(results, message)
            previous: str | None = None
            try:
                if branch is not None:
                    previous = switch_to_new_branch(repo, branch)
                    new_branch = branch
                commit = commit_paths(repo, to_commit, text, allow_other_staged=allow_staged)
            except GitvaultError as exc:
                commit_error = exc.message
                if new_branch is not None:
                    undo_new_branch(repo, new_branch, previous)
                    new_branch = None
                applied_elsewhere = any(r.applied for r in results if r.status == ROTATED)
                if not applied_elsewhere:
                    # Nothing outside the repository changed: put the files back as they were.
                    for state in files.values():
                        fsutil.atomic_write(state.path, state.original)
    finally:
        # Whatever happened to the commit (an error, Ctrl-C at a signing prompt, a
        # signal during a slow hook), values whose rollback failed go back on disk:
        # the external system holds them and they exist nowhere else.
        uncommitted = keep_rollback_failed()
    if commit_error is not None and any(r.applied for r in results if r.status == ROTATED):
        uncommitted += [f"{r.file}:{r.key}" for r in results if r.status == ROTATED]
    return RotationReport(
        results=results,
        commit=commit,
        branch=new_branch,
        uncommitted=tuple(uncommitted),
        needs_human=tuple(needs_human),
        commit_error=commit_error,
    )


def _message(results: Sequence[KeyResult], message: str | None) -> str:
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


# ----------------------------------------------------------------- entry points


def rotate_keys(
    path: Path,
    keys: Sequence[str],
    identities: Identities,
    *,
    overrides: Overrides = Overrides(),
    allow_staged: bool = False,
    branch: str | None = None,
    message: str | None = None,
    env: Mapping[str, str] | None = None,
) -> RotationReport:
    """``gitvault rotate PATH [KEY…]``."""
    from gitvault import policy as policy_mod
    from gitvault import vault
    from gitvault.history.sources import parse_for_history

    repo = Repository.discover(path.absolute().parent)
    repo_rel = repo.relpath(path)
    loc = vault.locate(path)
    pol = policy_mod.load(loc.root) if loc.root is not None else None
    policy_rel = loc.relpath or repo_rel
    data = fsutil.read_input(path)
    current = list(parse_for_history(data, repo_rel).leaves)
    jobs = plan_keys(pol, policy_rel, repo_rel, keys, current, overrides)
    cwd = pol.root if pol is not None else repo.root
    return execute(
        repo,
        jobs,
        identities,
        cwd=cwd,
        allow_staged=allow_staged,
        branch=branch,
        message=message,
        env=env,
    )


def rotate_due(
    start: Path,
    identities: Identities,
    *,
    within: timedelta = timedelta(0),
    timeout: float | None = None,
    allow_staged: bool = False,
    branch: str | None = None,
    message: str | None = None,
    env: Mapping[str, str] | None = None,
) -> RotationReport:
    """``gitvault rotate --due``: every overdue key with a generator, in one commit."""
    from gitvault import policy as policy_mod
    from gitvault.history.due import DUE_SOON, OVERDUE
    from gitvault.history.schedule import due_for, schedule, settings_index
    from gitvault.history.sources import decryptor_for

    repo = Repository.discover(start)
    repo.require_history()
    root = policy_mod.find_root(start)
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    pol = policy_mod.load(root)
    plan = schedule(pol, repo.root)
    decrypt = decryptor_for(identities) if identities.items else None
    report = due_for(repo, plan, within=within, decrypt=decrypt)
    index = settings_index(plan)
    wanted = (OVERDUE, DUE_SOON) if within > timedelta(0) else (OVERDUE,)
    jobs: list[Job] = []
    humans: list[NeedsHuman] = []
    readable: dict[str, bool] = {}
    for item in report.items:
        if item.status not in wanted:
            continue
        settings = index[(item.file, item.key)].settings
        if not settings.generate:
            humans.append(NeedsHuman(item.file, item.key, "no generator in the policy", item))
            continue
        if item.file not in readable:
            readable[item.file] = _can_open(repo.root / item.file, identities)
        if not readable[item.file]:
            humans.append(
                NeedsHuman(
                    item.file, item.key, "none of your identities can decrypt the file", item
                )
            )
            continue
        try:
            source = ValueSource.from_spec(settings.generate)
        except BadInput as exc:
            humans.append(
                NeedsHuman(item.file, item.key, f"policy `generate`: {exc.message}", item)
            )
            continue
        jobs.append(
            Job(
                file=item.file,
                key=item.key,
                source=source,
                apply=settings.apply,
                verify=settings.verify,
                timeout=timeout or parse_timeout(settings.timeout) or DEFAULT_TIMEOUT,
            )
        )
    return execute(
        repo,
        jobs,
        identities,
        cwd=pol.root,
        allow_staged=allow_staged,
        branch=branch,
        message=message,
        needs_human=humans,
        env=env,
    )


def _can_open(path: Path, identities: Identities) -> bool:
    from gitvault.sops.file import data_key_for, parse_vault

    try:
        data_key_for(parse_vault(fsutil.read_input(path), path.name), identities.keys)
    except GitvaultError:
        return False
    return True
