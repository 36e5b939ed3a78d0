"""``access [NAME] [--history]``: who can read what, now and in the past.

*Now* comes from two sources that should agree, and the report shows both:
the recipients each vault file is actually encrypted to (its ``sops:`` block),
and the readers the policy's rule names for it. A difference is flagged per
file (``missing``: the policy names them, the file is not encrypted to them;
``extra``: the file is encrypted to someone the policy does not name), which
``gitvault rekey`` resolves.

*History* comes from the recipients recorded in every past version of every
vault file (:mod:`gitvault.team.exposure`): for each file and reader, the
oldest and newest commit whose version named them, and whether the current
version still does.

People are shown by policy name (the newest version of the policy naming a
key wins), else by their shortened public key. Nothing is decrypted; no
identity is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitvault import fsutil
from gitvault.errors import BadInput, GitvaultError
from gitvault.policy import POLICY_FILE, Policy, normalize_key
from gitvault.team import exposure as exp


@dataclass(frozen=True)
class FileAccess:
    """One vault file: its actual readers, the policy's, and where they differ."""

    file: str  # relative to the policy root
    rule: str | None  # the rule's path glob
    readers: tuple[str, ...]  # actual recipients, by name
    policy: tuple[str, ...]  # the readers the policy names
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    problem: str | None = None  # not a vault file, unreadable …

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.problem)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rule": self.rule,
            "readers": list(self.readers),
            "policy": list(self.policy),
            "missing": list(self.missing),
            "extra": list(self.extra),
            "problem": self.problem,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class PastAccess:
    """When one reader was a recipient of one file."""

    file: str  # relative to the repository root
    reader: str
    first: str  # commit id (or "work tree")
    first_time: int
    last: str
    last_time: int
    current: bool
    versions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "reader": self.reader,
            "first": self.first,
            "first_time": self.first_time,
            "last": self.last,
            "last_time": self.last_time,
            "current": self.current,
            "versions": self.versions,
        }


@dataclass(frozen=True)
class AccessReport:
    name: str | None
    files: tuple[FileAccess, ...]
    history: tuple[PastAccess, ...] | None = None

    @property
    def mismatches(self) -> int:
        return sum(1 for f in self.files if not f.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.access/v1",
            "name": self.name,
            "files": [f.to_json() for f in self.files],
            "mismatches": self.mismatches,
            "history": None if self.history is None else [h.to_json() for h in self.history],
        }


def _namer(pol: Policy, names: dict[str, str]) -> Any:
    from gitvault.crypto.envelope import short_recipient

    def name(key: str) -> str:
        return pol.name_of(key) or names.get(normalize_key(key)) or short_recipient(key)

    return name


def current_access(pol: Policy, names: dict[str, str] | None = None) -> list[FileAccess]:
    """Every covered file's actual and policy readers."""
    from gitvault.history.sources import parse_for_history
    from gitvault.verify import covered_files

    name = _namer(pol, names or {})
    out = []
    for rel in covered_files(pol):
        rule = pol.rule_for(rel)
        assert rule is not None
        names_keys = zip(pol.reader_names(rule), pol.reader_keys(rule), strict=True)
        want = {normalize_key(k): n for n, k in names_keys}
        # A link to /dev/zero or out of the repository refuses the whole command
        # (exit 5) rather than read it; a file that is not a vault file is a row.
        data = fsutil.read_input(pol.root / rel, root=pol.root)
        try:
            view = parse_for_history(data, rel)
        except (GitvaultError, OSError) as exc:
            msg = getattr(exc, "message", None) or "cannot be read"
            out.append(
                FileAccess(
                    rel, rule.path, (), tuple(want.values()), (), (), msg.removeprefix(rel + ": ")
                )
            )
            continue
        have = [normalize_key(r) for r in view.recipients]
        out.append(
            FileAccess(
                file=rel,
                rule=rule.path,
                readers=tuple(name(r) for r in have),
                policy=tuple(want.values()),
                missing=tuple(n for k, n in want.items() if k not in have),
                extra=tuple(name(r) for r in have if r not in want),
            )
        )
    return out


def access(start: Path, name: str | None = None, *, history: bool = False) -> AccessReport:
    """The access report for the vault at or above ``start`` (optionally for one person)."""
    from gitvault import policy as policy_mod

    root = policy_mod.find_root(start)
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    pol = policy_mod.load(root)
    names: dict[str, str] = {}
    past: list[PastAccess] | None = None
    person: set[str] = set()
    if name is not None and name in pol.recipients:
        person.add(normalize_key(pol.recipients[name].key))
    if history or (name is not None and not person):
        past_items, names, person_keys = _history(pol, name)
        person |= person_keys
        past = past_items if history else None
    if name is not None and not person:
        raise BadInput(f"no recipient named {name} in the policy or its history")
    files = current_access(pol, names)
    if name is not None:
        files = [f for f in files if name in f.readers or name in f.policy]
        if past is not None:
            past = [p for p in past if p.reader == name]
    return AccessReport(name, tuple(files), None if past is None else tuple(past))


def _history(pol: Policy, name: str | None) -> tuple[list[PastAccess], dict[str, str], set[str]]:
    from gitvault.git.repo import Repository
    from gitvault.history.schedule import policy_prefix
    from gitvault.policy import glob_to_regex
    from gitvault.verify import covered_files

    repo = Repository.discover(pol.root)
    if repo.state().is_shallow:
        from gitvault.errors import GitError

        raise GitError("shallow clone: history is incomplete", hint="run `git fetch --unshallow`")
    prefix = policy_prefix(pol, repo.root)
    policies = exp.policy_versions(repo, prefix + POLICY_FILE, pol.path)
    hist = exp.History(policies=policies)
    names = hist.names()
    globs = {g for pv in policies for g in pv.globs} | {r.path for r in pol.rules}
    regexes = [glob_to_regex(g) for g in globs]

    def wanted(path: str) -> bool:
        rest = path[len(prefix) :]
        return path.startswith(prefix) and any(r.fullmatch(rest) for r in regexes)

    worktree = [(prefix + rel, pol.root / rel) for rel in covered_files(pol)]
    versions = exp.file_versions(repo, wanted, exp.pathspecs(globs, prefix), worktree)
    namer = _namer(pol, names)
    out = [
        PastAccess(
            s.file,
            namer(s.recipient),
            s.first,
            s.first_time,
            s.last,
            s.last_time,
            s.current,
            s.versions,
        )
        for s in exp.spans(versions)
    ]
    return out, names, hist.keys_of(name) if name is not None else set()
