"""What a rotation works with: jobs, value sources, per-key results and the report.

Shared by the planner (:mod:`gitvault.rotate.plan`), the executor
(:mod:`gitvault.rotate.engine`), recovery (:mod:`gitvault.rotate.recover`) and
``offboard``. No field of any class here ever holds a value in the clear except
:class:`Secret`, which has no repr and no str.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput
from gitvault.rotate.commands import DEFAULT_TIMEOUT
from gitvault.rotate.generators import Generator, parse_generator

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.history.due import DueItem

ROTATED = "rotated"
FAILED = "failed"  # apply failed, or verify failed and was rolled back: the old value holds
ROLLBACK_FAILED = "rollback-failed"  # the external system may hold the new value
NOT_RUN = "not-run"  # an earlier failure stopped the run before this key
STDIN = "stdin"


class Secret:
    """A value that must never be shown: no repr, no str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class ValueSource:
    """Where new values come from: a generator spec, or one value read from stdin."""

    spec: str  # canonical generator spec, or "stdin"
    generator: Generator | None = None
    value: Secret | None = None

    @classmethod
    def from_spec(cls, spec: str) -> ValueSource:
        generator = parse_generator(spec)
        return cls(generator.spec, generator)

    @classmethod
    def from_stdin(cls, value: str) -> ValueSource:
        if value == "":
            raise BadInput("the new value read from stdin is empty")
        if "\x00" in value:
            raise BadInput("the new value read from stdin contains a NUL byte")
        return cls(STDIN, None, Secret(value))

    def new_value(self) -> str:
        if self.value is not None:
            return self.value.reveal()
        assert self.generator is not None
        return self.generator.generate()


@dataclass(frozen=True)
class Job:
    """One key to rotate."""

    file: str  # relative to the repository root
    key: str  # display key path (``db.password``)
    source: ValueSource
    apply: str | None = None
    verify: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class KeyResult:
    """What happened to one key; ``message`` and ``details`` never hold a value."""

    file: str
    key: str
    spec: str
    status: str  # rotated | failed | rollback-failed | not-run
    applied: bool = False
    verified: bool = False
    has_verify: bool = False
    message: str = ""
    details: str = ""  # failed commands' output, values masked as ***


@dataclass(frozen=True)
class NeedsHuman:
    """An overdue key ``rotate --due`` could not rotate by itself."""

    file: str
    key: str
    reason: str
    item: DueItem | None = None


@dataclass(frozen=True)
class RotationReport:
    results: tuple[KeyResult, ...] = ()
    commit: CommitResult | None = None
    branch: str | None = None  # the new branch the commit went to
    uncommitted: tuple[str, ...] = ()  # "file:key" written to disk but not committed
    needs_human: tuple[NeedsHuman, ...] = ()
    commit_error: str | None = None  # the commit failed after values were applied
    commit_output: tuple[str, ...] = ()  # what git commit and its hooks said, values masked
    journal: str | None = None  # the journal left for `gitvault recover`, when one is

    @property
    def rotated(self) -> tuple[KeyResult, ...]:
        return tuple(r for r in self.results if r.status == ROTATED)

    @property
    def failed(self) -> tuple[KeyResult, ...]:
        return tuple(r for r in self.results if r.status != ROTATED)

    @property
    def ok(self) -> bool:
        return not self.failed and self.commit_error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.rotate/v1",
            "results": [
                {
                    "file": r.file,
                    "key": r.key,
                    "generator": r.spec,
                    "status": r.status,
                    "applied": r.applied,
                    "verified": r.verified,
                    "verify_command": r.has_verify,
                    "message": r.message,
                }
                for r in self.results
            ],
            "commit": None
            if self.commit is None
            else {
                "id": self.commit.id,
                "branch": self.commit.branch,
                "signed": self.commit.signed,
                "files": list(self.commit.paths),
            },
            "branch": self.branch,
            "uncommitted": list(self.uncommitted),
            "commit_error": self.commit_error,
            "commit_output": list(self.commit_output),
            "journal": self.journal,
            "needs_human": [
                {
                    "file": n.file,
                    "key": n.key,
                    "reason": n.reason,
                    "status": n.item.status if n.item else None,
                }
                for n in self.needs_human
            ],
        }


def parse_timeout(text: str | float | None) -> float | None:
    """``--timeout``/policy ``timeout``: seconds (``90``) or a duration (``2m``, ``30s``)."""
    if text is None:
        return None
    if isinstance(text, int | float):
        value = float(text)
    else:
        spec = text.strip()
        try:
            value = float(spec)
        except ValueError:
            from gitvault.policy import parse_duration

            value = float(parse_duration(spec))
    if not 0 < value <= 86400:
        raise BadInput(f"invalid timeout {str(text)[:20]!r}: must be more than 0 and at most 1d")
    return value


@dataclass(frozen=True)
class Overrides:
    """Command-line settings that override the policy for every key of a run."""

    source: ValueSource | None = None
    apply: str | None = None
    verify: str | None = None
    timeout: float | None = None
