"""Scanner test fixtures: one Hyperscan database cache for the whole session.

The root conftest gives every test a fresh HOME; without this the rule
database would be recompiled in every test (and in every hook subprocess).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gitvault-cache")


@pytest.fixture(autouse=True)
def scan_cache(_scan_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GITVAULT_CACHE_DIR", str(_scan_cache))
    yield _scan_cache
