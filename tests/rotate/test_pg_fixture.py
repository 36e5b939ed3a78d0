"""The PostgreSQL fixture's policy: skip with a reason locally, fail under CI."""

from __future__ import annotations

import pytest

from tests.rotate import conftest


def test_missing_postgres_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required in CI"):
        conftest._unavailable("initdb not found")


def test_missing_postgres_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"ensure-postgres\.sh"):
        conftest._unavailable("initdb not found")
