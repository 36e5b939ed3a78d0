"""Apply an import plan: encrypt every file, then write them all or none.

The guarantee (docs/import.md): every file is encrypted in memory first; then
each new file is written to a temp file beside git's data (never in the work
tree), all temp files are made durable with one ``sync()``, and only then
renamed over their destinations one by one. A failure before the renames
removes the temp files and changes nothing; a failure during the renames puts
back the files already renamed (:func:`gitvault.fsutil.write_many`), and the
folders this import created are removed again. A crash (power loss, kill -9)
in the middle of the renames can leave some files imported and some not —
each one whole, never torn — and running the same import again with
``--merge --overwrite`` completes it.

With a commit, the repository is checked before anything is written, and a
commit that fails (a hook refusing it) puts every file back as it was.

Nothing here prints, and no value ever reaches a message.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import GitError
from gitvault.importer.plan import ImportPlan, PlannedFile


@dataclass(frozen=True)
class CommitOptions:
    """Commit the imported files in one commit (``Gitvault-Action: import``)."""

    message: str | None = None
    allow_staged: bool = False


@dataclass(frozen=True)
class ImportResult:
    """What was written: the plan's files, and the commit when one was made."""

    files: tuple[PlannedFile, ...]
    commit: str | None = None  # a ``committed … on …`` description


def encrypt_file(planned: PlannedFile) -> bytes:
    """The vault file bytes for one planned file (fresh data key unless merging)."""
    from gitvault.sops import file as sopsfile

    if planned.previous is not None:
        # Merge: same data key and recipients; unchanged values keep their ciphertext.
        return sopsfile.reencrypt([planned.document], planned.previous)
    return sopsfile.encrypt_new(
        [planned.document], list(planned.recipient_keys), **planned.selection
    )


def apply_import(plan: ImportPlan, *, commit: CommitOptions | None = None) -> ImportResult:
    """Encrypt and write every file of ``plan`` (all or none; module docstring).

    Callers that may race with other writers hold
    :func:`gitvault.locking.tree_lock` from planning to here; without it, a
    destination changed since it was planned is refused (exit 6) before
    anything is written.
    """
    from gitvault.errors import BadInput

    if not plan.files:
        return ImportResult(())
    blobs = [(f.path, encrypt_file(f)) for f in plan.files]
    for f in plan.files:
        _check_unchanged(f)
    target = _prepare_commit(plan, commit.allow_staged) if commit is not None else None
    created = _make_parents([f.path for f in plan.files])
    try:
        if target is None:
            from gitvault import fsutil

            try:
                fsutil.write_many(blobs)
            except OSError as exc:
                raise BadInput(f"cannot write the imported files ({exc.strerror})") from None
            return ImportResult(plan.files)
        assert commit is not None
        described = _write_and_commit(plan, blobs, target, commit)
        return ImportResult(plan.files, described)
    except BaseException:
        _remove_dirs(created)
        raise


def _check_unchanged(f: PlannedFile) -> None:
    """Refuse a destination that changed (or appeared) since it was planned."""
    path = f.path
    exists = path.exists() or path.is_symlink()
    if f.before_digest is None:
        if exists:
            raise GitError(f"{f.relpath}: created by someone else since the import was planned")
        return
    from gitvault.fsutil import read_input

    now = read_input(path, root=f.root) if exists else b""
    if not exists or hashlib.sha256(now).digest() != f.before_digest:
        raise GitError(f"{f.relpath}: changed by someone else since the import was planned")


def _make_parents(paths: list[Path]) -> list[Path]:
    """Create missing folders (inside the vault only); return those created, deepest first."""
    from gitvault.vault import check_parents

    created: list[Path] = []
    for path in paths:
        if check_parents(path) is None:
            continue
        missing = []
        parent = path.absolute().parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            try:
                directory.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                _remove_dirs(created)
                from gitvault.errors import BadInput

                raise BadInput(f"{directory}: cannot create the folder ({exc.strerror})") from None
            created.insert(0, directory)
    return created


def _remove_dirs(created: list[Path]) -> None:
    for directory in created:  # deepest first; only if still empty
        with contextlib.suppress(OSError):
            directory.rmdir()


@dataclass(frozen=True)
class _Target:
    repo: object
    relpaths: tuple[str, ...]


def _prepare_commit(plan: ImportPlan, allow_staged: bool) -> _Target:
    """Check the repository can take one commit of exactly these files (nothing written)."""
    from gitvault.commits import check_repository
    from gitvault.git.repo import Repository
    from gitvault.git.worktree import uncommitted_many

    roots = {f.root for f in plan.files}
    if len(roots) != 1:
        raise GitError("--commit needs every destination in one vault repository")
    repo = Repository.discover(next(iter(roots)))
    relpaths = tuple(repo.relpath(f.path) for f in plan.files)
    check_repository(repo, list(relpaths), allow_staged=allow_staged)
    existing = [rel for f, rel in zip(plan.files, relpaths, strict=True) if f.action != "create"]
    dirty = uncommitted_many(repo, existing) if existing and not repo.state().is_empty else {}
    if dirty:
        rel, change = next(iter(dirty.items()))
        raise GitError(
            f"{rel} has uncommitted changes ({change}): refusing to commit them unseen",
            hint="commit or discard them first, or run without --commit",
        )
    return _Target(repo, relpaths)


def _write_and_commit(
    plan: ImportPlan, blobs: list[tuple[Path, bytes]], target: _Target, commit: CommitOptions
) -> str:
    from gitvault.commits import describe_commit, split_message
    from gitvault.fsutil import read_input
    from gitvault.git.repo import Repository
    from gitvault.git.trailers import VaultTrailers, build_vault_message

    repo = target.repo
    assert isinstance(repo, Repository)
    keys = {
        rel: tuple(dict.fromkeys(k.path for k in f.keys))
        for f, rel in zip(plan.files, target.relpaths, strict=True)
    }
    count = len(plan.files)
    default = (
        f"gitvault: import {target.relpaths[0]}"
        if count == 1
        else f"gitvault: import {count} vault files"
    )
    subject, body = split_message(commit.message, default)
    trailers = VaultTrailers(action="import", files=target.relpaths, keys=keys)
    message = build_vault_message(subject, trailers, body)
    originals = [
        (f.path, read_input(f.path, root=f.root) if f.action != "create" else None)
        for f in plan.files
    ]
    from gitvault import fsutil
    from gitvault.git.commit import commit_paths
    from gitvault.locking import commit_lock
    from gitvault.team.commitplan import restore

    with commit_lock(repo.root, "import"):
        fsutil.write_many(blobs)
        try:
            result = commit_paths(
                repo, list(target.relpaths), message, allow_other_staged=commit.allow_staged
            )
        except BaseException:
            restore(originals)
            raise
    return describe_commit(result)
