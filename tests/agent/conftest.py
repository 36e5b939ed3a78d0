"""A bare origin, a writer's clone, and a ``gitvault agent`` following the origin.

The team comes from the trust tests (alice, bob, carol, dave, mallory; the
policy makes alice, bob and carol readers of ``secrets/**``). ``alice``
writes, commits and pushes with gitvault; the agent uses **carol's**
identity and renders into ``out/``. The agent runs as a real subprocess
(``python -m gitvault agent``), with this checkout first on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.team.conftest import gitvault_on_path  # noqa: F401 - fixture
from tests.trust.conftest import SECRET_TEXTS, Clone, Team, make_team

ROOT = Path(__file__).resolve().parents[2]
F = "secrets/app.yaml"


@dataclass
class World:
    base: Path
    team: Team
    alice: Clone
    config: Path
    out: Path
    checkout: Path
    status_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> Path:
        return self.team.people["carol"].key_file

    def write_config(self, outputs: list[dict[str, Any]], **top: Any) -> None:
        doc: dict[str, Any] = {
            "remote": str(self.team.origin),
            "branch": "main",
            "checkout": str(self.checkout),
            "interval": "1s",
            "identity": str(self.identity),
            "status": str(self.status_path),
            "outputs": outputs,
        }
        doc.update(top)
        # JSON is YAML: no YAML writer needed in the tests
        self.config.write_text(json.dumps(doc, indent=2))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
        )
        for name in ("GITVAULT_AGE_KEY", "GITVAULT_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"):
            env.pop(name, None)
        env["TMPDIR"] = str(self.base / "tmp")
        return env

    def agent(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``gitvault agent --config CONFIG ARGS`` as a real process."""
        return subprocess.run(
            [sys.executable, "-m", "gitvault", "agent", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.base,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The long-running agent (stderr: JSON lines) as a real process."""
        return subprocess.Popen(
            [sys.executable, "-m", "gitvault", "agent", "--config", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.base,
        )

    def status(self) -> dict[str, Any]:
        return json.loads(self.status_path.read_text())  # type: ignore[no-any-return]

    def push(self, changes: dict[str, str], message: str = "rotate", rel: str = F) -> str:
        """``gitvault set`` each key (same data key, as a team member rotates), commit, push."""
        self.alice.git("pull", "-q", "--ff-only", "origin", "main")
        for key, value in changes.items():
            self.alice.ok("set", rel, key, value)
        commit = self.alice.commit_all(message)
        self.alice.git("push", "-q", "origin", "HEAD:main")
        return commit


@pytest.fixture
def world(tmp_path: Path, gitvault_on_path: Path) -> Iterator[World]:  # noqa: F811
    team = make_team(tmp_path, emails=False)
    alice = team.clone("alice")
    base = tmp_path / "agent"
    base.mkdir()
    (tmp_path / "agent" / "tmp").mkdir()
    w = World(
        base=base,
        team=team,
        alice=alice,
        config=base / "agent.yaml",
        out=tmp_path / "out",
        checkout=base / "clone",
        status_path=base / "status.json",
    )
    yield w


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_no_values(text: str, values: list[str] | None = None) -> None:
    for v in values or SECRET_TEXTS:
        assert v not in text, "a secret value leaked"


def plaintext_files(root: Path, values: list[str], *, skip: set[Path] | None = None) -> list[Path]:
    """Files under ``root`` (outside .git objects) that contain one of ``values``."""
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath).name == "objects":
            dirnames[:] = []
            continue
        for name in filenames:
            path = Path(dirpath, name)
            if skip and path in skip:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(v.encode() in data for v in values):
                hits.append(path)
    return hits
