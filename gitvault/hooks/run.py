"""What the git hooks do: decide whether a commit or push may go ahead.

- :func:`pre_commit` looks at the staged change: plaintext-by-nature files,
  added lines with findings (rules and the vault's own values), and
  policy-covered files that are not valid vault files for their rule
  (:mod:`gitvault.hooks.vaultcheck`: structure, recipients, and with a key the
  MAC and the rule's JSON Schema).
- :func:`pre_push` scans the commits a push would send that the remote lacks.
- :func:`pre_receive` runs on the server, scans the pushed range and checks
  the structure and recipients of every vault file a pushed commit changes.

Each returns a :class:`HookReport` of problems, each with a fix; the CLI prints
them and exits 1 when there are any. Nothing here prints or holds a secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gitvault.hooks import vaultlink
from gitvault.scan import baseline as baseline_mod
from gitvault.scan import gitdiff
from gitvault.scan.model import Finding, ScanResult
from gitvault.scan.report import where
from gitvault.scan.scanner import ScanOptions, load_baseline, scan_history, scan_staged

ZERO = "0" * 40
_ALLOW_HINT = "or, if it is not a secret, end the line with a `gitvault:allow` comment"


@dataclass(frozen=True)
class Problem:
    """One reason to block: where, what, and how to fix it."""

    where: str
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.where}: {self.what} — {self.fix}"


@dataclass(frozen=True)
class HookReport:
    """The verdict of one hook run."""

    hook: str
    problems: tuple[Problem, ...]
    scan: ScanResult | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.problems)


def _finding_problem(f: Finding) -> Problem:
    if f.rule == "plaintext-file":
        return Problem(f.path, f"{f.description} must not be committed", f.fix)
    if f.key_path:
        what = f"vault-value: the value of {f.key_path} is in this line ({f.preview})"
        fix = "read it from the vault at run time (gitvault exec/export) instead of pasting it"
    else:
        what = f"{f.rule}: {f.description} ({f.preview})"
        fix = f"move it into a vault file (gitvault set) and rotate it, {_ALLOW_HINT}"
    return Problem(where(f), what, fix)


def _options(root: Path, *, vault_values: bool, baseline: frozenset[str]) -> ScanOptions:
    policy = vaultlink.load_policy(root) if vaultlink.has_policy(root) else None
    return ScanOptions(
        excludes=vaultlink.policy_excludes(root, policy),
        baseline=baseline,
        known_values=vaultlink.known_values(root) if vault_values else (),
    )


def pre_commit(root: Path, *, vault_values: bool = True) -> HookReport:
    """Check the staged change of the repository at ``root``."""
    baseline = load_baseline(root / baseline_mod.DEFAULT_NAME)
    options = _options(root, vault_values=vault_values, baseline=baseline)
    result = scan_staged(root, options)
    problems = [_finding_problem(f) for f in result.findings]
    problems.extend(_vault_file_problems(root))
    return HookReport("pre-commit", tuple(problems), result)


def _vault_file_problems(root: Path) -> list[Problem]:
    """Policy-covered staged files that are not valid vault files for their rule."""
    from gitvault.hooks.vaultcheck import staged_problems

    if not vaultlink.has_policy(root):
        return []
    staged = gitdiff.run_git(
        [
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
            "--no-renames",
            *(["HEAD"] if gitdiff.has_head(root) else [gitdiff.EMPTY_TREE]),
        ],
        root,
    )
    paths = [p.decode("utf-8", "surrogateescape") for p in staged.split(b"\0") if p]
    return [
        Problem(rel, f"not a valid vault file: {text}", _fix_for(rel, text))
        for rel, text in staged_problems(root, paths)
    ]


def _fix_for(rel: str, problem: str) -> str:
    """The command that repairs this kind of problem (re-encrypting does not fix readers)."""
    if "policy does not name" in problem or "not encrypted to" in problem:
        return (
            f"re-wrap its data key for the policy's readers with `gitvault rekey {rel}` "
            "(commit the policy change with it), then git add it again"
        )
    return (
        f"encrypt it with `gitvault encrypt --in-place {rel}` (or edit it with "
        "`gitvault edit`), then git add it again"
    )


def _push_ranges(root: Path, remote: str, lines: Iterable[str]) -> list[list[str]]:
    ranges: list[list[str]] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            continue
        _local_ref, local_sha, _remote_ref, remote_sha = parts
        if local_sha == ZERO:
            continue  # deleting a ref sends nothing
        known_remote = remote_sha != ZERO and _has_commit(root, remote_sha)
        if known_remote:
            ranges.append([f"{remote_sha}..{local_sha}"])
        else:
            not_remote = f"--remotes={remote}" if remote else "--remotes"
            ranges.append([local_sha, "--not", not_remote])
    return ranges


def _has_commit(root: Path, sha: str) -> bool:
    try:
        gitdiff.run_git(["cat-file", "-e", f"{sha}^{{commit}}"], root)
    except Exception:
        return False
    return True


def _scan_ranges(root: Path, ranges: list[list[str]], options: ScanOptions) -> list[ScanResult]:
    return [scan_history(root, revs, options) for revs in ranges]


def pre_push(
    root: Path, remote: str, stdin_lines: Iterable[str], *, vault_values: bool = True
) -> HookReport:
    """Scan what ``git push`` would send to ``remote`` (ref lines from the hook's stdin)."""
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:  # run by the pre-commit framework, which passes refs in env
        ranges = [[f"{from_ref}..{to_ref}"]]
    else:
        ranges = _push_ranges(root, remote, stdin_lines)
    baseline = load_baseline(root / baseline_mod.DEFAULT_NAME)
    options = _options(root, vault_values=vault_values, baseline=baseline)
    results = _scan_ranges(root, ranges, options)
    problems = [_finding_problem(f) for r in results for f in r.findings]
    return HookReport("pre-push", tuple(problems), results[0] if len(results) == 1 else None)


def pre_receive(git_dir: Path, stdin_lines: Iterable[str]) -> HookReport:
    """Server side: scan every commit a push brings that the repository does not have,
    and check every vault file those commits change against the policy in the same commit."""
    from gitvault.hooks.vaultcheck import pushed_problems

    problems: list[Problem] = []
    for line in stdin_lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, _ref = parts
        if new == ZERO:
            continue
        # Trust only the baseline the server already has (the ref before this push,
        # or the default branch for a new ref): a push must not be able to accept
        # its own findings by adding their fingerprints in the same push.
        baseline = _baseline_at(git_dir, old if old != ZERO else "HEAD")
        result = scan_history(git_dir, [new, "--not", "--all"], ScanOptions(baseline=baseline))
        problems.extend(_finding_problem(f) for f in result.findings)
        # Vault structure and recipients of every file these commits change (no key here).
        for where_, text in pushed_problems(git_dir, new):
            problems.append(
                Problem(
                    where_,
                    f"not a valid vault file: {text}",
                    "encrypt it to the policy's recipients (gitvault encrypt / gitvault rekey) "
                    "in a new commit that replaces this one",
                )
            )
    return HookReport("pre-receive", tuple(problems))


def _baseline_at(git_dir: Path, commit: str) -> frozenset[str]:
    """The baseline file as committed in ``commit`` (the server has no work tree); empty if none."""
    try:
        data = gitdiff.run_git(["show", f"{commit}:{baseline_mod.DEFAULT_NAME}"], git_dir)
    except Exception:
        return frozenset()
    return frozenset(baseline_mod.loads(data.decode("utf-8", "replace"), baseline_mod.DEFAULT_NAME))
