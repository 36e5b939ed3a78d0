"""Fixtures for running the ``ci/`` definitions: a workspace, shims on PATH, a vault.

``gitvault`` on PATH is a recording shim. Commands listed by the
``real_commands`` fixture run the real CLI (today on the JSON-backed fake API
of tests/export, so export/exec are real); the others print a canned answer
and exit with a chosen code. When the lead's ``verify``, ``review`` and ``due``
exist, add them to ``real_commands`` (and switch ``export_api`` to the real
API) — that one fixture is the whole change.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ci.simulate import REPO_ROOT, GithubRun, shell_env

AGE_KEY = "AGE-SECRET-KEY-1EXAMPLEONLYEXAMPLEONLYEXAMPLEONLYEXAMPLEONLYEXAMPLEONLYQQQ"

SHIM = """#!{python}
# Recording shim for `{name}` (tests/ci/conftest.py).
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["SHIM_CALLS"], "a") as log:
    log.write(json.dumps({{"tool": "{name}", "args": args, "cwd": os.getcwd()}}) + "\\n")
{body}
"""

GITVAULT_BODY = """
real = os.environ.get("GV_REAL_COMMANDS", "").split()
if args and args[0] in real:
    os.execv(sys.executable, [sys.executable, "-m", os.environ["GV_MODULE"], *args])
if args[:1] == ["--version"]:
    print("gitvault, version 0.1.0")
    sys.exit(0)
canned = json.loads(os.environ.get("GV_CANNED", "{}")).get(args[0] if args else "", ["", 0])
sys.stdout.write(canned[0])
sys.exit(canned[1])
"""

PYTHON3_BODY = """
if args[:2] == ["-m", "pip"]:
    sys.exit(0)  # recorded above; the test machine already has everything
os.execv(sys.executable, [sys.executable, *args])
"""


@pytest.fixture
def real_commands() -> list[str]:
    """gitvault commands that run for real in CI tests (the rest are canned)."""
    return ["export", "exec"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    (path / ".git").mkdir()
    return path


@pytest.fixture
def shims(tmp_path: Path) -> Path:
    """A bin dir with gitvault, python3, gh, curl, kubectl and apt-get shims."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bodies = {
        "gitvault": GITVAULT_BODY,
        "python3": PYTHON3_BODY,
        "gh": "",
        "curl": "",
        "kubectl": "",
        "apt-get": "",
    }
    for name, body in bodies.items():
        path = bin_dir / name
        path.write_text(SHIM.format(python=sys.executable, name=name, body=body))
        path.chmod(0o755)
    return bin_dir


@pytest.fixture
def ci_env(shims: Path, tmp_path: Path, real_commands: list[str]) -> dict[str, str]:
    env = shell_env(shims)
    env.update(
        {
            "SHIM_CALLS": str(tmp_path / "calls.jsonl"),
            "GV_REAL_COMMANDS": " ".join(real_commands),
            "GV_MODULE": "tests.export.fake_api",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


@pytest.fixture
def calls(tmp_path: Path) -> Callable[[str], list[list[str]]]:
    """``calls("gitvault")`` -> the argument lists each shim call received."""

    def read(tool: str) -> list[list[str]]:
        path = tmp_path / "calls.jsonl"
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines()]
        return [r["args"] for r in records if r["tool"] == tool]

    return read


@pytest.fixture
def vault_dir(workspace: Path) -> Callable[[str, Any], Path]:
    """Write a (fake-API) vault file into the workspace."""

    def write(relpath: str, tree: Any) -> Path:
        path = workspace / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tree))
        return path

    return write


@pytest.fixture
def github(workspace: Path, ci_env: dict[str, str]) -> GithubRun:
    run = GithubRun(workspace, dict(ci_env))
    run.env.update({"GITHUB_RUN_ID": "4242", "GITHUB_REPOSITORY": "acme/vault"})
    run.secrets["GITVAULT_AGE_KEY"] = AGE_KEY
    return run


def canned(env: dict[str, str], **answers: tuple[str, int]) -> None:
    """Set what canned gitvault commands print and return."""
    env["GV_CANNED"] = json.dumps(answers)
