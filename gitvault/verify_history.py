"""``verify``'s history checks: freshness, authorship and signatures from git.

What a file cannot say about itself: rollbacks and substitutions found by
:mod:`gitvault.trust.freshness`, and (``--require-signed``) commits not signed
by a signing key the policy lists. The results go onto the
:class:`gitvault.verify.VerifyReport` the per-file checks produced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitvault.identities import Identities
from gitvault.policy import Policy
from gitvault.verify import HistoryReport, VerifyReport

if TYPE_CHECKING:
    from gitvault.git.repo import Repository


_SIGNATURE_WORDS = {
    "unsigned": "the commit is not signed",
    "foreign": "signed by a key the policy does not list",
    "bad": "the signature does not verify",
    "unchecked": "the signature cannot be checked",
}


def check_history(
    pol: Policy,
    report: VerifyReport,
    *,
    mode: str = "auto",
    since: str | None = None,
    require_signed: bool = False,
    ids: Identities | None = None,
) -> HistoryReport:
    """Add rollback/substitution (and ``require_signed``) results to ``report``'s files.

    With ``ids`` (identities that can open the files), a data-key change whose
    values are unchanged is proven a re-key whoever made it; without, a
    recorded re-key by a writer the policy does not identify is a note.

    ``mode``: ``auto`` checks when the policy lives in a git repository with
    complete history and says why not otherwise; ``on`` raises instead;
    ``off`` checks nothing (``require_signed``/``since`` imply ``on``).

    A finding whose effect the file still carries at HEAD is a problem of that
    file; one that a later change superseded is a warning. Under
    ``require_signed`` every commit in range that changed a checked file or
    the policy must carry a good signature by a signing key the policy (at the
    commit's parent) lists.
    """
    from gitvault.errors import GitError

    if mode == "off" and not require_signed and since is None:
        return HistoryReport(checked=False, reason="disabled (--no-freshness)")
    forced = mode == "on" or require_signed or since is not None
    from gitvault.git.repo import Repository

    try:
        repo = Repository.discover(pol.root)
        state = repo.state()
        if state.is_empty:
            raise GitError("the repository has no commits yet")
        if state.is_shallow:
            raise GitError(
                "shallow clone: history is incomplete",
                hint="fetch full history (git fetch --unshallow; actions/checkout: fetch-depth: 0)",
            )
    except GitError as err:
        if forced:
            raise
        return HistoryReport(checked=False, reason=err.message)
    return _run_history(pol, report, repo, since=since, require_signed=require_signed, ids=ids)


def _run_history(
    pol: Policy,
    report: VerifyReport,
    repo: Repository,
    *,
    since: str | None,
    require_signed: bool,
    ids: Identities | None = None,
) -> HistoryReport:
    from gitvault.sops.view import decryptor_for
    from gitvault.trust.freshness import analyze
    from gitvault.trust.policies import PolicyHistory, policy_prefix

    if since is not None:
        repo.resolve(since)
    prefix = policy_prefix(pol, repo.root)
    by_path = {prefix + f.file: f for f in report.files}
    wanted = frozenset(by_path)
    policies = PolicyHistory(repo, prefix)
    dirs = sorted({p.rpartition("/")[0] for p in wanted})
    result = analyze(
        repo,
        paths=[] if "" in dirs else dirs,
        include=wanted.__contains__,
        policies=policies,
        since=since,
        signatures=require_signed,
        decrypt=decryptor_for(ids) if ids is not None and ids.items else None,
    )
    history = HistoryReport(
        checked=True,
        since=since,
        require_signed=require_signed,
        commits=len(result.commits),
        findings=[f.to_json() for f in result.findings],
        notes=list(result.problems),
    )
    for n in result.notes:
        history.notes.append(f"{n.file}: {n.kind}? in {n.commit[:12]}: {n.reason}")
    for f in result.findings:
        target = by_path.get(f.file)
        if target is None:
            continue
        if f.current:
            target.problems.append(f"{f.kind} in {f.commit[:12]}: {f.reason}")
        else:
            target.warnings.append(
                f"earlier {f.kind} in {f.commit[:12]} (superseded since): {f.reason}"
            )
    if require_signed:
        for c in result.commits:
            if c.signature == "verified":
                continue
            words = _SIGNATURE_WORDS.get(c.signature, c.signature)
            for path in c.paths:
                text = f"changed in {c.commit[:12]} by {c.author}: {words}"
                if path == policies.path:
                    history.problems.append(f"{path}: {text}")
                elif path in by_path:
                    by_path[path].problems.append(text)
    return history
