"""What ``gitvault log`` and ``gitvault due`` ask of history, from a working directory.

:func:`vault_log` resolves ``[PATH[:KEY]]`` to the vault files to audit (every
file a policy rule covers when no PATH is given, or those under a directory)
and runs :func:`gitvault.history.audit.audit` once. :func:`due` joins the
policy's schedule with history (:mod:`gitvault.history.schedule`).

Both walk history with a single ``git log`` over the rules' directories and
keep only the paths a rule covers, so files that are not vault files (a README
next to the secrets) never reach the parser.

Nothing here prints or returns a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import BadInput
from gitvault.git.repo import Repository
from gitvault.history.audit import AuditLog, audit
from gitvault.history.due import DueReport
from gitvault.sops.view import decryptor_for, parse_for_history

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Target:
    """Which history to read: paths (files or directories), an optional key."""

    paths: tuple[str, ...]
    key: str | None
    include: Callable[[str], bool] | None


def _policy(start: Path) -> Policy | None:
    from gitvault import policy

    root = policy.find_root(start)
    return None if root is None else policy.load(root)


def rule_filter(pol: Policy, repo_root: Path) -> tuple[tuple[str, ...], Callable[[str], bool]]:
    """Directories to walk (from the rules' globs) and a test for "a rule covers this path"."""
    from gitvault.trust.policies import policy_prefix

    prefix = policy_prefix(pol, repo_root)
    dirs: list[str] = []
    for rule in pol.rules:
        head = _GLOB_CHARS.split(rule.path, 1)[0]
        literal = head if head == rule.path else head.rpartition("/")[0]
        dirs.append((prefix + literal).rstrip("/"))
    # A rule without a literal directory makes us walk the whole tree (or the policy's).
    if any(not d for d in dirs):
        walk: tuple[str, ...] = ()
    elif any(d == prefix.rstrip("/") for d in dirs):
        walk = (prefix.rstrip("/"),)
    else:
        walk = tuple(sorted(set(dirs)))

    def covered(path: str) -> bool:
        if not path.startswith(prefix):
            return False
        rel = path[len(prefix) :]
        return rel != ".gitvault.yaml" and pol.rule_for(rel) is not None

    return walk, covered


def resolve_target(repo: Repository, spec: str | None, cwd: Path) -> Target:
    """``PATH[:KEY]`` (or nothing) as paths to walk, a key and a path filter."""
    from gitvault.policy.keys import key_path as normalize_key

    pol = _policy(cwd)
    if spec is None:
        if pol is None:
            raise BadInput(
                "no .gitvault.yaml here or in any parent directory: name a vault file",
                hint="gitvault log secrets/app.yaml",
            )
        walk, covered = rule_filter(pol, repo.root)
        return Target(walk, None, covered)
    path_text, key = spec, None
    if not (cwd / spec).exists() and ":" in spec:
        path_text, _, key = spec.partition(":")
        if not key:
            raise BadInput(f"empty key after ':' in {spec!r}")
    relpath = repo.relpath(cwd / path_text)
    if (repo.root / relpath).is_dir():
        include = rule_filter(pol, repo.root)[1] if pol is not None else None
        if key is not None:
            raise BadInput(f"{path_text} is a directory: name a file with :KEY")
        return Target((relpath,), None, include)
    return Target((relpath,), normalize_key(key) if key else None, None)


def vault_log(
    cwd: Path,
    spec: str | None = None,
    *,
    identities: Identities | None = None,
    rev: str = "HEAD",
    check_signatures: bool = True,
) -> AuditLog:
    """The per-key history ``gitvault log [PATH[:KEY]]`` shows."""
    repo = Repository.discover(cwd)
    repo.require_history()
    repo.resolve(rev)
    target = resolve_target(repo, spec, cwd)
    decrypt = decryptor_for(identities) if identities is not None and identities.items else None
    return audit(
        repo,
        list(target.paths),
        parse=parse_for_history,
        decrypt=decrypt,
        rev=rev,
        key=target.key,
        check_signatures=check_signatures,
        include=target.include,
    )


@dataclass(frozen=True)
class DueResult:
    report: DueReport
    problems: tuple[str, ...]


def due(
    cwd: Path,
    *,
    within: timedelta = timedelta(days=7),
    identities: Identities | None = None,
    now: datetime | None = None,
) -> DueResult:
    """Every key with a rotation period, its last change and its status."""
    from gitvault.history.schedule import due_for, schedule

    repo = Repository.discover(cwd)
    repo.require_history()
    pol = _policy(cwd)
    if pol is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    plan = schedule(pol, repo.root)
    decrypt = decryptor_for(identities) if identities is not None and identities.items else None
    report = due_for(repo, plan, now=now, within=within, decrypt=decrypt)
    return DueResult(report, plan.problems)
