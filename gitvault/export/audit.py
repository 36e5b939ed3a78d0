"""Read audit: one JSON line per vault file a deploy decrypted, never a value.

``--audit-log FILE`` (or ``GITVAULT_AUDIT_LOG``) makes ``export``/``exec``
append, for every file they read, a line like::

    {"event": "read", "time": "2025-01-01T12:00:00Z", "file": "secrets/prod/db.yaml",
     "keys": ["db.password", "db.user"], "commit": "3f2c…", "recipient": "ci-production",
     "command": "export", "ci": {"provider": "github", "run_id": "123", …}}

The record holds key paths, never values or anything derived from them (no
hashes either: a hash of a short secret is a way to guess it).

Each line is written with a single ``write`` on a descriptor opened with
``O_APPEND`` (mode 0600 when created), so concurrent jobs appending to the same
file interleave whole lines, never bytes. A failed or short write raises: an
audit that silently loses records is worse than a failed deploy.

This module must never print, and never receives values: callers hand it key
paths only.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gitvault.errors import BadInput

AUDIT_LOG_ENV = "GITVAULT_AUDIT_LOG"

# provider -> (variable that says we are on it, {field: variable}); first match wins.
_CI_PROVIDERS: tuple[tuple[str, str, Mapping[str, str]], ...] = (
    (
        "github",
        "GITHUB_RUN_ID",
        {
            "run_id": "GITHUB_RUN_ID",
            "run_attempt": "GITHUB_RUN_ATTEMPT",
            "repository": "GITHUB_REPOSITORY",
            "workflow": "GITHUB_WORKFLOW",
            "job": "GITHUB_JOB",
            "actor": "GITHUB_ACTOR",
            "ref": "GITHUB_REF",
        },
    ),
    (
        "gitlab",
        "CI_PIPELINE_ID",
        {
            "run_id": "CI_PIPELINE_ID",
            "job_id": "CI_JOB_ID",
            "project": "CI_PROJECT_PATH",
            "job": "CI_JOB_NAME",
            "actor": "GITLAB_USER_LOGIN",
            "ref": "CI_COMMIT_REF_NAME",
        },
    ),
    (
        "buildkite",
        "BUILDKITE_BUILD_ID",
        {"run_id": "BUILDKITE_BUILD_ID", "job_id": "BUILDKITE_JOB_ID"},
    ),
    ("circleci", "CIRCLE_WORKFLOW_ID", {"run_id": "CIRCLE_WORKFLOW_ID", "job": "CIRCLE_JOB"}),
    ("azure", "BUILD_BUILDID", {"run_id": "BUILD_BUILDID", "project": "SYSTEM_TEAMPROJECT"}),
    ("jenkins", "BUILD_TAG", {"run_id": "BUILD_TAG", "url": "BUILD_URL"}),
)


@dataclass(frozen=True)
class ReadEvent:
    """One file read: what, from which commit, by whom. No values."""

    file: str
    keys: Sequence[str]
    commit: str | None = None
    recipient: str | None = None


def ci_context(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The CI provider and run identifiers found in ``environ``, or None outside CI."""
    for provider, marker, fields in _CI_PROVIDERS:
        if environ.get(marker):
            context = {"provider": provider}
            context.update({k: environ[v] for k, v in fields.items() if environ.get(v)})
            return context
    return None


def audit_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path | None:
    """``--audit-log`` if given, else ``$GITVAULT_AUDIT_LOG``, else None (no audit)."""
    chosen = explicit if explicit else environ.get(AUDIT_LOG_ENV)
    return Path(chosen) if chosen else None


def format_event(
    event: ReadEvent, *, command: str, now: datetime, environ: Mapping[str, str]
) -> str:
    """The JSON line (with its newline) for ``event``; ``now`` must be timezone-aware."""
    record: dict[str, object] = {
        "event": "read",
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "file": event.file,
        "keys": list(event.keys),
        "commit": event.commit,
        "recipient": event.recipient,
        "command": command,
        "ci": ci_context(environ),
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"


def append_lines(path: Path, lines: Sequence[str]) -> None:
    """Append each line with one ``write`` on an ``O_APPEND`` descriptor."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise BadInput(f"cannot open audit log {path}: {exc.strerror}") from None
    try:
        for line in lines:
            data = line.encode("utf-8")
            written = os.write(fd, data)
            if written != len(data):
                raise BadInput(f"short write to audit log {path}")
        if stat.S_ISREG(os.fstat(fd).st_mode):
            # A pipe or /dev/stderr cannot be synced; a regular file must be.
            os.fsync(fd)
    except OSError as exc:
        raise BadInput(f"cannot write audit log {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def record_reads(
    path: Path,
    events: Sequence[ReadEvent],
    *,
    command: str,
    environ: Mapping[str, str],
    now: datetime | None = None,
) -> None:
    """Append one line per event to the audit log at ``path``."""
    stamp = now or datetime.now(UTC)
    append_lines(
        path, [format_event(e, command=command, now=stamp, environ=environ) for e in events]
    )
