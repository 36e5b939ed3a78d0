"""The hooks' checks of vault files: staged (pre-commit) and pushed (pre-receive).

A file a policy rule covers must be a valid vault file for that rule. Without
a key that means (see :mod:`gitvault.sops.structure`): it parses, its recipients
are exactly the rule's, its selection metadata is the rule's, and every value
the rule says is encrypted is an ``ENC[…]`` of a valid shape — so plaintext
behind a pasted ``sops:`` block is refused. With a key (pre-commit only: the
committer's identities), the MAC and the rule's JSON Schema are checked too.

Server side (pre-receive) there is no key: every commit a push brings is
judged against its first parent, and each vault file it adds or changes is
checked against the policy committed in that same commit.

Returns problem texts; never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitvaultError
from gitvault.scan import gitdiff

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy

# Commits judged per push: enough for any real push, bounded for a hostile one.
MAX_PUSHED_COMMITS = 10_000


def _identities() -> Identities | None:
    from gitvault.identities import load_identities

    try:
        ids = load_identities(None)
    except GitvaultError:
        return None
    return ids if ids.items else None


def file_problems(
    pol: Policy, relpath: str, data: bytes, ids: Identities | None, *, schema: bool = True
) -> list[str]:
    """Why ``data`` may not be committed at ``relpath`` under ``pol`` (empty when fine)."""
    from gitvault.fsutil import MAX_INPUT_BYTES
    from gitvault.sops.file import parse_vault
    from gitvault.sops.structure import structure_problems
    from gitvault.verify import check_file

    if len(data) > MAX_INPUT_BYTES:
        return [f"too large ({len(data)} bytes; the limit is {MAX_INPUT_BYTES})"]
    rule = pol.rule_for(relpath)
    if rule is None:
        return []
    report = check_file(pol, relpath, data, ids, check_schema=schema)
    problems = list(report.problems)
    if report.checks.get("structure") == "ok":
        vault = parse_vault(data, relpath)
        problems += structure_problems(vault.documents, vault.meta, rule.selection)
    return list(dict.fromkeys(problems))


def staged_problems(root: Path, paths: Sequence[str]) -> list[tuple[str, str]]:
    """(path, problem) for every staged policy-covered file among ``paths``.

    The policy comes through :mod:`gitvault.hooks.vaultlink` (the hooks' one door
    into the core); when that door gives a policy this module does not know, its
    own ``vault_problems`` answers instead.
    """
    from gitvault.hooks import vaultlink
    from gitvault.policy import Policy

    pol = vaultlink.load_policy(root)
    covered = vaultlink.covered_paths(root, list(paths), pol)
    ids = _identities() if isinstance(pol, Policy) and covered else None
    out: list[tuple[str, str]] = []
    for rel in covered:
        data = gitdiff.staged_blob(root, rel)
        if isinstance(pol, Policy):
            texts = file_problems(pol, rel, data, ids)
        else:
            texts = vaultlink.vault_problems(root, rel, data)
        out += [(rel, t) for t in texts]
    return out


def _pushed_commits(git_dir: Path, new: str) -> list[str]:
    out = gitdiff.run_git(
        ["rev-list", "--topo-order", "--reverse", new, "--not", "--all"], git_dir
    ).split()
    return [c.decode() for c in out]


def _changed(git_dir: Path, commit: str) -> list[str]:
    """Paths a commit adds or modifies against its first parent (the root: all)."""
    parents = gitdiff.run_git(["rev-list", "--parents", "-n", "1", commit], git_dir).split()
    base = parents[1].decode() if len(parents) > 1 else gitdiff.EMPTY_TREE
    raw = gitdiff.run_git(
        [
            "diff-tree",
            "-r",
            "-z",
            "--name-only",
            "--no-renames",
            "--diff-filter=ACMRT",
            base,
            commit,
        ],
        git_dir,
    )
    return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]


def _blob(git_dir: Path, commit: str, path: str) -> tuple[bytes | None, int]:
    """(content, size) of ``commit:path``; content None when not a blob or too large."""
    from gitvault.fsutil import MAX_INPUT_BYTES

    spec = f"{commit}:{path}"
    try:
        if gitdiff.run_git(["cat-file", "-t", spec], git_dir).strip() != b"blob":
            return None, 0
        size = int(gitdiff.run_git(["cat-file", "-s", spec], git_dir).strip() or b"0")
    except GitvaultError:
        return None, 0
    if size > MAX_INPUT_BYTES:
        return None, size  # never read: judged by its size alone
    return gitdiff.run_git(["cat-file", "blob", spec], git_dir), size


def _parent_rule_problems(
    git_dir: Path, commit: str, path: str, found: tuple[Policy, str] | None
) -> list[str]:
    """A file the first parent's policy covers, that the commit's own policy no longer does.

    The same commit could narrow the rules and put plaintext in the path; the server
    holds the file to the policy it already had: it must still be a vault file whose
    values that rule encrypts are encrypted (recipients are the new policy's business).
    """
    from gitvault.drivers.committed import POLICY_FILE, policy_at

    if found is not None and found[1] != POLICY_FILE and found[0].rule_for(found[1]) is not None:
        return []  # judged by the commit's own policy below
    parents = gitdiff.run_git(["rev-list", "--parents", "-n", "1", commit], git_dir).split()
    if len(parents) < 2:
        return []
    try:
        before = policy_at(git_dir, parents[1].decode(), path)
    except GitvaultError:
        return []
    if before is None or before[1] == POLICY_FILE:
        return []
    rule = before[0].rule_for(before[1])
    if rule is None:
        return []
    data, size = _blob(git_dir, commit, path)
    if data is None:
        return [f"too large ({size} bytes)"] if size else []
    from gitvault.records import replace
    from gitvault.sops.file import parse_vault
    from gitvault.sops.structure import expected_selection, value_problems

    try:
        vault = parse_vault(data, before[1])
    except GitvaultError:
        return [
            "the policy before this commit covers it (a commit cannot un-cover a vault "
            "file and put plaintext in it)"
        ]
    meta = replace(vault.meta, **expected_selection(rule.selection))
    return [
        f"{p} (by the rule of the policy before this commit)"
        for p in value_problems(vault.documents, meta)
    ]


def pushed_problems(git_dir: Path, new: str) -> list[tuple[str, str]]:
    """(``commit:path``, problem) for vault files the commits reachable only from ``new`` change."""
    from gitvault.drivers.committed import POLICY_FILE, policy_at

    out: list[tuple[str, str]] = []
    commits = _pushed_commits(git_dir, new)
    if len(commits) > MAX_PUSHED_COMMITS:
        # Judging only some would let a bad file hide behind the cap: refuse instead.
        return [
            (
                new[:12],
                f"the push brings {len(commits)} new commits; at most {MAX_PUSHED_COMMITS} "
                "are checked per ref (push the history in parts)",
            )
        ]
    for commit in commits:
        for path in _changed(git_dir, commit):
            try:
                found = policy_at(git_dir, commit, path)
            except GitvaultError as err:
                out.append((f"{commit[:12]}:{path}", f"the policy is invalid: {err.message}"))
                continue
            held = _parent_rule_problems(git_dir, commit, path, found)
            out += [(f"{commit[:12]}:{path}", p) for p in held]
            if found is None or held:
                continue
            pol, rel = found
            if rel == POLICY_FILE or pol.rule_for(rel) is None:
                continue
            data, size = _blob(git_dir, commit, path)
            if data is None:
                if size:
                    out.append((f"{commit[:12]}:{path}", f"too large ({size} bytes)"))
                continue
            for problem in file_problems(pol, rel, data, None, schema=False):
                out.append((f"{commit[:12]}:{path}", problem))
    return out
