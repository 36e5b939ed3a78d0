"""``decrypt --format env|dotenv`` refuses the environment names ``export`` refuses.

Its output is sourced by shells and CI steps (``set -a; . ./vault.env``), so a
key a branch names ``PATH``, ``LD_PRELOAD`` or ``BASH_ENV`` would run code in
every later step exactly as it would through ``export``.
"""

from __future__ import annotations

import pytest

from tests.team.conftest import Team

APP = "secrets/prod/app.yaml"


@pytest.mark.parametrize("fmt", ["env", "dotenv"])
@pytest.mark.parametrize("key", ["path", "ld_preload", "bash_env", "node_options"])
def test_decrypt_env_refuses_a_dangerous_name(team: Team, fmt: str, key: str) -> None:
    team.write(APP, f"{key}: /tmp/evil\nok: fine\n")
    r = team.cli(["decrypt", APP, "--format", fmt])
    assert r.code == 5, r.output
    assert r.stdout == ""
    assert "/tmp/evil" not in r.output
    assert r.stderr.startswith(f"gitvault: error: {APP}:{key} would set {key.upper()}")


def test_allow_env_lets_a_named_variable_through(team: Team) -> None:
    team.write(APP, "path: /opt/tool/bin\nok: fine\n")
    r = team.cli(["decrypt", APP, "--format", "env", "--allow-env", "PATH"])
    assert r.code == 0, r.output
    assert "PATH=" in r.stdout and "OK=" in r.stdout


def test_the_policy_export_allow_env_applies_to_decrypt(team: Team) -> None:
    team.write(APP, "path: /opt/tool/bin\n")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text() + "export:\n  allow_env: [PATH]\n")
    r = team.cli(["decrypt", APP, "--format", "dotenv"])
    assert r.code == 0, r.output
    assert "PATH=" in r.stdout


def test_ordinary_names_and_other_formats_are_unchanged(team: Team) -> None:
    team.write(APP, "path: /opt/tool/bin\ndb:\n  password: pw\n")
    assert team.cli(["decrypt", APP, "--format", "json"]).code == 0
    assert team.cli(["decrypt", APP]).code == 0
    team.write("secrets/prod/ok.yaml", "db:\n  password: pw\n")
    r = team.cli(["decrypt", "secrets/prod/ok.yaml", "--format", "env"])
    assert r.code == 0, r.output
    assert "DB_PASSWORD=" in r.stdout
