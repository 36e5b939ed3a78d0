"""Help texts, usage errors and real subprocesses for the team commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_subprocess
from tests.team.conftest import Team

APP = "secrets/dev/app.yaml"


@pytest.mark.parametrize(
    "cmd",
    [
        ["recipients"],
        ["recipients", "list"],
        ["recipients", "add"],
        ["recipients", "remove"],
        ["rekey"],
        ["offboard"],
        ["access"],
        ["textconv"],
        ["merge-driver"],
    ],
)
def test_help_has_examples(cmd: list[str]) -> None:
    r = run_cli([*cmd, "--help"])
    assert r.code == 0 and "Example" in r.stdout, cmd


def test_driver_commands_are_hidden_from_the_root_help() -> None:
    text = run_cli(["--help"]).stdout
    assert "offboard" in text and "rekey" in text and "access" in text
    assert "merge-driver" not in text and "textconv" not in text


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    for args in (["offboard", "bob"], ["access"], ["rekey"], ["recipients", "list"]):
        proc = run_subprocess(args, cwd=tmp_path)
        assert proc.returncode == 5, args
        assert proc.stderr.decode().startswith("gitvault: error: no .gitvault.yaml")
        assert b"Traceback" not in proc.stderr


def test_offboard_rotation_with_a_failing_verify_is_rolled_back(team: Team, tmp_path: Path) -> None:
    log = tmp_path / "applied.log"
    apply = tmp_path / "apply.sh"
    apply.write_text(f'#!/bin/sh\necho "$GITVAULT_PHASE" >> {log}\n')
    apply.chmod(apply.stat().st_mode | stat.S_IXUSR)
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            'api.token: {generate: "token:dev_:20"}',
            f'api.token: {{generate: "token:dev_:20", apply: "{apply}", verify: "false"}}',
        )
    )
    team.write(APP, "api:\n    token: dev-token-1\n")
    team.commit("seed")
    r = team.cli(["offboard", "bob", "--rotate", "--commit", "--json"])
    assert r.code == 7, r.output
    report = json.loads(r.stdout)
    assert [(k["key"], k["status"]) for k in report["keys"]] == [("api.token", "failed")]
    assert log.read_text() == "apply\nrollback\n"
    # the old value stays, bob is out, and the re-key is committed all the same
    assert team.values(APP) == {"api": {"token": "dev-token-1"}}
    assert team.cli(["decrypt", APP], team.bob).code == 3
    assert team.git("status", "--porcelain").stdout == ""
    assert "dev-token-1" not in r.output
