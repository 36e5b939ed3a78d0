"""The repositories a migration covers: local clones and clone URLs, refs, values.

A local path is scanned where it is (read-only: ``git log``, ``cat-file``,
``for-each-ref``; never a checkout). A clone URL is cloned once, bare
(``--mirror``), into the cache directory and fetched again on later runs.
Values are re-read from their recorded place (a blob at a commit, or the
work-tree file) and accepted only when they match the plan's fingerprint.

This module runs git with the value never on a command line, and never
writes, logs or returns a value except to its caller in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from gitvault.errors import BadInput, GitError
from gitvault.migrate.plan import Fingerprinter, Location, Repo, cache_dir

# Transports git may use for a URL we are given; ext:: and fd:: run commands.
_SAFE_GIT = ("-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
MAX_BLOB_BYTES = 64 * 1024 * 1024


def git(args: Sequence[str], cwd: Path, *, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run git in ``cwd``; raise :class:`GitError` with git's first error line."""
    try:
        proc = subprocess.run(
            ["git", *_SAFE_GIT, "-c", "core.quotepath=false", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if check and proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {first[0] if first else proc.returncode}")
    return proc.stdout


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


def repo_id_for(source: str, taken: set[str]) -> str:
    """A short readable id: the last path part, made unique with a counter."""
    name = source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = name[:-4] if name.endswith(".git") else name
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-.") or "repo"
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def open_source(source: str, repo_id: str) -> Repo:
    """Resolve a path or clone URL to a local repository to scan (clone/fetch URLs)."""
    if source.startswith("-"):
        raise BadInput(f"{source[:60]}: not a repository path or URL")
    if is_url(source):
        target = cache_dir() / hashlib.sha256(source.encode()).hexdigest()[:16]
        if (target / "HEAD").exists():
            git(["remote", "update", "--prune"], target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            git(["clone", "--quiet", "--mirror", "--", source, str(target)], target.parent)
        return Repo(id=repo_id, source=source, path=str(target), kind="url", remote=source)
    path = Path(source).absolute()
    if not path.exists():
        raise BadInput(f"{source}: no such repository")
    top = git(["rev-parse", "--absolute-git-dir"], path, check=False).decode().strip()
    if not top:
        raise BadInput(f"{source}: not a git repository")
    bare = git(["rev-parse", "--is-bare-repository"], path).decode().strip() == "true"
    root = path if bare else Path(git(["rev-parse", "--show-toplevel"], path).decode().strip())
    remote = git(["config", "--get", "remote.origin.url"], root, check=False).decode().strip()
    return Repo(id=repo_id, source=source, path=str(root), kind="local", remote=remote or None)


def is_bare(repo: Repo) -> bool:
    return git(["rev-parse", "--is-bare-repository"], Path(repo.path)).decode().strip() == "true"


def all_refs(root: Path) -> list[tuple[str, str]]:
    """(refname, commit) of every ref that points at a commit (tags peeled)."""
    out = git(
        ["for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)"], root
    ).decode("utf-8", "surrogateescape")
    refs: list[tuple[str, str]] = []
    for line in out.splitlines():
        name, obj, peeled = [*line.split("\0"), "", ""][:3]
        refs.append((name, peeled or obj))
    return refs


def unusual_refs(refs: Iterable[tuple[str, str]]) -> list[str]:
    """Refs outside branches and tags: stash, notes, remotes, pull requests, replace …"""
    return sorted(name for name, _ in refs if not name.startswith(("refs/heads/", "refs/tags/")))


def commits_by_ref(root: Path, refs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """commit -> refs whose history holds it (at most 10 names kept per commit)."""
    holders: dict[str, list[str]] = {}
    for name, _ in refs:
        out = git(["rev-list", name, "--"], root, check=False).decode()
        for commit in out.split():
            names = holders.setdefault(commit, [])
            if len(names) < 10:
                names.append(name)
    return holders


def head_of(root: Path) -> str | None:
    out = git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], root, check=False)
    return out.decode().strip() or None


def _slice(data: bytes, loc: Location) -> bytes | None:
    """The ``loc.length`` bytes at ``loc.line``/``loc.column`` of ``data``."""
    pos = 0
    for _ in range(loc.line - 1):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    start = pos + loc.column - 1
    end = start + loc.length
    if loc.column < 1 or end > len(data):
        return None
    return data[start:end]


def read_at(repo: Repo, loc: Location) -> bytes | None:
    """The bytes at a location, or None when that place no longer holds them."""
    root = Path(repo.path)
    if loc.commit is None:
        path = (root / loc.path).absolute()
        try:
            if not path.resolve().is_relative_to(root.resolve()) or path.is_symlink():
                return None
            if path.stat().st_size > MAX_BLOB_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        return _slice(data, loc)
    if not re.fullmatch(r"[0-9a-f]{40}(?:[0-9a-f]{24})?", loc.commit):
        return None
    spec = f"{loc.commit}:{loc.path}".encode("utf-8", "surrogateescape")
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input=spec + b"\n",
        capture_output=True,
        check=False,
    )
    header, _, rest = proc.stdout.partition(b"\n")
    parts = header.split()
    if proc.returncode != 0 or len(parts) != 3 or parts[1] != b"blob":
        return None
    size = int(parts[2])
    if size > MAX_BLOB_BYTES:
        return None
    return _slice(rest[:size], loc)


def read_value(
    repos: dict[str, Repo], locations: Sequence[Location], fingerprint: str, fp: Fingerprinter
) -> bytes | None:
    """The secret from the first of its places that still holds it (checked by fingerprint)."""
    for loc in locations:
        repo = repos.get(loc.repo)
        if repo is None:
            continue
        found = read_at(repo, loc)
        if found is not None and fp.matches(found, fingerprint):
            return found
    return None


def ensure_private(path: Path) -> None:
    """Create ``path`` as a folder only we may read, if missing (an existing one is the
    user's choice: its mode is left alone)."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)
    elif not path.is_dir():
        raise BadInput(f"{path}: not a folder")
