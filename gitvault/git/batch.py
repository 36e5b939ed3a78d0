"""Read many blobs through one ``git cat-file --batch`` process (history walks).

A history walk (``log``, ``due``) reads one blob per version of every file it
compares: thousands. Vault files are near-identical text (the same stanzas,
the same keys), so ``git gc`` stores most versions as deltas in chains up to
50 long; libgit2 resolves each chain again per lookup (~1 ms per blob on a
gc'd vault of a few thousand versions), git's own delta-base cache does not
(~0.1 ms). Nothing is cached here: the caller keeps what it still needs.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path
from types import TracebackType

from gitvault.errors import GitError
from gitvault.git.log import git_env

_NOUNS = {b"blob": "file", b"commit": "commit"}
_HEX = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


class BlobReader:
    """``read(blob_id) -> bytes`` for blob ids (full hex), one request at a time.

    Use as a context manager; the git process ends with the block (or at
    :meth:`close`), also when the walk stops early.
    """

    def __init__(self, root: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "-C", str(root), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )

    def read(self, blob_id: str, kind: bytes = b"blob") -> bytes:
        """The object's bytes; :class:`GitError` when it is missing or not a ``kind``."""
        if not _HEX.fullmatch(blob_id):
            raise GitError(f"invalid object id {blob_id[:60]!r}")
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(blob_id.encode("ascii") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline()
        except OSError as exc:  # git exited (e.g. a corrupt repository)
            raise GitError(f"git cat-file failed: {exc.strerror or exc}") from None
        fields = header.split()
        if len(fields) != 3 or not fields[2].isdigit():
            if header.endswith(b" missing\n"):
                raise GitError(f"object {blob_id[:12]} is missing from the repository")
            raise GitError(f"git cat-file failed reading {blob_id[:12]}")
        size = int(fields[2])
        data = proc.stdout.read(size)  # read whole even when not a blob: keeps the stream in step
        if len(data) != size or proc.stdout.read(1) != b"\n":
            raise GitError(f"git cat-file ended while reading {blob_id[:12]}")
        if fields[1] != kind:
            raise GitError(f"object {blob_id[:12]} is not a {_NOUNS.get(kind, 'file')}")
        return data

    def is_signed(self, commit_id: str) -> bool:
        """Whether the commit carries a signature header (not verified here).

        What ``pygit2.Commit.gpg_signature`` answers, without libgit2 mapping
        the pack into this process for every commit of a long history.
        """
        raw = self.read(commit_id, b"commit")
        headers = raw.split(b"\n\n", 1)[0]
        return any(
            line.startswith((b"gpgsig ", b"gpgsig-sha256 ")) for line in headers.split(b"\n")
        )

    def close(self) -> None:
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
