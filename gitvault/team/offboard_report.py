"""What ``offboard`` reports and the commit message it writes.

Split from :mod:`gitvault.team.offboard` so the orchestration stays short: the
report (:class:`OffboardReport`, one :class:`ExposedKey` per key the person
could read, with its status) and the commit message with its trailers.
Nothing here reads files or runs git, and no value ever reaches a report, a
trailer or a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitvault.rotate.engine import FAILED as FAILED
from gitvault.rotate.engine import ROLLBACK_FAILED as ROLLBACK_FAILED
from gitvault.rotate.engine import ROTATED as ROTATED

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.policy import Policy
    from gitvault.team import exposure as exp

NOT_ROTATED = "not-rotated"  # listed; run with --rotate
NEEDS_HUMAN = "needs-human"
GONE = "gone"  # no longer in the vault: rotate it wherever it is still used


@dataclass(frozen=True)
class ExposedKey:
    """A key the person could read; ``first``/``last`` are commit ids or ``work tree``."""

    file: str  # relative to the repository root
    key: str
    first: str
    last: str
    via: str  # "recipient" or "data key"
    status: str
    generator: str | None = None
    reason: str = ""
    verified: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "key": self.key,
            "first_readable": self.first,
            "last_readable": self.last,
            "via": self.via,
            "status": self.status,
            "generator": self.generator,
            "reason": self.reason,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class OffboardReport:
    name: str
    public_keys: tuple[str, ...]  # shortened
    policy_file: str  # relative to the repository root
    policy_changed: bool
    layout: str | None
    groups: tuple[str, ...]
    rules: tuple[str, ...]
    rekeyed: tuple[str, ...]  # relative to the repository root
    exposed: tuple[ExposedKey, ...]
    rotate: bool
    commit: CommitResult | None = None
    commit_error: str | None = None
    uncommitted: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # failed commands' output, values masked
    root: Path | None = None  # the repository's work tree (for commands relative to a cwd)

    @property
    def ok(self) -> bool:
        bad = (FAILED, ROLLBACK_FAILED)
        return self.commit_error is None and not any(e.status in bad for e in self.exposed)

    def count(self, status: str) -> int:
        return sum(1 for e in self.exposed if e.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.offboard/v1",
            "name": self.name,
            "public_keys": list(self.public_keys),
            "policy": {
                "file": self.policy_file,
                "changed": self.policy_changed,
                "layout": self.layout,
                "groups": list(self.groups),
                "rules": list(self.rules),
            },
            "rekeyed": list(self.rekeyed),
            "rotate": self.rotate,
            "keys": [e.to_json() for e in self.exposed],
            "commit": None
            if self.commit is None
            else {"id": self.commit.id, "branch": self.commit.branch, "signed": self.commit.signed},
            "commit_error": self.commit_error,
            "uncommitted": list(self.uncommitted),
            "ok": self.ok,
        }


def rotate_commands(report: OffboardReport, cwd: Path, limit: int = 10) -> list[str]:
    """A working ``gitvault rotate`` command line per key that still needs rotating.

    The new value comes from the environment (``$NEW_VALUE``) on stdin, never
    from an argument; paths are relative to ``cwd``. At most ``limit`` lines.
    """
    import os
    import shlex

    out = []
    for e in report.exposed:
        if e.status not in (NEEDS_HUMAN, NOT_ROTATED):
            continue
        path = Path(e.file) if report.root is None else Path(report.root, e.file)
        shown = os.path.relpath(path, cwd) if path.is_absolute() else str(path)
        out.append(
            f'printf %s "$NEW_VALUE" | gitvault rotate {shlex.quote(shown)} '
            f"{shlex.quote(e.key)} --stdin"
        )
    return out[:limit]


class Rotation(Protocol):
    """What the commit message needs of one rotation job (see :mod:`gitvault.team.offboard`)."""

    file: str
    key: str
    spec: str
    status: str
    verified: bool


def commit_message(
    name: str,
    new_pol: Policy,
    base: Mapping[str, Any],
    rekeyed: Mapping[str, Sequence[str]],
    jobs: Sequence[Rotation],
    listed: Sequence[tuple[exp.Exposure, str, str]],
    message: str | None,
    *,
    with_policy: bool,
) -> str:
    """The offboarding commit's message: a summary and trailers, no value.

    ``rekeyed`` maps each re-keyed file (repository path) to the public keys it
    is now encrypted to; ``with_policy`` says whether the policy file is part
    of the commit (changed by ``offboard`` or edited by hand before it).
    """
    from gitvault.commits import split_message
    from gitvault.git.trailers import VaultTrailers, build_vault_message
    from gitvault.team.reencrypt import display_name

    subject, body = split_message(message, f"gitvault: offboard {name}")
    rotated = [j for j in jobs if j.status == ROTATED]
    lines = []
    if base["policy_changed"]:
        where = ", ".join([*base["groups"], *base["rules"]]) or "recipients"
        lines.append(f"- removed {name} from the policy ({where})")
    elif with_policy:
        lines.append("- the policy as edited before offboarding")
    if rekeyed:
        lines.append(f"- re-keyed {len(rekeyed)} file(s) with a new data key")
    lines += [f"- rotated {j.file} {j.key} (generator {j.spec})" for j in rotated]
    lines += [
        f"- needs a human: {item.file} {item.key} ({reason or status})"
        for item, status, reason in listed
        if status in (NEEDS_HUMAN, NOT_ROTATED)
    ]
    lines += [f"- not rotated: {j.file} {j.key} ({j.status})" for j in jobs if j.status != ROTATED]
    body = "\n".join(filter(None, [body, "\n".join(lines)]))
    files = tuple(rekeyed)
    policy_files = (base["policy_file"],) if with_policy else ()
    # grouped in one pass: linear in jobs, whatever the number of files
    keys: dict[str, list[str]] = {}
    verified: dict[str, list[str]] = {}
    for j in rotated:
        keys.setdefault(j.file, []).append(j.key)
        if j.verified:
            verified.setdefault(j.file, []).append(j.key)
    trailers = VaultTrailers(
        action="offboard",
        files=policy_files + files,
        keys={f: tuple(keys[f]) for f in files if f in keys},
        generators={(j.file, j.key): j.spec for j in rotated},
        verified={f: tuple(verified[f]) for f in files if f in verified},
        rekeyed=files,
        recipients={f: tuple(display_name(new_pol, r) for r in rs) for f, rs in rekeyed.items()},
        offboarded=(name,),
    )
    return build_vault_message(subject, trailers, body)
