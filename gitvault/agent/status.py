"""What the agent remembers, what it reports, and its log: never a value.

* :class:`State` (``.git/gitvault-agent/state.json`` in the agent's clone):
  the applied commit — the base every later update must fast-forward — the
  last refused tip (not judged again until the branch moves), and per switch
  group the commit whose rendering failed its health check (not retried
  until a newer commit arrives).
* :class:`Status` (the configured ``status`` file, JSON, rewritten
  atomically each cycle): what monitoring reads (docs/agent.md).
* :class:`Log`: JSON lines on stderr or appended to a file.

Every text that reaches these comes from gitvault errors and reports, which
name files, keys, outputs and commits, never values.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gitvault.agent.outputs import write_json_durably
from gitvault.errors import BadInput

SCHEMA = "gitvault.agent.status/v1"


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


@dataclass
class State:
    path: Path
    applied: str | None = None
    refused: str | None = None
    refused_reason: str = ""
    failed: dict[str, str] = field(default_factory=dict)  # switch group -> commit
    # groups switched but not yet notified and proven (a crash in between): notify at start
    pending: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            # Not silently a first run: the applied commit is what makes a rollback of the
            # branch itself visible (a fast-forward check needs its base).
            raise BadInput(
                f"{path}: the agent's state is unreadable",
                hint="remove it to start over as a first run (judged over all history)",
            ) from None
        failed_raw = raw.get("failed")
        failed: dict[Any, Any] = failed_raw if isinstance(failed_raw, dict) else {}
        return cls(
            path,
            applied=_commit(raw.get("applied")),
            refused=_commit(raw.get("refused")),
            refused_reason=str(raw.get("refused_reason") or "")[:2000],
            failed={str(k): v for k, v in failed.items() if _commit(v)},
            pending=[str(g) for g in raw.get("pending") or [] if isinstance(g, str)][:256],
        )

    def save(self) -> None:
        write_json_durably(
            self.path,
            {
                "applied": self.applied,
                "refused": self.refused,
                "refused_reason": self.refused_reason,
                "failed": self.failed,
                "pending": self.pending,
            },
        )


def _commit(value: object) -> str | None:
    if (
        isinstance(value, str)
        and len(value) in (40, 64)
        and all(c in "0123456789abcdef" for c in value)
    ):
        return value
    return None


@dataclass
class OutputStatus:
    state: str = "pending"  # ok | error | pending
    rendered_commit: str | None = None
    changed_at: str | None = None
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "rendered_commit": self.rendered_commit,
            "changed_at": self.changed_at,
            "last_error": self.last_error,
        }


@dataclass
class Status:
    applied_commit: str | None = None
    applied_at: str | None = None
    checked_at: str | None = None
    state: str = "ok"
    last_error: str | None = None
    outputs: dict[str, OutputStatus] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None, names: list[str]) -> Status:
        status = cls(outputs={n: OutputStatus() for n in names})
        if path is None:
            return status
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return status
        if not isinstance(raw, dict):
            return status
        status.applied_commit = _commit(raw.get("applied_commit"))
        status.applied_at = _text(raw.get("applied_at"))
        for name, item in (raw.get("outputs") or {}).items():
            if name in status.outputs and isinstance(item, dict):
                status.outputs[name] = OutputStatus(
                    state=_text(item.get("state")) or "pending",
                    rendered_commit=_commit(item.get("rendered_commit")),
                    changed_at=_text(item.get("changed_at")),
                    last_error=_text(item.get("last_error")),
                )
        return status

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "applied_commit": self.applied_commit,
            "applied_at": self.applied_at,
            "checked_at": self.checked_at,
            "state": self.state,
            "last_error": self.last_error,
            "outputs": {n: o.to_json() for n, o in self.outputs.items()},
        }

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, mode=0o755)
        write_json_durably(path, self.to_json(), mode=0o644)


def _text(value: object) -> str | None:
    return value[:2000] if isinstance(value, str) else None


class Log:
    """JSON lines: ``{"ts", "level", "event", "msg", …fields}`` — names and commits only."""

    def __init__(self, path: Path | None = None, stream: IO[str] | None = None) -> None:
        self.path = path
        self.stream = stream if stream is not None else sys.stderr
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()  # the trigger thread logs too: whole lines only

    def event(self, level: str, event: str, msg: str = "", **fields: Any) -> None:
        record = {"ts": now_iso(), "level": level, "event": event, "msg": msg, **fields}
        line = json.dumps(record, ensure_ascii=True, sort_keys=False) + "\n"
        with self._lock:
            self._write(line)

    def _write(self, line: str) -> None:
        if self.path is not None:
            if self._fh is None:
                fd = os.open(
                    self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
                self._fh = os.fdopen(fd, "a", encoding="utf-8")
            self._fh.write(line)
            self._fh.flush()
        else:
            self.stream.write(line)
            self.stream.flush()

    def info(self, event: str, msg: str = "", **fields: Any) -> None:
        self.event("info", event, msg, **fields)

    def warn(self, event: str, msg: str = "", **fields: Any) -> None:
        self.event("warning", event, msg, **fields)

    def error(self, event: str, msg: str = "", **fields: Any) -> None:
        self.event("error", event, msg, **fields)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
