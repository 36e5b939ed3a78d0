"""``migrate rewrite``: purge every planned value from a mirror clone of each repository.

Per repository:

1. a fresh **mirror clone** (``git clone --mirror --no-local``) in the work
   directory — never the user's clone, and no object hard-linked with it;
2. the git-filter-repo replacement file in a private 0700 directory (tmpfs
   when there is one; the file is 0600, outside every repository, removed on
   every exit path). Each value is one line ``literal:VALUE==>***REMOVED***``:
   the ``literal:`` prefix keeps a value that starts with ``regex:`` or
   ``glob:`` literal, and git-filter-repo splits at the *last* ``==>``, so a
   value holding ``==>`` survives. A value with a line break (a PEM key) or a
   carriage return cannot be one line; it becomes ``regex:`` with every byte
   written as ``\\xHH`` (no character is special). Longer values come first,
   so a value inside another is never cut out of it before the longer one;
3. the real ``git filter-repo --replace-text FILE --replace-message FILE``
   (blobs on every ref, commit and tag messages), which also expires reflogs
   and prunes the old objects;
4. a re-scan of **every object** left in the mirror (all refs, tags, notes,
   anything unreachable) with the vault-values matcher
   (:class:`gitvault.scan.known.KnownValues`); survivors are reported per
   object (git-filter-repo leaves binary blobs alone, for instance).

The plan records each repository's state, so a second run skips the
repositories already verified and redoes an interrupted one from a new clone.

Values are in memory and in the private replacement file only; nothing here
prints or logs one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput, GitError
from gitvault.migrate import repos as repos_mod
from gitvault.migrate.plan import Plan, Progress, Repo, no_progress, now_text

REPLACEMENT = b"***REMOVED***"
_NOT_LITERAL = (b"\n", b"\r")


def replace_line(value: bytes) -> bytes:
    """One line of a git-filter-repo ``--replace-text`` file that removes ``value``."""
    if not value:
        raise ValueError("empty value")
    if any(ch in value for ch in _NOT_LITERAL):
        pattern = b"".join(b"\\x%02x" % b for b in value)
        return b"regex:" + pattern + b"==>" + REPLACEMENT
    return b"literal:" + value + b"==>" + REPLACEMENT


def replace_text(values: Sequence[bytes]) -> bytes:
    """The whole file: one line per distinct value, longest first, literals before regexes.

    git-filter-repo applies all literals, then all regexes: a multi-line value
    containing a one-line value would be cut by the literal first; the
    re-scan reports such a survivor.
    """
    distinct = sorted({v for v in values if v}, key=lambda v: (-len(v), v))
    return b"".join(replace_line(v) + b"\n" for v in distinct)


@dataclass
class Survivor:
    repo: str
    object: str
    kind: str
    secrets: list[str]


@dataclass
class RewriteResult:
    repo: str
    mirror: str
    status: str  # verified | survivors | skipped
    refs: int
    objects: int
    survivors: list[Survivor] = field(default_factory=list)


@dataclass
class RewriteReport:
    results: list[RewriteResult] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    purge: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(r.status in ("verified", "skipped") for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.migrate-rewrite/v1",
            "clean": self.clean,
            "repos": [
                {
                    "repo": r.repo,
                    "mirror": r.mirror,
                    "status": r.status,
                    "refs": r.refs,
                    "objects_scanned": r.objects,
                    "survivors": [
                        {"object": s.object, "type": s.kind, "secrets": s.secrets}
                        for s in r.survivors
                    ],
                }
                for r in self.results
            ],
            "force_push_and_reclone": self.steps,
            "provider_purge": self.purge,
            "warnings": self.warnings,
        }


def filter_repo_command() -> list[str]:
    """How to run git-filter-repo (installed with gitvault from PyPI)."""
    found = shutil.which("git-filter-repo")
    if found is None:
        raise BadInput(
            "git-filter-repo is not installed",
            hint="pip install git-filter-repo (a gitvault dependency)",
        )
    return [found]


MARKER = "gitvault-migrate-mirror"


def _check_replaceable(target: Path, ours: bool) -> None:
    """Refuse to replace anything at ``target`` that this plan did not make.

    ``ours``: the plan recorded this path as its mirror, after this check passed
    on an earlier run (a run killed before the marker was written).
    """
    if not (target.exists() or target.is_symlink()):
        return
    if target.is_symlink() or not (ours or (target / MARKER).is_file()):
        raise BadInput(
            f"{target} exists and is not a mirror this plan made: refusing to replace it",
            hint="choose another --workdir",
        )


def _mirror(repo: Repo, target: Path) -> None:
    """A fresh mirror clone at ``target`` (checked by :func:`_check_replaceable` first)."""
    if target.exists():
        shutil.rmtree(target)
    repos_mod.git(
        ["clone", "--quiet", "--mirror", "--no-local", "--", repo.path, str(target)],
        target.parent,
    )
    (target / MARKER).write_text("made by gitvault migrate rewrite; safe to delete\n")


def _run_filter_repo(mirror: Path, rules: Path) -> None:
    proc = subprocess.run(
        [
            *filter_repo_command(),
            "--replace-text",
            str(rules),
            "--replace-message",
            str(rules),
            "--quiet",
            # The mirror is always a clone we just made (its freshness check
            # refuses one that carries a stash ref, which we must purge too).
            "--force",
        ],
        cwd=mirror,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        # git-filter-repo's own messages name refs and files, never replacement text.
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"git filter-repo failed in {mirror}: {lines[0] if lines else proc.returncode}"
        )


def scan_objects(root: Path, pairs: Sequence[tuple[str, bytes]]) -> tuple[int, list[Survivor]]:
    """Every object of the repository searched for every value (plain bytes, all types)."""
    from gitvault.scan.known import KnownValues

    long_pairs = [(sid, v.decode("utf-8", "surrogateescape")) for sid, v in pairs]
    matcher = KnownValues(long_pairs)
    # The matcher skips very short and digit-only values and searches multi-line
    # ones by line: check those whole, by plain search.
    short = [(sid, v) for sid, v in pairs if len(v) < 16 or v.isdigit() or b"\n" in v]
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    survivors: list[Survivor] = []
    count = 0
    stream = proc.stdout
    while True:
        header = stream.readline()
        if not header:
            break
        parts = header.split()
        if len(parts) != 3:
            continue
        size = int(parts[2])
        data = stream.read(size)
        stream.read(1)  # the newline after the content
        count += 1
        found = {h.key_path for h in matcher.find(data)}
        found |= {sid for sid, v in short if v in data}
        if found:
            survivors.append(Survivor("", parts[0].decode(), parts[1].decode(), sorted(found)))
    if proc.wait() != 0:
        raise GitError(f"git cat-file failed in {root}")
    return count, survivors


def _values(plan: Plan) -> list[tuple[str, bytes]]:
    repos = {r.id: r for r in plan.repos}
    fp = plan.fingerprinter()
    out: list[tuple[str, bytes]] = []
    for s in plan.active():
        value = repos_mod.read_value(repos, s.locations, s.fingerprint, fp)
        if value is None and all(loc.commit is None for loc in s.locations):
            continue  # only ever in a work tree (and changed since): no history to purge
        if value is None:
            raise BadInput(
                f"{s.id}: none of its recorded places holds the value any more",
                hint="rewrite reads values from the original clones: run it before changing them",
            )
        out.append((s.id, value))
    return out


def rewrite(
    plan: Plan,
    workdir: Path,
    *,
    checkpoint: Any,
    only: Sequence[str] = (),
    progress: Progress = no_progress,
) -> RewriteReport:
    """Rewrite a mirror of every repository in ``plan`` (or those in ``only``)."""
    from gitvault import fsutil
    from gitvault.migrate.plan import inside_work_tree

    if inside_work_tree(workdir / "x") is not None:
        raise BadInput(f"{workdir}: the work directory must be outside every git work tree")
    repos_mod.ensure_private(workdir)
    values = _values(plan)
    if not values:
        raise BadInput("the plan has no secret to remove", hint="run `gitvault migrate find`")
    state: dict[str, Any] = plan.steps.setdefault("rewrite", {})
    # Which values a verified mirror was purged of: a plan with more values redoes it.
    digest = hashlib.sha256(
        "\n".join(sorted(s.fingerprint for s in plan.active())).encode()
    ).hexdigest()[:32]
    report = RewriteReport()
    with fsutil.private_dir() as private:
        rules = private / "replace-text.txt"
        fsutil.write_private(rules, replace_text([v for _, v in values]))
        for repo in plan.repos:
            if only and repo.id not in only:
                continue
            mirror = workdir / f"{repo.id}.git"
            done = state.get(repo.id) or {}
            if done.get("status") == "verified" and mirror.exists() and done.get("set") == digest:
                progress(f"{repo.id}: already rewritten and verified ({mirror})")
                report.results.append(
                    RewriteResult(repo.id, str(mirror), "skipped", done.get("refs", 0), 0)
                )
                continue
            _check_replaceable(mirror, done.get("mirror") == str(mirror))
            state[repo.id] = {"status": "cloning", "mirror": str(mirror), "at": now_text()}
            checkpoint()
            progress(f"{repo.id}: mirror clone")
            _mirror(repo, mirror)
            state[repo.id]["status"] = "filtering"
            checkpoint()
            progress(f"{repo.id}: git filter-repo")
            _run_filter_repo(mirror, rules)
            progress(f"{repo.id}: re-scanning every object")
            refs = repos_mod.all_refs(mirror)
            objects, found = scan_objects(mirror, values)
            for s in found:
                s.repo = repo.id
            status = "verified" if not found else "survivors"
            state[repo.id] = {
                "status": status,
                "mirror": str(mirror),
                "refs": len(refs),
                "objects": objects,
                "survivors": [{"object": s.object, "secrets": s.secrets} for s in found],
                "set": digest,
                "at": now_text(),
            }
            checkpoint()
            report.results.append(
                RewriteResult(repo.id, str(mirror), status, len(refs), objects, found)
            )
            progress(f"{repo.id}: {status} ({objects} objects, {len(refs)} refs)")
    _instructions(plan, workdir, report)
    return report


def _instructions(plan: Plan, workdir: Path, report: RewriteReport) -> None:
    for repo in plan.repos:
        mirror = workdir / f"{repo.id}.git"
        remote = repo.remote or "<the repository's URL on your git host>"
        if repo.kind == "url":
            report.steps.append(f"git -C {mirror} push --force --mirror {remote}")
        else:
            report.steps.append(
                f"git -C {mirror} push --force {remote} "
                "'refs/heads/*:refs/heads/*' 'refs/tags/*:refs/tags/*'"
            )
            remotes = [r for r in repo.other_refs if r.startswith("refs/remotes/")]
            if remotes:
                report.warnings.append(
                    f"{repo.id}: the clone you named has remote-tracking branches "
                    f"({len(remotes)}); they were rewritten in the mirror under refs/remotes/ — "
                    "push those that exist only on the server too, e.g. "
                    "'refs/remotes/origin/NAME:refs/heads/NAME'"
                )
        odd = [r for r in repo.other_refs if not r.startswith("refs/remotes/")]
        if odd:
            report.warnings.append(
                f"{repo.id}: also holds {', '.join(odd[:5])}{' …' if len(odd) > 5 else ''}: "
                "checked in the mirror; push notes with 'refs/notes/*:refs/notes/*'; a stash "
                "and reflogs stay in your own clone until you delete it"
            )
    report.steps.append(
        "everyone: delete every existing clone and clone again (git clone URL); "
        "a push from an old clone brings the old history back"
    )
    report.steps.append("open pull/merge requests keep the old commits: close or recreate them")
    for s in plan.active():
        if s.first_commit:
            report.purge.append(
                {
                    "secret": s.id,
                    "repo": plan.repo(s.first_repo or "").source if s.first_repo else None,
                    "first_commit": s.first_commit,
                    "path": next(
                        (loc.path for loc in s.locations if loc.commit == s.first_commit), None
                    ),
                }
            )
    report.warnings.append(
        "forks, other clones, CI caches, package mirrors and the host's cached views "
        "(commit pages, pull-request refs) cannot be reached from here: ask the host to "
        "purge them (list of first commits below) and treat every value as compromised"
    )
