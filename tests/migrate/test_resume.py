"""Every step can be interrupted and run again: killed processes, half-made mirrors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitvault.migrate import plan as plan_mod
from tests.helpers import run_cli
from tests.migrate.conftest import Env, git


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so the kill reaches git and its hooks too
    )


def _wait_for(predicate, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"process ended before the kill point: {err.decode()[-2000:]}")
        time.sleep(0.05)
    pytest.fail("the kill point never came")


def _plan_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _find(env: Env) -> None:
    r = run_cli(["migrate", "find", *[g.source for g in env.repos], "--plan", str(env.plan)])
    assert r.code == 0, r.output


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_import_killed_during_the_commit_resumes(migration: Env, sig: int) -> None:
    env = migration
    env.repos[:] = env.repos[:2]
    _find(env)
    hook = env.vault / ".git" / "hooks" / "pre-commit"
    marker = env.vault.parent / "hook-started"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 60\n")
    hook.chmod(0o755)
    proc = _start(
        ["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)], env.vault
    )
    _wait_for(marker.exists, proc)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    hook.unlink()
    # Nothing was committed; the plan knows which keys were on their way in.
    assert git(env.vault, "log", "--format=%s").strip().splitlines() == ["policy"]
    assert _plan_json(env.plan)["steps"]["import"]["pending"]
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 0, r.output
    message = git(env.vault, "log", "-1", "--format=%B")
    plan = plan_mod.load(env.plan)
    exposed_line = next(x for x in message.splitlines() if x.startswith("Gitvault-Exposed:"))
    for s in plan.secrets:
        assert s.dest_key in exposed_line
    r = run_cli(["due", "--json"], cwd=env.vault)
    items = json.loads(r.stdout)["items"]
    assert len(items) == len(plan.secrets) and all(i["exposed"] for i in items)
    assert git(env.vault, "status", "--porcelain").strip() == ""
    assert plan.steps["import"]["pending"] == {}


def test_rewrite_killed_after_one_repository_resumes(migration: Env) -> None:
    env = migration
    env.repos[:] = env.repos[:3]
    _find(env)
    proc = _start(
        ["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir)],
        env.plan.parent,
    )

    def first_done() -> bool:
        steps = _plan_json(env.plan).get("steps", {}).get("rewrite", {})
        return steps.get("svc00", {}).get("status") == "verified"

    _wait_for(first_done, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    r = run_cli(
        ["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir), "--json"]
    )
    assert r.code == 0, r.output
    result = {x["repo"]: x["status"] for x in json.loads(r.stdout)["repos"]}
    assert result["svc00"] == "skipped"
    assert result["svc02"] == "verified"
    assert json.loads(r.stdout)["clean"] is True


def test_half_made_mirror_is_redone(migration: Env) -> None:
    """A mirror left mid-filter (state "filtering", junk inside) is cloned afresh."""
    env = migration
    env.repos[:] = env.repos[:1]
    _find(env)
    plan = plan_mod.load(env.plan)
    mirror = env.workdir / "svc00.git"
    mirror.mkdir(parents=True)
    (mirror / "junk").write_text("half a filter-repo run")
    plan.steps["rewrite"] = {"svc00": {"status": "filtering", "mirror": str(mirror)}}
    plan_mod.save(plan, env.plan)
    r = run_cli(["migrate", "status", "--plan", str(env.plan), "--json"])
    assert json.loads(r.stdout)["steps"]["rewrite"]["state"] == "interrupted"
    r = run_cli(["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir)])
    assert r.code == 0, r.output
    assert not (mirror / "junk").exists()
    assert _plan_json(env.plan)["steps"]["rewrite"]["svc00"]["status"] == "verified"


def test_find_again_keeps_edits(migration: Env) -> None:
    """Re-running find keeps the user's destinations and skips, and the same salt."""
    env = migration
    env.repos[:] = env.repos[:2]
    _find(env)
    raw = json.loads(env.plan.read_text())
    raw["secrets"][0]["destination"] = {"file": "secrets/edited.yaml", "key": "renamed"}
    raw["secrets"][1]["skip"] = True
    env.plan.write_text(json.dumps(raw))
    r = run_cli(["migrate", "find", "--plan", str(env.plan)])
    assert r.code == 0, r.output
    again = json.loads(env.plan.read_text())
    assert again["salt"] == raw["salt"]
    by_fp = {s["fingerprint"]: s for s in again["secrets"]}
    first = by_fp[raw["secrets"][0]["fingerprint"]]
    assert first["destination"] == {"file": "secrets/edited.yaml", "key": "renamed"}
    assert by_fp[raw["secrets"][1]["fingerprint"]]["skip"] is True
    assert len(again["secrets"]) == len(raw["secrets"])
