"""Which keys a rotation touches: ``rotate PATH [KEY…]`` and ``rotate --due``.

Turns the command line and the policy into :class:`~gitvault.rotate.model.Job`
values and hands them to :func:`gitvault.rotate.engine.execute`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault import fsutil
from gitvault.errors import BadInput, GitvaultError
from gitvault.git.repo import Repository
from gitvault.rotate.commands import DEFAULT_TIMEOUT
from gitvault.rotate.engine import execute
from gitvault.rotate.model import (
    STDIN,
    Job,
    NeedsHuman,
    Overrides,
    RotationReport,
    ValueSource,
    parse_timeout,
)

if TYPE_CHECKING:
    from gitvault.history.due import DueItem
    from gitvault.history.schedule import KeySettings
    from gitvault.identities import Identities
    from gitvault.policy import Policy

_NO_OVERRIDES = Overrides()


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


def rotate_keys(
    path: Path,
    keys: Sequence[str],
    identities: Identities,
    *,
    overrides: Overrides = _NO_OVERRIDES,
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
        if item.exposed and item.last_change is None:
            why = "removed from the vault while exposed: rotate it where it is used"
            humans.append(NeedsHuman(item.file, item.key, why, item))
            continue
        entry = index.get((item.file, item.key))
        # An exposed key (leaked, see gitvault.history.exposed) may have no period.
        settings = entry.settings if entry is not None else _settings_of(pol, repo, item)
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


def _settings_of(pol: Policy, repo: Repository, item: DueItem) -> KeySettings:
    """The policy settings of a key the schedule does not list (an exposed one)."""
    from gitvault.history.schedule import KeySettings, key_settings, policy_prefix

    prefix = policy_prefix(pol, repo.root)
    rel = item.file[len(prefix) :] if item.file.startswith(prefix) else item.file
    rule = pol.rule_for(rel)
    if rule is None:
        return KeySettings()
    return key_settings(rule, item.key)


def _can_open(path: Path, identities: Identities) -> bool:
    from gitvault.sops.file import data_key_for, parse_vault

    try:
        data_key_for(parse_vault(fsutil.read_input(path), path.name), identities.keys)
    except GitvaultError:
        return False
    return True
