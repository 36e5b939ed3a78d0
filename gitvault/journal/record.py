"""The write journal of operations with external effects (``rotate``, ``offboard --rotate``).

An ``apply`` command changes a system outside the repository (a database
password, an API token). From the moment it runs, the new value may exist in
that system and nowhere else but our vault file, so a crash (SIGKILL, OOM,
power loss) must never lose it, and the next run must know what happened.
Before any apply runs, the operation records here what it is about to do, and
it updates the record (fsynced, atomically) at every step:

- one file per operation under ``<git dir>/gitvault/journal/`` (never the work
  tree, so ``git add -A`` cannot pick it up, and per work tree);
- a **header** line of JSON with no value in it: the operation, the process
  that runs it, the stage, and each key's phase. Any gitvault command can read
  it cheaply to say "an interrupted rotate of … is pending" without a key;
- a **payload**, age-encrypted (pyrage, as the vault files' data keys) to the
  recipients of the files it names: the old and the new bytes of each file
  (themselves SOPS-encrypted), the commands, and the exact bytes to commit once
  the outcome is known. Recovery (:mod:`gitvault.rotate.recover`) reads it
  with the user's identity; it is the source of truth after a crash.

A key's phase says what the external system may hold: ``planned`` (nothing
ran: the old value), ``applying`` (a command was running: either value),
``rotated`` (the new value), ``failed`` (the old value: apply failed or the
rollback succeeded), ``rollback-failed`` (probably the new value), ``not-run``.

This module never sees a plaintext value: it stores encrypted bytes, names and
phases.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput, GitvaultError
from gitvault.fsutil import fsync_dir
from gitvault.tempfiles import process_alive

SCHEMA = "gitvault.journal/v1"
SUBDIR = ("gitvault", "journal")
SUFFIX = ".journal"
_HEADER_LIMIT = 1 << 20  # a header line longer than this is not ours
_PAYLOAD_LIMIT = 64 << 20

# key phases
PLANNED = "planned"
APPLYING = "applying"
ROTATED = "rotated"
FAILED = "failed"
ROLLBACK_FAILED = "rollback-failed"
NOT_RUN = "not-run"
# phases after which the external system may hold the new value
MAY_HOLD_NEW = frozenset({APPLYING, ROTATED, ROLLBACK_FAILED})

# operation stages
PREPARED = "prepared"  # recorded; the files may still hold the old bytes
WRITTEN = "written"  # every file holds its new values; commands may be running
COMMITTING = "committing"  # outcome known; payload has the bytes to commit and keep
KEPT = "kept"  # committed what rotated; values whose rollback failed wait on disk
UNCOMMITTED = "uncommitted"  # outcome known, the commit failed or was not asked for


class JournalError(GitvaultError):
    """A journal file that cannot be read or decrypted."""


@dataclass
class KeyPhase:
    file: str
    key: str
    phase: str = PLANNED


@dataclass
class Journal:
    """One operation's journal file; every change is written through at once."""

    path: Path
    op: str
    id: str
    pid: int
    pid_start: str
    started: float
    head: str | None
    stage: str
    keys: list[KeyPhase]
    files: list[str]
    armored: bytes = field(repr=False, default=b"")
    child: int = 0  # process group of the apply/verify command running now, 0: none
    # What this process sealed (kept in memory only, to re-seal at a later stage).
    payload_cache: dict[str, Any] = field(repr=False, default_factory=dict)
    recipients: list[str] = field(repr=False, default_factory=list)

    # --- writing -------------------------------------------------------------

    @classmethod
    def begin(
        cls,
        git_dir: Path,
        op: str,
        *,
        head: str | None,
        files: Sequence[str],
        keys: Iterable[tuple[str, str]],
        payload: Mapping[str, Any],
        recipients: Sequence[str],
    ) -> Journal:
        """Record an operation before it has any effect; returns the open journal."""
        directory = journal_dir(git_dir)
        directory.mkdir(parents=True, exist_ok=True)
        ident = f"{int(time.time())}-{os.getpid()}-{os.urandom(3).hex()}"
        journal = cls(
            path=directory / f"{op}-{ident}{SUFFIX}",
            op=op,
            id=ident,
            pid=os.getpid(),
            pid_start=_start_time(os.getpid()),
            started=time.time(),
            head=head,
            stage=PREPARED,
            keys=[KeyPhase(f, k) for f, k in keys],
            files=list(files),
        )
        journal.armored = _seal(payload, recipients)
        journal.payload_cache = dict(payload)
        journal.recipients = list(recipients)
        journal._flush()
        return journal

    def set_child(self, pid: int) -> None:
        """Record the command now running (its own process group): it may outlive us."""
        self.child = pid
        self._flush()

    def set_phase(self, file: str, key: str, phase: str) -> None:
        self.child = 0
        for entry in self.keys:
            if entry.file == file and entry.key == key:
                entry.phase = phase
        self._flush()

    def set_stage(
        self,
        stage: str,
        *,
        payload: Mapping[str, Any] | None = None,
        recipients: Sequence[str] = (),
    ) -> None:
        """Move to ``stage``; a new payload replaces the old one (re-encrypted)."""
        self.stage = stage
        if payload is not None:
            self.armored = _seal(payload, recipients or self.recipients)
            self.payload_cache = dict(payload)
        self._flush()

    def release(self) -> None:
        """This process is done with it; the journal now waits for ``gitvault recover``."""
        self.pid, self.pid_start, self.child = 0, "", 0
        self._flush()

    def close(self) -> None:
        """The operation is complete: nothing is left to recover."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        fsync_dir(self.path.parent)

    def _flush(self) -> None:
        header = {
            "schema": SCHEMA,
            "op": self.op,
            "id": self.id,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "started": self.started,
            "head": self.head,
            "stage": self.stage,
            "child": self.child,
            "files": self.files,
            "keys": [[k.file, k.key, k.phase] for k in self.keys],
        }
        line = json.dumps(header, separators=(",", ":")).encode()
        _write(self.path, line + b"\n" + self.armored)

    # --- reading -------------------------------------------------------------

    @classmethod
    def read(cls, path: Path) -> Journal:
        """The header of a journal file (the payload stays encrypted)."""
        try:
            data = path.read_bytes()[: _HEADER_LIMIT + _PAYLOAD_LIMIT]
        except OSError as exc:
            raise JournalError(f"cannot read the journal {path.name}: {exc.strerror}") from None
        line, _, armored = data.partition(b"\n")
        try:
            head = json.loads(line[:_HEADER_LIMIT])
            if head.get("schema") != SCHEMA:
                raise ValueError("schema")
            return cls(
                path=path,
                op=str(head["op"]),
                id=str(head["id"]),
                pid=int(head["pid"]),
                pid_start=str(head["pid_start"]),
                started=float(head["started"]),
                head=head["head"] if isinstance(head["head"], str) else None,
                stage=str(head["stage"]),
                keys=[KeyPhase(str(f), str(k), str(p)) for f, k, p in head["keys"]],
                files=[str(f) for f in head["files"]],
                armored=armored,
                child=int(head.get("child") or 0),
            )
        except (ValueError, KeyError, TypeError):
            raise JournalError(
                f"the journal {path.name} is damaged (not a gitvault journal)"
            ) from None

    def payload(self, identities: Sequence[Any]) -> dict[str, Any]:
        """The decrypted payload; raises :class:`JournalError` when no identity opens it."""
        from gitvault.crypto.envelope import MalformedStanza, decrypt_with

        try:
            data = decrypt_with(self.armored, list(identities))
            value = json.loads(data)
        except (MalformedStanza, ValueError) as exc:
            raise JournalError(
                f"cannot open the journal {self.path.name}: {str(exc)[:120]}",
                hint="use an identity that can decrypt the files it names (--identity)",
            ) from None
        if not isinstance(value, dict):
            raise JournalError(f"the journal {self.path.name} is damaged")
        return value

    @property
    def alive(self) -> bool:
        """True while the process that wrote it, or the command it ran, is still running.

        An apply command runs in its own process group and survives a SIGKILL
        of gitvault; until it ends, the value the system will hold is unknown.
        """
        if self.pid > 0 and _start_time(self.pid) == self.pid_start and process_alive(self.pid):
            return True
        return self.child > 0 and _group_alive(self.child)

    def keys_in(self, *phases: str) -> list[KeyPhase]:
        return [k for k in self.keys if k.phase in phases]

    def describe(self) -> str:
        """One line, no values: ``rotate of secrets/a.yaml (db.password: applying)``."""
        shown = ", ".join(f"{k.file}:{k.key} {k.phase}" for k in self.keys[:4])
        more = len(self.keys) - 4
        if more > 0:
            shown += f" and {more} more"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        return f"{self.op} started {when} (stage {self.stage}; {shown or 'no keys'})"


# --------------------------------------------------------------------- helpers


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise JournalError("the journal is damaged (bad file bytes)") from None


def journal_dir(git_dir: Path) -> Path:
    return git_dir.joinpath(*SUBDIR)


def _seal(payload: Mapping[str, Any], recipients: Sequence[str]) -> bytes:
    from gitvault.crypto.envelope import seal

    if not recipients:
        raise BadInput("cannot record the journal: the files name no recipient")
    return seal(json.dumps(payload, separators=(",", ":")).encode(), recipients)


def _start_time(pid: int) -> str:
    """The process start time (Linux ``/proc``), so a reused pid is not taken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name may hold spaces and parentheses: split after the last ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _write(path: Path, data: bytes) -> None:
    """Atomic, fsynced, 0600; the temp name carries our pid so a dead one's is swept."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
