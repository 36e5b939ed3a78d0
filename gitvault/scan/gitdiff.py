"""Added lines from git, through the git CLI: the staged change, or commits of a range.

The scanner looks only at what a change adds. This module runs ``git diff
--cached -U0`` or ``git log -p -U0`` (never a checkout, never pygit2), parses
the unified diff as bytes and yields one :class:`~gitvault.scan.model.Unit`
per file and commit, holding just the added lines and a map back to their line
numbers. In history each post-image blob is read once, however many commits
or branches carry it.

It must never run textconv or external diff drivers (``--no-textconv
--no-ext-diff``): a vault file's diff driver decrypts, and decrypted text must
not flow into a scan of what is committed.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitvault.errors import GitError
from gitvault.scan.model import LineMap, Unit

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_DIFF_OPTS = (
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--full-index",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=all",
)
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_COMMIT_MARK = b"\x00gitvault-commit "


def run_git(args: Sequence[str], cwd: Path, *, stdin: bytes | None = None) -> bytes:
    """Run git and return stdout; raise :class:`GitError` with git's first error line."""
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=false", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"git {args[0]} failed: {first[0] if first else 'exit ' + str(proc.returncode)}"
        )
    return proc.stdout


def repo_root(cwd: Path) -> Path:
    """The top of the work tree containing ``cwd``."""
    out = run_git(["rev-parse", "--show-toplevel"], cwd).decode("utf-8", "surrogateescape").strip()
    if not out:
        raise GitError("not inside a git work tree", hint="run this inside a git repository")
    return Path(out)


def has_head(cwd: Path) -> bool:
    """False in a repository without commits yet."""
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD^{commit}"],
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def unquote_path(raw: bytes) -> str:
    """Undo git's C-style quoting of a path (``"a\\tb"``) and decode it."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw.decode("utf-8", "surrogateescape")
    body = raw[1:-1]
    out = bytearray()
    i = 0
    escapes = {
        b"n": 10,
        b"t": 9,
        b"r": 13,
        b'"': 34,
        b"\\": 92,
        b"a": 7,
        b"b": 8,
        b"f": 12,
        b"v": 11,
    }
    while i < len(body):
        ch = body[i : i + 1]
        if ch == b"\\" and i + 1 < len(body):
            nxt = body[i + 1 : i + 2]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            if nxt.isdigit() and i + 3 < len(body) + 1:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
        out += ch
        i += 1
    return out.decode("utf-8", "surrogateescape")


@dataclass
class _Section:
    """The file currently being parsed inside a diff."""

    path: str | None = None
    blob: str | None = None
    binary: bool = False
    added: list[bytes] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    in_hunk: bool = False
    next_line: int = 0


@dataclass(frozen=True)
class ChangedFile:
    """A file a change adds or modifies (for file-level checks)."""

    path: str
    commit: str | None
    binary: bool


class DiffParser:
    """Incremental parser of ``git diff``/``git log -p`` output with ``-U0``."""

    def __init__(self, *, dedupe_blobs: bool) -> None:
        self.commit: str | None = None
        self.units: list[Unit] = []
        self.files: list[ChangedFile] = []
        self._section: _Section | None = None
        self._seen_blobs: set[str] = set()
        self._dedupe = dedupe_blobs

    def _flush(self) -> None:
        sec = self._section
        self._section = None
        if sec is None or sec.path is None:
            return
        self.files.append(ChangedFile(sec.path, self.commit, sec.binary))
        if not sec.added:
            return
        if self._dedupe and sec.blob:
            if sec.blob in self._seen_blobs:
                return
            self._seen_blobs.add(sec.blob)
        self.units.append(
            Unit(
                path=sec.path,
                data=b"\n".join(sec.added),
                lines=LineMap(tuple(sec.starts), tuple(sec.numbers)),
                commit=self.commit,
            )
        )

    def feed(self, line: bytes) -> None:
        """Consume one line of diff output (without its newline)."""
        sec = self._section
        if sec is not None and sec.in_hunk:
            if line.startswith(b"+"):
                if sec.next_line != -1:
                    sec.starts.append(len(sec.added))
                    sec.numbers.append(sec.next_line)
                    sec.next_line = -1
                sec.added.append(line[1:])
                return
            if line.startswith((b"-", b"\\", b" ")):
                return
        if line.startswith(_COMMIT_MARK):
            self._flush()
            self.commit = line[len(_COMMIT_MARK) :].decode("ascii", "replace").strip()
            return
        if line.startswith(b"diff --git "):
            self._flush()
            self._section = _Section(path=_path_from_header(line))
            return
        if sec is None:
            return
        if line.startswith(b"@@"):
            match = _HUNK.match(line)
            sec.in_hunk = True
            sec.next_line = int(match.group(1)) if match else 1
        elif line.startswith(b"+++ "):
            target = line[4:].rstrip(b"\r")
            if target == b"/dev/null":
                sec.path = None  # deleted: nothing was added
            else:
                name = unquote_path(target)
                sec.path = name[2:] if name.startswith("b/") else name
        elif line.startswith(b"index "):
            parts = line.split()
            if len(parts) >= 2 and b".." in parts[1]:
                sec.blob = parts[1].split(b"..")[1].decode("ascii", "replace")
        elif line.startswith(b"deleted file mode"):
            sec.path = None
        elif line.startswith(b"Binary files ") or line.startswith(b"GIT binary patch"):
            sec.binary = True
            if line.rstrip().endswith(b"/dev/null differ"):
                sec.path = None

    def close(self) -> None:
        """Flush the last file."""
        self._flush()


def _path_from_header(line: bytes) -> str | None:
    """Best-effort destination path from ``diff --git a/X b/Y`` (``+++`` refines it)."""
    rest = line[len(b"diff --git ") :]
    if rest.startswith(b'"'):
        end = rest.find(b'" ', 1)
        dst = rest[end + 2 :] if end > 0 else b""
    else:
        idx = rest.find(b" b/")
        dst = rest[idx + 1 :] if idx >= 0 else b""
    if not dst:
        return None
    name = unquote_path(dst.rstrip(b"\r"))
    return name[2:] if name.startswith("b/") else name


def staged_changes(root: Path) -> DiffParser:
    """Added lines of the index against HEAD (or against nothing before the first commit)."""
    base = ["HEAD"] if has_head(root) else [EMPTY_TREE]
    out = run_git(["diff", "--cached", "-M", *_DIFF_OPTS, *base, "--"], root)
    parser = DiffParser(dedupe_blobs=False)
    for line in out.split(b"\n"):
        parser.feed(line)
    parser.close()
    return parser


def staged_blob(root: Path, path: str) -> bytes:
    """The staged content of ``path`` (what the commit will contain)."""
    return run_git(["cat-file", "blob", f":{path}"], root)


def history_changes(root: Path, revs: Sequence[str]) -> Iterator[DiffParser]:
    """Added lines of every commit in ``revs`` (``git log`` arguments), streamed.

    Yields the same parser after each chunk of commits so callers can drain
    ``units``/``files`` and keep memory flat on long histories.
    """
    if not has_head(root) and not any(r.startswith("--") for r in revs):
        return
    cmd = [
        "git",
        "-c",
        "core.quotepath=false",
        "log",
        "-p",
        *_DIFF_OPTS,
        "--format=%x00gitvault-commit %H",
        *revs,
        "--",
    ]
    try:
        proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    assert proc.stdout is not None and proc.stderr is not None
    parser = DiffParser(dedupe_blobs=True)
    for raw in proc.stdout:
        parser.feed(raw.rstrip(b"\n"))
        if len(parser.units) >= 256:
            yield parser
    parser.close()
    err = proc.stderr.read()
    code = proc.wait()
    if code != 0:
        text = err.decode("utf-8", "replace").strip().splitlines()
        # An empty repository has nothing to scan; that is not an error.
        if text and "does not have any commits" in text[0]:
            return
        raise GitError(f"git log failed: {text[0] if text else 'exit ' + str(code)}")
    yield parser
