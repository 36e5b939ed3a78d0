"""Fast history of a set of paths, and commit signature states.

:func:`walk` runs ONE ``git log --raw -z`` over the given paths and parses its
output into :class:`CommitRecord` values (newest first). We measured this
against a pygit2 walk with per-commit tree diffs (bench/history): git's own
pathspec-limited walk is faster and scales linearly, and blob contents are
then read once each through :class:`~gitvault.git.repo.Repository`.

Which commits, by ``merges``:

* ``"combined"`` (the default, for callers that only want each change once):
  the history reachable from ``rev`` with git's default simplification (a
  merge that only brought in a side branch's change is skipped, the side
  branch's commit reports it); merges are diffed in "dense combined" mode
  (``--cc``), so an "evil merge" appears with the first parent's blob as the
  old side. A merge whose result equals one parent's version is *not* seen.
* ``"first-parent"`` (what the trust checks use, :mod:`gitvault.trust.walk`):
  every commit that changed the paths, merges included (``--full-history``),
  each diffed against its FIRST parent (``--diff-merges=first-parent``), in
  topological order. A merge that quietly takes an old version of a file from
  its second parent shows as the change it makes to the first parent's line.

``topo`` asks for topological order (a commit before its parents, whatever
the dates); git then reads the whole walk before it writes the first record.

Renames are not followed (``--no-renames``): a moved vault file is a
removal plus an addition, which is also what its keys experience.

Record delimiters carry a random nonce per call, so a commit message cannot
forge records. :func:`signature_states` asks git (``%G?``) with the user's
configuration, so ``gpg.format=ssh`` and ``gpg.ssh.allowedSignersFile`` apply.

This module must never read blob contents itself or decrypt anything.
"""

from __future__ import annotations

import codecs
import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import GitError
from gitvault.git.trailers import Trailer, parse_trailers

_FIELDS = ("%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%B")


@dataclass(frozen=True)
class Person:
    """An author or committer as recorded in the commit (no mailmap)."""

    name: str
    email: str
    time: int  # seconds since the epoch


@dataclass(frozen=True)
class FileChange:
    """One path a commit changed; blob ids are None on the absent side."""

    path: str
    status: str  # git's letter: A added, M modified, D deleted, T type change
    old_blob: str | None
    new_blob: str | None


@dataclass(frozen=True)
class CommitRecord:
    """A commit that touched the walked paths."""

    id: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str
    trailers: tuple[Trailer, ...]
    changes: tuple[FileChange, ...]

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True)
class SignatureState:
    """Whether a commit is signed and whether git could verify the signature."""

    code: str  # git's %G? letter
    signer: str  # %GS: the signer's identity as git reports it ("" when unsigned)
    key: str  # %GK: key id or fingerprint ("" when unsigned)

    @property
    def signed(self) -> bool:
        return self.code != "N"

    @property
    def verified(self) -> bool:
        """True only for a good signature by a trusted key (``G``)."""
        return self.code == "G"

    @property
    def status(self) -> str:
        return _SIGNATURE_STATUS.get(self.code, "unknown")


_SIGNATURE_STATUS = {
    "G": "good",
    "U": "good, untrusted key",
    "X": "good, expired signature",
    "Y": "good, expired key",
    "R": "good, revoked key",
    "B": "bad",
    "E": "cannot be checked",
    "N": "unsigned",
}
UNSIGNED = SignatureState(code="N", signer="", key="")


def git_env() -> dict[str, str]:
    """The environment for our read-only git calls: the user's, made predictable."""
    env = dict(os.environ)
    env["GIT_LITERAL_PATHSPECS"] = "1"  # a path named "*.yaml" means that file only
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_EXTERNAL_DIFF", None)
    return env


def run_git(root: Path, args: Sequence[str], *, stdin: bytes | None = None) -> bytes:
    """Run ``git -C root args`` and return stdout; a failure is a one-line GitError."""
    proc = subprocess.run(
        ["git", "-C", str(root), *args],
        input=stdin,
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        reason = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {reason[:200]}")
    return proc.stdout


def walk(
    root: Path,
    paths: Sequence[str] = (),
    *,
    rev: str = "HEAD",
    max_count: int | None = None,
    first_parent: bool = False,
    merges: str = "combined",
    topo: bool = False,
) -> list[CommitRecord]:
    """Every commit reachable from ``rev`` that changed one of ``paths``, newest first.

    ``paths`` are files or directories relative to the repository root (no
    globs); empty means the whole tree. ``first_parent`` restricts the walk to
    the mainline (merges then report everything their branch brought in).
    """
    return list(
        iter_walk(
            root,
            paths,
            rev=rev,
            max_count=max_count,
            first_parent=first_parent,
            merges=merges,
            topo=topo,
        )
    )


def iter_walk(
    root: Path,
    paths: Sequence[str] = (),
    *,
    rev: str = "HEAD",
    max_count: int | None = None,
    first_parent: bool = False,
    merges: str = "combined",
    topo: bool = False,
) -> Iterator[CommitRecord]:
    """Like :func:`walk`, yielding each record as soon as git has written it.

    The caller's work on one commit overlaps git's on the next (``log`` and
    ``due`` over thousands of commits). A git failure raises :class:`GitError`
    when the output ends; records already yielded stay valid.
    """
    nonce = secrets.token_hex(8)
    rec, sep = f"\x1e{nonce}", f"\x1f{nonce}"
    fmt = "%x1e" + nonce + ("%x1f" + nonce).join(_FIELDS) + "%x1f" + nonce
    args = [
        "-c",
        "log.showSignature=false",
        "log",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--no-color",
        "--no-ext-diff",
        "--encoding=UTF-8",
        f"--format={fmt}",
    ]
    if first_parent:
        args += ["--first-parent", "--diff-merges=first-parent"]
    elif merges == "first-parent":
        args += ["--full-history", "--diff-merges=first-parent"]
    else:
        args.append("--cc")
    if topo:
        args.append("--topo-order")
    if max_count is not None:
        args.append(f"--max-count={int(max_count)}")
    if rev.startswith("-"):
        raise GitError(f"invalid revision {rev[:60]!r}")
    args += [rev, "--", *paths]
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            ["git", "-C", str(root), *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=git_env(),
        ) as proc,
    ):
        assert proc.stdout is not None
        try:
            pending = ""
            started = False
            while True:
                chunk = proc.stdout.read(1 << 16)
                pending += decoder.decode(chunk, final=not chunk)
                pieces = pending.split(rec)
                pending = pieces.pop() if chunk else ""
                for piece in pieces:
                    if not started:
                        started = True  # text before the first delimiter (none expected)
                        continue
                    yield _record(piece, sep)
                if not chunk:
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
        if proc.wait() != 0:
            errors.seek(0)
            lines = [ln for ln in errors.read().decode(errors="replace").splitlines() if ln.strip()]
            reason = lines[-1].strip() if lines else f"exit status {proc.returncode}"
            raise GitError(f"git log failed: {reason[:200]}")


def _record(chunk: str, sep: str) -> CommitRecord:
    parts = chunk.split(sep)
    if len(parts) != len(_FIELDS) + 1:
        raise GitError("unexpected output from git log")
    commit_id, parents, an, ae, at, cn, ce, ct, message, raw = parts
    return CommitRecord(
        id=commit_id,
        parents=tuple(parents.split()),
        author=Person(an, ae, int(at or 0)),
        committer=Person(cn, ce, int(ct or 0)),
        message=message,
        trailers=parse_trailers(message),
        changes=_parse_raw(raw),
    )


def _blob(text: str) -> str | None:
    return None if text.strip("0") == "" else text


def _parse_raw(raw: str) -> tuple[FileChange, ...]:
    """Parse ``--raw -z`` entries: ``:meta\\0path\\0`` (``::…`` for combined merges)."""
    tokens = raw.lstrip("\0\n").split("\0")
    changes = []
    i = 0
    while i < len(tokens):
        meta = tokens[i].strip("\n")
        if not meta.startswith(":"):
            i += 1
            continue
        path = tokens[i + 1] if i + 1 < len(tokens) else ""
        i += 2
        colons = len(meta) - len(meta.lstrip(":"))  # number of parents compared
        fields = meta[colons:].split(" ")
        ids = fields[colons + 1 : 2 * colons + 2]
        status = fields[-1]
        old, new = _blob(ids[0]), _blob(ids[-1])
        if colons > 1:
            # Combined merge diff: one letter per parent; summarise from the blobs.
            status = "A" if old is None else ("D" if new is None else "M")
        changes.append(FileChange(path=path, status=status[:1], old_blob=old, new_blob=new))
    return tuple(changes)


def signature_states(root: Path, commit_ids: Iterable[str]) -> dict[str, SignatureState]:
    """Ask git to verify the signatures of ``commit_ids`` (one git process).

    Pass only commits known to be signed (``Repository.signed_commits``):
    verification spawns gpg or ssh-keygen per signed commit inside git.
    """
    ids = list(dict.fromkeys(commit_ids))
    if not ids:
        return {}
    nonce = secrets.token_hex(8)
    fmt = f"%H%x1f{nonce}%G?%x1f{nonce}%GS%x1f{nonce}%GK%x1e{nonce}"
    out = run_git(
        root,
        ["log", "--no-walk=unsorted", "--stdin", "--no-color", f"--format={fmt}"],
        stdin=("\n".join(ids) + "\n").encode(),
    ).decode("utf-8", errors="replace")
    states: dict[str, SignatureState] = {}
    for chunk in out.split(f"\x1e{nonce}"):
        parts = chunk.strip("\n").split(f"\x1f{nonce}")
        if len(parts) != 4:
            continue
        commit_id, code, signer, key = parts
        states[commit_id] = SignatureState(code=code or "N", signer=signer, key=key)
    return states
