"""Fixtures for the export tests: a vault of files on a (fake or real) API.

``vault`` writes plain trees as vault files and returns their paths;
``gv`` runs ``gitvault`` as a real subprocess (so exec, signals and file
descriptors are real). Both go through ``export_api``: today the JSON-backed
fake in ``fake_api.py``; when ``gitvault.api`` can encrypt, switch that one
fixture to write real SOPS files and set ``GITVAULT_AGE_KEY``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def export_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Install the JSON-backed fake API in-process; yield the module to run as the CLI."""
    from tests.export import fake_api

    monkeypatch.setitem(sys.modules, "gitvault.api", fake_api)
    import gitvault

    monkeypatch.setattr(gitvault, "api", fake_api, raising=False)
    yield "tests.export.fake_api"


@pytest.fixture
def vault(tmp_path: Path, export_api: str) -> Callable[[str, Any], Path]:
    """``vault(relpath, tree)`` writes one vault file under ``tmp_path`` and returns it."""

    def write(relpath: str, tree: Any) -> Path:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tree))
        return path

    (tmp_path / ".git").mkdir()  # marks the repository root for labels
    return write


@pytest.fixture
def gv(tmp_path: Path, export_api: str) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """Run ``gitvault ARGS…`` as a subprocess in ``tmp_path`` (stdout/stderr captured)."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(REPO_ROOT)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", export_api, *args],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            **kwargs,
        )

    return run
