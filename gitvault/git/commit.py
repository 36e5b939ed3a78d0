"""Commit vault files with the real ``git commit``, staged from the index.

gitvault's writes (``edit --commit``, ``set --commit``, ``rotate``, ``rekey``,
``offboard``) end in :func:`commit_paths`. It never rewrites the work tree to
build a commit: it writes each path's blob into the object store (from the
bytes the caller gives, or from the work-tree file) and stages it in a
*private copy* of the index under ``.git/gitvault/``, then runs ``git commit
-F -`` with ``GIT_INDEX_FILE`` pointing at that copy. The user's identity,
hooks (pre-commit, commit-msg, post-commit) and signing (``commit.gpgsign``,
``gpg.format=ssh``) apply exactly as for a hand-made commit, and hooks see the
staged change through ``GIT_INDEX_FILE`` as git gives it to them.

Why a private index: a commit that is refused, or a process killed during a
slow hook or a signing prompt, leaves the real index and the work tree exactly
as they were; only after ``git commit`` succeeded are the real index entries of
the committed paths updated (one ``git update-index --index-info`` call). So a
caller can keep a value on disk that must not be committed (a rotation whose
rollback failed) while committing another version of the same file.

Before committing, every staged blob of those paths must look like a SOPS file
(a top-level ``sops:`` mapping with a ``mac:``): a cheap byte check that stops
plaintext from ever being committed by us.

The cost is linear in the paths: one index read for the state check, one
``hash-object`` call for work-tree paths, one ``update-index`` for the private
index and one for the real one, whatever the number of files.

This module must never commit a path it was not given, never pass a value on a
command line, and never leave the index changed when it refuses or fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import BadInput, GitError
from gitvault.git import indexsync
from gitvault.git.log import git_env, run_git
from gitvault.git.repo import Repository
from gitvault.tempfiles import process_alive

_ZERO = "0" * 40
_HOOK_LINES = 40  # at most this many lines of a refusing hook's output are shown


@dataclass(frozen=True)
class CommitResult:
    """The commit that was made."""

    id: str
    branch: str | None
    paths: tuple[str, ...]
    signed: bool


class CommitFailed(GitError):
    """``git commit`` itself failed (a hook refused, signing failed …).

    ``output`` holds the lines git and its hooks printed, so the user sees the
    hook's own reasons (they are also in the hint, which the CLI prints).
    """

    def __init__(self, message: str, *, output: tuple[str, ...], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


def looks_like_vault_file(data: bytes) -> bool:
    """Cheap check: sops metadata with a ``mac`` entry (YAML, JSON or dotenv), and no NUL."""
    from gitvault.sops.formats import looks_encrypted

    return looks_encrypted(data)


def commit_paths(
    repo: Repository,
    paths: Sequence[str],
    message: str,
    *,
    allow_other_staged: bool = False,
    plain: Sequence[str] = (),
    contents: Mapping[str, bytes | None] | None = None,
) -> CommitResult:
    """Commit ``paths`` (relative to the root; deletions included).

    Each path's committed content is ``contents[path]`` when given (None: the
    path is deleted), else the work-tree file as ``git add`` would stage it
    (a missing file is a deletion). The work tree is never written.

    ``plain`` names paths among ``paths`` that are not vault files and may be
    committed as they are (the policy file, which ``offboard`` changes in the
    same commit as the files it re-keys); every other path must be encrypted.

    Raises :class:`GitError` when the repository is in a state we refuse
    (detached HEAD, merge in progress, unrelated staged changes unless
    ``allow_other_staged``), :class:`CommitFailed` when ``git commit`` fails
    (its output and the hooks' are in ``output`` and the hint), and
    :class:`BadInput` when a path's content is not an encrypted vault file. In
    every failure the index is unchanged.
    """
    wanted = tuple(dict.fromkeys(paths))
    if not wanted:
        raise BadInput("nothing to commit: no paths given")
    if not message.strip():
        raise BadInput("commit message is empty")
    for path in wanted:
        if path.startswith(("/", "-")) or ".." in path.split("/") or "\0" in path:
            raise BadInput(f"not a path relative to the repository root: {path[:80]}")
    given = dict(contents or {})
    indexsync.heal(repo)
    state = repo.require_can_commit(wanted, allow_other_staged=allow_other_staged)
    blobs = _write_blobs(repo, wanted, given)
    for path, blob in blobs.items():
        if blob is None or path in plain:
            continue
        if not looks_like_vault_file(repo.read_blob(blob)):
            raise BadInput(f"refusing to commit {path}: it is not an encrypted vault file")
    head = {} if state.is_empty else repo.entries_at("HEAD", wanted)
    if not state.is_empty and all(_same(blobs[p], head.get(p)) for p in wanted):
        raise BadInput("nothing to commit: the files are unchanged")
    lines = [_index_line(path, blobs[path], head.get(path)) for path in wanted]

    private = _private_index(repo, state.is_empty, others=bool(allow_other_staged))
    try:
        env = git_env()
        env["GIT_INDEX_FILE"] = str(private)
        _git(repo, ["update-index", "--index-info"], env, stdin="".join(lines).encode())
        # A kill between `git commit` and the real index update below is
        # finished by the next run (gitvault.git.indexsync).
        marker = indexsync.record(repo, state.git_dir, lines)
        proc = subprocess.run(
            ["git", "-C", str(repo.root), "commit", "--quiet", "-F", "-"],
            input=message.encode(),
            capture_output=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            indexsync.done(marker)
            output = _output_lines(proc.stderr, proc.stdout)
            raise CommitFailed(
                f"git commit failed: {output[-1][:200] if output else 'no output'}",
                output=output,
                hint=_hook_hint(output),
            )
        # The commit exists: now the real index agrees with it for these paths.
        _git(repo, ["update-index", "--index-info"], git_env(), stdin="".join(lines).encode())
        indexsync.done(marker)
    finally:
        with contextlib.suppress(OSError):
            private.unlink()

    after = repo.state()
    assert after.head is not None
    return CommitResult(
        id=after.head,
        branch=after.branch,
        paths=wanted,
        signed=bool(repo.signed_commits([after.head])),
    )


def _write_blobs(
    repo: Repository, paths: Sequence[str], given: Mapping[str, bytes | None]
) -> dict[str, str | None]:
    """Each path's blob id (written to the object store), None for a deletion."""
    blobs: dict[str, str | None] = {}
    from_tree = []
    for path in paths:
        if path in given:
            data = given[path]
            blobs[path] = None if data is None else repo.write_blob(data)
        elif (repo.root / path).is_file():
            from_tree.append(path)
        else:
            blobs[path] = None
    if from_tree:
        # One process for every work-tree path; git applies the path's filters
        # (eol, clean) exactly as `git add` would.
        out = run_git(
            repo.root, ["hash-object", "-w", "--stdin-paths"], stdin="\n".join(from_tree).encode()
        )
        ids = out.decode().split()
        if len(ids) != len(from_tree):
            raise GitError("git hash-object returned an unexpected answer")
        blobs.update(zip(from_tree, ids, strict=True))
    return blobs


def _same(blob: str | None, head: tuple[int, str] | None) -> bool:
    return blob is None if head is None else blob == head[1]


def _index_line(path: str, blob: str | None, head: tuple[int, str] | None) -> str:
    if blob is None:
        return f"0 {_ZERO}\t{path}\n"
    mode = head[0] if head is not None and head[0] in (0o100644, 0o100755) else 0o100644
    return f"{mode:o} {blob}\t{path}\n"


def _private_index(repo: Repository, empty: bool, *, others: bool) -> Path:
    """A copy of the index that holds HEAD for every path (our paths are set later)."""
    directory = repo.state().git_dir / "gitvault"
    directory.mkdir(exist_ok=True)
    clean_stale_indexes(directory)
    private = directory / f"index-{os.getpid()}-{os.urandom(4).hex()}.tmp"
    real = Path(run_git(repo.root, ["rev-parse", "--git-path", "index"]).decode().strip())
    if not real.is_absolute():
        real = repo.root / real
    if real.exists() and not others:
        # Nothing else is staged: the real index is HEAD plus fresh stat data.
        shutil.copyfile(real, private)
    else:
        env = git_env()
        env["GIT_INDEX_FILE"] = str(private)
        _git(repo, ["read-tree", "--empty"] if empty else ["read-tree", "HEAD"], env)
    return private


def clean_stale_indexes(directory: Path) -> None:
    """Remove private index copies whose process is gone (killed during a commit)."""
    for entry in [*directory.glob("index-*.tmp"), *directory.glob("index-*.tmp.lock")]:
        try:
            pid = int(entry.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not process_alive(pid):
            with contextlib.suppress(OSError):
                entry.unlink()


def _git(
    repo: Repository, args: Sequence[str], env: Mapping[str, str], stdin: bytes | None = None
) -> None:
    proc = subprocess.run(
        ["git", "-C", str(repo.root), *args],
        input=stdin,
        capture_output=True,
        env=dict(env),
        check=False,
    )
    if proc.returncode != 0:
        lines = _output_lines(proc.stderr)
        raise GitError(f"git {args[0]} failed: {lines[-1][:200] if lines else proc.returncode}")


def _output_lines(*streams: bytes) -> tuple[str, ...]:
    lines: list[str] = []
    for stream in streams:
        lines += [ln.rstrip() for ln in stream.decode(errors="replace").splitlines() if ln.strip()]
    return tuple(lines)


def _hook_hint(output: Sequence[str]) -> str:
    """The hook's own lines, indented, so "fix the lines above" has lines above."""
    if not output:
        return "git printed nothing; run `git commit` by hand to see why"
    shown = list(output[-_HOOK_LINES:])
    cut = len(output) - len(shown)
    head = [f"(first {cut} line(s) left out)"] if cut else []
    return "git commit and its hooks said:\n" + "\n".join(f"    {ln}" for ln in head + shown)
