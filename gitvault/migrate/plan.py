"""The migration plan: a reviewable, editable JSON file that holds no secret value.

``migrate find`` writes it, the user reads and edits it (destinations, ``skip``),
and every later step (``import``, ``code``, ``rewrite``, ``status``) reads it and
records where it stands, so each step can be re-run and resumed.

What the plan holds for each distinct secret: its fingerprint (a salted, slow
scrypt hash of the value, with a random salt per plan — equality only), its
length, the rule that found it, every place it was seen (repository, refs,
commit, path, line, byte column) and a proposed vault destination. The value
itself is never written: steps that need it read it again from one of its
places and check it against the fingerprint.

The file is written atomically with mode 0600 and refused inside a git work
tree, so it cannot be committed by accident.

This module must never write, log or return a secret value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitvault import fsutil
from gitvault.errors import BadInput

SCHEMA = "gitvault.migrate-plan/v1"
MAX_PLAN_BYTES = 64 * 1024 * 1024
# scrypt cost: ~20 ms per distinct value here; a guessable value (a dictionary
# password) stays guessable offline at that price, which docs/migration.md says.
_SCRYPT = {"n": 2**13, "r": 8, "p": 1, "dklen": 32}

Progress = Callable[[str], None]


def no_progress(_message: str) -> None:
    return None


def now_text() -> str:
    return datetime.now(tz=UTC).replace(microsecond=0).isoformat()


def default_plan_path() -> Path:
    """``$XDG_STATE_HOME/gitvault/migrate/plan.json`` (outside every repository)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gitvault" / "migrate" / "plan.json"


def cache_dir() -> Path:
    """Where clone URLs are cloned (bare) for scanning: ``$XDG_CACHE_HOME/gitvault/migrate``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitvault" / "migrate"


class Fingerprinter:
    """Salted scrypt of values, computed once per distinct value in this process."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self._memo: dict[bytes, str] = {}

    def __call__(self, value: bytes) -> str:
        found = self._memo.get(value)
        if found is None:
            found = hashlib.scrypt(value, salt=self.salt, **_SCRYPT).hex()
            self._memo[value] = found
        return found

    def matches(self, value: bytes, fingerprint: str) -> bool:
        return hmac.compare_digest(self(value), fingerprint)


@dataclass
class Location:
    """One place a secret was seen. ``commit`` is None for the work tree."""

    repo: str  # the plan's repository id
    commit: str | None
    path: str
    line: int
    column: int  # 1-based byte column of the value's first byte
    length: int  # bytes
    rule: str
    refs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "commit": self.commit,
            "refs": self.refs,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "length": self.length,
            "rule": self.rule,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Location:
        path = raw.get("path") if isinstance(raw, dict) else None
        if not isinstance(path, str) or not path or any(c in path for c in "\n\r\0"):
            raise BadInput("plan: malformed location path")
        try:
            return cls(
                repo=str(raw["repo"]),
                commit=None if raw.get("commit") is None else str(raw["commit"]),
                path=str(raw["path"]),
                line=int(raw["line"]),
                column=int(raw["column"]),
                length=int(raw["length"]),
                rule=str(raw["rule"]),
                refs=[str(r) for r in raw.get("refs") or []],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadInput("plan: malformed location entry") from None


@dataclass
class Secret:
    """One distinct value (by fingerprint) and everywhere it was seen."""

    id: str
    fingerprint: str
    rule: str
    length: int
    dest_file: str
    dest_key: str
    locations: list[Location] = field(default_factory=list)
    first_commit: str | None = None  # oldest commit seen holding it
    first_repo: str | None = None
    skip: bool = False
    imported: str | None = None  # "added", "present", "kept" (rotated since), or None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "length": self.length,
            "skip": self.skip,
            "destination": {"file": self.dest_file, "key": self.dest_key},
            "first_commit": {"repo": self.first_repo, "commit": self.first_commit},
            "imported": self.imported,
            "locations": [loc.to_json() for loc in self.locations],
        }

    @classmethod
    def from_json(cls, raw: Any) -> Secret:
        try:
            dest = raw["destination"]
            first = raw.get("first_commit") or {}
            return cls(
                id=str(raw["id"]),
                fingerprint=str(raw["fingerprint"]),
                rule=str(raw["rule"]),
                length=int(raw["length"]),
                dest_file=str(dest["file"]),
                dest_key=str(dest["key"]),
                locations=[Location.from_json(x) for x in raw.get("locations") or []],
                first_commit=first.get("commit"),
                first_repo=first.get("repo"),
                skip=bool(raw.get("skip", False)),
                imported=raw.get("imported"),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadInput("plan: malformed secret entry") from None


@dataclass
class Repo:
    """A repository the plan covers: where it came from and where it is scanned."""

    id: str
    source: str  # the path or URL the user gave
    path: str  # local path that was scanned (the user's clone, or our cache clone)
    kind: str  # "local" | "url"
    remote: str | None = None  # push URL for the rewritten history, if known
    head: str | None = None
    refs: int = 0
    commits: int = 0
    other_refs: list[str] = field(default_factory=list)  # stash, notes, remotes …

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "path": self.path,
            "kind": self.kind,
            "remote": self.remote,
            "head": self.head,
            "refs": self.refs,
            "commits": self.commits,
            "other_refs": self.other_refs,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Repo:
        try:
            return cls(
                id=str(raw["id"]),
                source=str(raw["source"]),
                path=str(raw["path"]),
                kind=str(raw["kind"]),
                remote=raw.get("remote"),
                head=raw.get("head"),
                refs=int(raw.get("refs", 0)),
                commits=int(raw.get("commits", 0)),
                other_refs=[str(r) for r in raw.get("other_refs") or []],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadInput("plan: malformed repository entry") from None


@dataclass
class Plan:
    """The whole plan; ``steps`` records what each step did (for ``status``/resume)."""

    salt: bytes
    repos: list[Repo] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=now_text)

    def fingerprinter(self) -> Fingerprinter:
        return Fingerprinter(self.salt)

    def repo(self, repo_id: str) -> Repo:
        for r in self.repos:
            if r.id == repo_id:
                return r
        raise BadInput(f"plan: unknown repository id {repo_id!r}")

    def active(self) -> list[Secret]:
        return [s for s in self.secrets if not s.skip]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "created": self.created,
            "salt": self.salt.hex(),
            "repos": [r.to_json() for r in self.repos],
            "secrets": [s.to_json() for s in self.secrets],
            "steps": self.steps,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Plan:
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            raise BadInput(f"plan: not a {SCHEMA} file")
        try:
            salt = bytes.fromhex(str(raw["salt"]))
        except (KeyError, ValueError):
            raise BadInput("plan: missing or malformed salt") from None
        if len(salt) < 16:
            raise BadInput("plan: salt too short")
        repos = [Repo.from_json(r) for r in raw.get("repos") or []]
        secrets = [Secret.from_json(s) for s in raw.get("secrets") or []]
        steps = raw.get("steps") or {}
        if not isinstance(steps, dict):
            raise BadInput("plan: steps must be a mapping")
        plan = cls(salt=salt, repos=repos, secrets=secrets, steps=steps)
        plan.created = str(raw.get("created") or plan.created)
        _check_unique(plan)
        return plan


def _check_unique(plan: Plan) -> None:
    ids = {r.id for r in plan.repos}
    if len(ids) != len(plan.repos):
        raise BadInput("plan: duplicate repository ids")
    seen: dict[tuple[str, str], str] = {}
    for s in plan.active():
        if s.dest_file.startswith("/") or ".." in s.dest_file.split("/") or not s.dest_file:
            raise BadInput(f"plan: {s.id}: destination file must be relative to the vault root")
        if not s.dest_key:
            raise BadInput(f"plan: {s.id}: destination key is empty")
        for loc in s.locations:
            if loc.repo not in ids:
                raise BadInput(f"plan: {s.id}: location names unknown repository {loc.repo!r}")
        where = (s.dest_file, s.dest_key)
        if where in seen:
            raise BadInput(
                f"plan: {s.id} and {seen[where]} both go to {s.dest_file}:{s.dest_key}",
                hint='give one of them another key, or set "skip": true',
            )
        seen[where] = s.id


def inside_work_tree(path: Path) -> Path | None:
    """The git work tree containing ``path``'s folder, if any."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    top = proc.stdout.decode("utf-8", "surrogateescape").strip()
    return Path(top) if top else None


def check_location(path: Path) -> None:
    """Refuse a plan path inside a git work tree (it could be committed)."""
    top = inside_work_tree(path)
    if top is not None:
        raise BadInput(
            f"{path}: the plan must live outside every git work tree (this is inside {top})",
            hint="omit --plan to use ~/.local/state/gitvault/migrate/plan.json, or name a "
            "path outside the repositories",
        )


def load(path: Path) -> Plan:
    """Read and validate a plan."""
    if not path.exists():
        raise BadInput(f"{path}: no such plan", hint="run `gitvault migrate find REPO…` first")
    raw = fsutil.read_input(path, limit=MAX_PLAN_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput(f"{path}: not valid JSON") from None
    return Plan.from_json(data)


def save(plan: Plan, path: Path) -> None:
    """Write the plan atomically with mode 0600 (folders 0700), outside any work tree."""
    check_location(path)
    folder = path.absolute().parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    text = json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"
    fsutil.atomic_write(path, text.encode("utf-8"), mode=0o600)


def new_plan() -> Plan:
    return Plan(salt=os.urandom(16))
