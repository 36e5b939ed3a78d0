"""``migrate code``: the lines to change now, and an opt-in fix for config files.

Every place a planned value sits in a repository's *work tree* is a line to
change (history is ``rewrite``'s job). For ``.env`` files, YAML and JSON the
literal can be replaced, one file at a time and only when asked (``--apply
FILE``), by ``${NAME}``: NAME is the environment variable ``gitvault exec`` /
``gitvault export`` give the value (the vault key's export name). Source code
is listed, never rewritten.

Before replacing, the bytes at each place are checked against the plan's
fingerprint; a place that no longer holds the value is left alone (already
changed), so applying twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gitvault.errors import BadInput
from gitvault.migrate import repos as repos_mod
from gitvault.migrate.plan import Location, Plan, Secret, now_text

_CONFIG_SUFFIXES = {".env": "dotenv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def config_kind(path: str) -> str | None:
    """``dotenv``, ``yaml`` or ``json`` for config files we may edit; None for the rest."""
    name = PurePosixPath(path).name
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return "dotenv"
    return _CONFIG_SUFFIXES.get(PurePosixPath(path).suffix.lower())


def env_reference(s: Secret) -> str:
    """The environment variable holding the value under ``gitvault exec``."""
    from gitvault import keypath
    from gitvault.export.model import env_name

    return env_name(tuple(keypath.parse(s.dest_key)))


@dataclass(frozen=True)
class CodeLine:
    repo: str
    path: str
    line: int
    column: int
    rule: str
    secret: str
    kind: str  # dotenv | yaml | json | code
    reference: str

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "secret": self.secret,
            "kind": self.kind,
            "replace_with": "${" + self.reference + "}" if self.kind != "code" else None,
            "env": self.reference,
        }


def lines_to_change(plan: Plan) -> list[CodeLine]:
    """Every work-tree place of every active secret that still holds it."""
    repos = {r.id: r for r in plan.repos}
    fp = plan.fingerprinter()
    out: list[CodeLine] = []
    for s in plan.active():
        ref = env_reference(s)
        for loc in s.locations:
            if loc.commit is not None or loc.repo not in repos:
                continue
            held = repos_mod.read_at(repos[loc.repo], loc)
            if held is None or not fp.matches(held, s.fingerprint):
                continue
            kind = config_kind(loc.path) or "code"
            out.append(
                CodeLine(loc.repo, loc.path, loc.line, loc.column, loc.rule, s.id, kind, ref)
            )
    out.sort(key=lambda c: (c.repo, c.path, c.line, c.column))
    return out


def apply(plan: Plan, repo_id: str, path: str) -> int:
    """Replace every planned literal in one config file by ``${NAME}``; return how many."""
    kind = config_kind(path)
    if kind is None:
        raise BadInput(
            f"{path}: not a .env, YAML or JSON file: change source code by hand",
            hint="`gitvault migrate code` lists the lines",
        )
    repo = plan.repo(repo_id)
    root = Path(repo.path)
    target = (root / path).absolute()
    if target.is_symlink() or not target.resolve().is_relative_to(root.resolve()):
        raise BadInput(f"{path}: not a regular file inside {repo.source}")
    if not target.is_file() or target.stat().st_size > MAX_CONFIG_BYTES:
        raise BadInput(f"{path}: missing, not a regular file, or too large")
    fp = plan.fingerprinter()
    places: list[tuple[Location, Secret]] = [
        (loc, s)
        for s in plan.active()
        for loc in s.locations
        if loc.commit is None and loc.repo == repo_id and loc.path == path
    ]
    data = bytearray(target.read_bytes())
    changed = 0
    # From the end of the file, so earlier offsets stay valid.
    for loc, s in sorted(places, key=lambda p: (p[0].line, p[0].column), reverse=True):
        start = _offset(bytes(data), loc)
        if start is None:
            continue
        held = bytes(data[start : start + loc.length])
        if not fp.matches(held, s.fingerprint):
            continue  # already changed
        data[start : start + loc.length] = ("${" + env_reference(s) + "}").encode()
        changed += 1
    if changed:
        from gitvault import fsutil

        mode = target.stat().st_mode & 0o777
        fsutil.atomic_write(target, bytes(data), mode=mode)
        applied = plan.steps.setdefault("code", {}).setdefault("applied", [])
        applied.append({"repo": repo_id, "path": path, "replaced": changed, "at": now_text()})
    return changed


def _offset(data: bytes, loc: Location) -> int | None:
    pos = 0
    for _ in range(loc.line - 1):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    start = pos + loc.column - 1
    return start if start + loc.length <= len(data) else None
