"""The command surface: help with examples, progress on stderr, JSON on stdout."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli, run_subprocess
from tests.migrate.conftest import Env


@pytest.mark.parametrize("sub", ["find", "import", "code", "rewrite", "status"])
def test_help_has_an_example(sub: str) -> None:
    r = run_cli(["migrate", sub, "--help"])
    assert r.code == 0 and "Example:" in r.stdout
    assert "--json" in r.stdout and "--plan" in r.stdout


def test_group_help_lists_the_path() -> None:
    r = run_cli(["migrate", "--help"])
    assert r.code == 0
    for word in ("find", "import", "rotate", "code", "rewrite", "status"):
        assert word in r.stdout


def test_find_progress_goes_to_stderr_and_the_report_to_stdout(migration: Env) -> None:
    env = migration
    env.repos[:] = env.repos[9:12]  # one local clone, two clone URLs
    proc = run_subprocess(
        ["migrate", "find", *[g.source for g in env.repos], "--plan", str(env.plan), "--json"],
        cwd=env.plan.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode()
    for g in env.repos:
        assert f"gitvault: {g.name}: " in err and f"{g.name}: done" in err
    report = json.loads(proc.stdout)
    assert [r["id"] for r in report["repos"]] == ["svc09", "svc10", "svc11"]
    assert report["secrets"] == len(env.distinct)
    assert report["findings"] >= report["secrets"]
    # Again: the URL caches are fetched, not cloned anew, and the plan is the same.
    before = json.loads(env.plan.read_text())
    proc = run_subprocess(["migrate", "find", "--plan", str(env.plan)], cwd=env.plan.parent)
    assert proc.returncode == 0, proc.stderr
    after = json.loads(env.plan.read_text())
    assert [s["fingerprint"] for s in after["secrets"]] == [
        s["fingerprint"] for s in before["secrets"]
    ]
    assert [r["path"] for r in after["repos"]] == [r["path"] for r in before["repos"]]


def test_status_before_anything(migration: Env) -> None:
    env = migration
    r = run_cli(["migrate", "status", "--plan", str(env.plan)])
    assert r.code == 5 and "migrate find" in r.stderr


def test_usage_errors(migration: Env) -> None:
    env = migration
    r = run_cli(["migrate", "find", "--plan", str(env.plan)])
    assert r.code == 2
    env.repos[:] = env.repos[:1]
    assert run_cli(["migrate", "find", env.repos[0].source, "--plan", str(env.plan)]).code == 0
    r = run_cli(["migrate", "code", "--plan", str(env.plan), "--apply", "no-colon"])
    assert r.code == 2
