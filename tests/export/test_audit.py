"""The read audit log: one JSON line per file, append-only, never a value."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitvault.errors import BadInput
from gitvault.export.audit import ReadEvent, audit_path, ci_context, record_reads

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_lines_have_the_documented_fields(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "o/r"}
    events = [
        ReadEvent("secrets/a.yaml", ["db.password", "db.user"], "abc123", "ci-production"),
        ReadEvent("secrets/b.yaml", ["token"], "abc123", None),
    ]
    record_reads(log, events, command="export", environ=env, now=NOW)
    record_reads(log, events[:1], command="exec", environ={}, now=NOW)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3
    assert lines[0] == {
        "event": "read",
        "time": "2025-03-04T05:06:07Z",
        "file": "secrets/a.yaml",
        "keys": ["db.password", "db.user"],
        "commit": "abc123",
        "recipient": "ci-production",
        "command": "export",
        "ci": {"provider": "github", "run_id": "42", "run_attempt": "2", "repository": "o/r"},
    }
    assert lines[2]["ci"] is None and lines[2]["command"] == "exec"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_ci_providers() -> None:
    assert ci_context({"CI_PIPELINE_ID": "7", "CI_JOB_ID": "9"}) == {
        "provider": "gitlab",
        "run_id": "7",
        "job_id": "9",
    }
    assert ci_context({"BUILDKITE_BUILD_ID": "b"}) == {"provider": "buildkite", "run_id": "b"}
    assert ci_context({"PATH": "/bin"}) is None


def test_audit_path_flag_then_environment(tmp_path: Path) -> None:
    assert audit_path(None, {}) is None
    assert audit_path(None, {"GITVAULT_AUDIT_LOG": "/x"}) == Path("/x")
    assert audit_path(str(tmp_path / "y"), {"GITVAULT_AUDIT_LOG": "/x"}) == tmp_path / "y"


def test_unwritable_log_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="audit log"):
        record_reads(tmp_path / "missing" / "log", [ReadEvent("a", [])], command="x", environ={})
