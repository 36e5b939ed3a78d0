"""Fixtures for running the ``ci/`` definitions: a real vault workspace, shims on PATH.

``gitvault`` on PATH is a recording shim in front of the real CLI: every call
is logged, then run for real (``python -m gitvault``) — unless the test gave
that command a canned answer with :func:`canned`, or it is not a gitvault
command yet. Commands the ci/ files call that the CLI lacks go in ``MISSING``
(today none: ``verify``, ``export``, ``exec``, ``review`` and ``due`` all
exist); their steps then run against canned answers only, and the line that
lists them is the one to change when they land. Canned answers also let a
test drive the shell around a command (exit-code handling, comments).

The workspace is a real vault (policy, age keys, files encrypted with
gitvault's own format code); the action gets the real ``ci-production``
identity, as a deploy job would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ci.simulate import REPO_ROOT, GithubRun, shell_env
from tests.conftest import git
from tests.export.realvault import AgeKey, make_keys, readers, write_policy, write_vault

# gitvault commands the ci/ files call that the CLI does not have yet: canned only.
MISSING: tuple[str, ...] = ()

SHIM = """#!{python}
# Recording shim for `{name}` (tests/ci/conftest.py).
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["SHIM_CALLS"], "a") as log:
    log.write(json.dumps({{"tool": "{name}", "args": args, "cwd": os.getcwd()}}) + "\\n")
{body}
"""

GITVAULT_BODY = """
command = args[0] if args else ""
canned = json.loads(os.environ.get("GV_CANNED", "{}"))
if command in canned:
    sys.stdout.write(canned[command][0])
    sys.exit(canned[command][1])
if command in os.environ.get("GV_MISSING", "").split():
    sys.stderr.write(f"gitvault shim: `{command}` does not exist yet; give it a canned answer\\n")
    sys.exit(99)
os.execv(sys.executable, [sys.executable, "-m", "gitvault", *args])
"""

PYTHON3_BODY = """
if args[:2] == ["-m", "pip"]:
    sys.exit(0)  # recorded above; the test machine already has everything
os.execv(sys.executable, [sys.executable, *args])
"""


@pytest.fixture(scope="session")
def keys() -> dict[str, AgeKey]:
    return make_keys()


@pytest.fixture
def identity(keys: dict[str, AgeKey]) -> str:
    """The production CI identity, as the deploy job's secret holds it."""
    return keys["ci-production"].secret


@pytest.fixture
def workspace(tmp_path: Path, keys: dict[str, AgeKey]) -> Path:
    """A checked-out vault repository: the policy and a first commit."""
    path = tmp_path / "workspace"
    path.mkdir()
    write_policy(path, keys)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "policy")
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
def ci_env(shims: Path, tmp_path: Path) -> dict[str, str]:
    env = shell_env(shims)
    env.update(
        {
            "SHIM_CALLS": str(tmp_path / "calls.jsonl"),
            "GV_MISSING": " ".join(MISSING),
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
def vault_dir(workspace: Path, keys: dict[str, AgeKey]) -> Callable[[str, Any], Path]:
    """Encrypt a plain tree into the workspace, to the readers the policy names."""

    def write(relpath: str, tree: Any) -> Path:
        return write_vault(workspace / relpath, tree, readers(relpath, keys))

    return write


@pytest.fixture
def github(workspace: Path, ci_env: dict[str, str], identity: str) -> GithubRun:
    run = GithubRun(workspace, dict(ci_env))
    run.env.update({"GITHUB_RUN_ID": "4242", "GITHUB_REPOSITORY": "acme/vault"})
    run.secrets["GITVAULT_AGE_KEY"] = identity
    return run


def canned(env: dict[str, str], **answers: tuple[str, int]) -> None:
    """Set what canned gitvault commands print and return."""
    env["GV_CANNED"] = json.dumps(answers)


def commit_vault_with_rotation_period(workspace: Path, age_days: int) -> None:
    """Give production a 90-day rotation period; commit everything ``age_days`` ago."""
    policy = workspace / ".gitvault.yaml"
    rule = "    recipients: [ops, ci-production]\n"
    policy.write_text(policy.read_text().replace(rule, rule + "    rotate_after: 90d\n"))
    when = f"{int(time.time()) - age_days * 86400} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    for args in (["add", "-A"], ["commit", "-q", "-m", "production secrets"]):
        subprocess.run(["git", *args], cwd=workspace, env=env, check=True)


def open_pull_request(
    workspace: Path, keys: dict[str, AgeKey], *, plaintext: bool
) -> tuple[str, str]:
    """On a branch: alice rotates db.password (and, if asked, commits a plaintext file).

    Returns the base and head commit ids, as a pull-request event carries them.
    """
    base = git(workspace, "rev-parse", "HEAD").stdout.strip()
    git(workspace, "checkout", "-q", "-b", "pr")
    env = {**os.environ, "GITVAULT_AGE_KEY": keys["alice"].secret, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(
        [sys.executable, "-m", "gitvault", "set", "secrets/production/db.yaml", "db.password",
         "--stdin", "--commit"],
        cwd=workspace, env=env, input=b"rotated-value-2", check=True, capture_output=True,
    )  # fmt: skip
    if plaintext:
        (workspace / "secrets/production/oops.yaml").write_text("token: plain-value-3\n")
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "oops")
    return base, git(workspace, "rev-parse", "HEAD").stdout.strip()
