"""Every read of a vault file is capped and stays inside the repository.

A branch can commit a vault path as a symlink to ``/dev/zero`` (an endless
read: the command hangs and eats memory) or to a file outside the repository
(another checkout, a key file). ``rekey``, ``access``, ``recipients list`` and
``due`` used plain ``read_bytes()``; they must refuse such a file in one line.
Each command runs in a subprocess with a timeout, so a hang fails the test
instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.team.conftest import Team

APP = "secrets/prod/app.yaml"
HANG_GUARD = 60  # seconds; the refusal takes well under one


def _run(team: Team, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(team.alice.env)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = f"{root}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args],
        cwd=team.root,
        env=env,
        text=True,
        capture_output=True,
        timeout=HANG_GUARD,
        check=False,
    )


def _link(team: Team, target: Path) -> None:
    team.write("secrets/prod/other.yaml", "db:\n  password: fine\n")
    (team.root / APP).symlink_to(target)
    team.commit("a branch commits a link in a vault path")


@pytest.fixture(params=["dev-zero", "outside"])
def hostile(request: pytest.FixtureRequest, team: Team, tmp_path: Path) -> Team:
    if request.param == "dev-zero":
        _link(team, Path("/dev/zero"))
    else:
        outside = tmp_path / "elsewhere.yaml"
        team.write("secrets/dev/copy.yaml", "db:\n  password: from-another-project\n")
        outside.write_bytes((team.root / "secrets/dev/copy.yaml").read_bytes())
        (team.root / "secrets/dev/copy.yaml").unlink()
        _link(team, outside)
    return team


def _one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 5, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("gitvault: error: ")]
    assert len(errors) == 1, r.stderr
    assert APP in errors[0]
    return errors[0]


def test_rekey_refuses_a_linked_vault_file(hostile: Team) -> None:
    before = os.readlink(hostile.root / APP)
    line = _one_line(_run(hostile, "rekey"))
    assert "not a regular file" in line or "outside the repository" in line
    assert os.readlink(hostile.root / APP) == before  # the link is untouched


def test_rekey_of_the_linked_file_by_name_refuses_it(hostile: Team) -> None:
    _one_line(_run(hostile, "rekey", APP))


def test_access_refuses_a_linked_vault_file(hostile: Team) -> None:
    _one_line(_run(hostile, "access"))


def test_recipients_add_and_list_do_not_read_a_linked_vault_file(hostile: Team) -> None:
    # `recipients add` counts the files not yet encrypted to the newcomer: it reads them all.
    # It skips a file it may not read (``verify`` names it) instead of hanging on it.
    r = _run(hostile, "recipients", "add", "dave", hostile.outsider.public)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    r = _run(hostile, "recipients", "list")
    assert r.returncode == 0, r.stderr  # the listing reads only the policy


def test_due_reports_a_linked_vault_file_without_reading_it(hostile: Team) -> None:
    policy = hostile.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            'db.password: {generate: "password:24"}',
            'db.password: {generate: "password:24", rotate_after: 90d}',
        )
    )
    r = _run(hostile, "due")
    assert "Traceback" not in r.stderr
    assert APP in r.stdout + r.stderr
    assert "not a regular file" in r.stdout or "outside the repository" in r.stdout, r.stdout
