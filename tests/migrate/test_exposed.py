"""Exposed values stay overdue until the value itself changes; nothing else clears them.

The exposure is a ``Gitvault-Exposed`` trailer on the import commit, read from
history by ``due``, ``review`` and ``rotate --due``. A re-key, a commit that
only *claims* a rotation in its message, a change to another file, or a revert
of the rotation must not clear it; a rotation (``rotate``, ``rotate --due``)
must.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitvault.migrate import plan as plan_mod
from tests.helpers import run_cli
from tests.migrate.conftest import Env, git


def _exposed(vault: Path) -> dict[tuple[str, str], str | None]:
    r = run_cli(["due", "--json"], cwd=vault)
    assert r.code == 0, r.output
    return {(i["file"], i["key"]): i["exposed"] for i in json.loads(r.stdout)["items"]}


@pytest.fixture
def imported(migration: Env) -> tuple[Env, plan_mod.Plan]:
    env = migration
    env.repos[:] = env.repos[:1]
    r = run_cli(["migrate", "find", env.repos[0].source, "--plan", str(env.plan)])
    assert r.code == 0, r.output
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 0, r.output
    plan = plan_mod.load(env.plan)
    assert all(_exposed(env.vault).values())
    return env, plan


def test_rekey_does_not_clear(imported: tuple[Env, plan_mod.Plan]) -> None:
    env, plan = imported
    target = plan.secrets[0].dest_file
    r = run_cli(["rekey", target, "--commit"], cwd=env.vault)
    assert r.code == 0, r.output
    assert len(git(env.vault, "log", "--format=%H").split()) == 3
    state = _exposed(env.vault)
    assert state and all(state.values())


def test_a_message_claiming_a_rotation_does_not_clear(imported: tuple[Env, plan_mod.Plan]) -> None:
    """A key-less writer's commit that only says it rotated (trailers, no value change)."""
    env, plan = imported
    s = plan.secrets[0]
    (env.vault / "README.md").write_text("unrelated change\n")
    git(env.vault, "add", "README.md")
    git(
        env.vault,
        "commit",
        "-qm",
        f"rotate everything\n\nGitvault-Action: rotate\nGitvault-File: {s.dest_file}\n"
        f"Gitvault-Keys: {s.dest_file}: {s.dest_key}",
    )
    git(env.vault, "commit", "-q", "--allow-empty", "-m", "nothing\n\nGitvault-Action: rotate")
    assert all(_exposed(env.vault).values())


def test_rotate_clears_and_a_revert_brings_it_back(imported: tuple[Env, plan_mod.Plan]) -> None:
    env, plan = imported
    s = plan.secrets[0]
    r = run_cli(["rotate", s.dest_file, s.dest_key, "--generate", "hex:32"], cwd=env.vault)
    assert r.code == 0, r.output
    state = _exposed(env.vault)
    assert state[(s.dest_file, s.dest_key)] is None
    assert sum(1 for v in state.values() if v) == len(plan.secrets) - 1
    # Reverting the rotation puts the leaked value back: exposed again.
    git(env.vault, "revert", "--no-edit", "HEAD")
    assert _exposed(env.vault)[(s.dest_file, s.dest_key)] is not None


def test_rotate_due_rotates_exposed_keys_without_a_period(
    imported: tuple[Env, plan_mod.Plan],
) -> None:
    """Exposed keys are overdue even where the policy sets no period; --due rotates them."""
    env, plan = imported
    policy = env.vault / ".gitvault.yaml"
    keys = "".join(f"      {s.dest_key}: {{generate: 'password:24'}}\n" for s in plan.secrets)
    text = policy.read_text().replace("    rotate_after: 365d\n", "    keys:\n" + keys)
    policy.write_text(text)
    git(env.vault, "commit", "-qam", "generators, no period")
    state = _exposed(env.vault)
    assert len(state) == len(plan.secrets) and all(state.values())
    r = run_cli(["rotate", "--due"], cwd=env.vault)
    assert r.code == 0, r.output
    r = run_cli(["due", "--json"], cwd=env.vault)
    assert json.loads(r.stdout)["items"] == []  # no period, nothing exposed: nothing listed


def test_review_lists_exposed_keys_as_overdue(imported: tuple[Env, plan_mod.Plan]) -> None:
    env, plan = imported
    r = run_cli(["review", "HEAD~1..HEAD", "--format", "json"], cwd=env.vault)
    assert r.code in (0, 1), r.output
    review = json.loads(r.stdout)
    ages = {(a["file"], a["key"]): a for a in review["ages"]}
    for s in plan.secrets:
        age = ages[(s.dest_file, s.dest_key)]
        assert age["status"] == "overdue" and age["exposed"]
    kinds = [f["kind"] for f in review["findings"]]
    assert kinds.count("overdue") == len(plan.secrets)
    r = run_cli(["review", "HEAD~1..HEAD"], cwd=env.vault)
    assert "exposed, not rotated" in r.stdout


def test_trailer_removal_needs_a_history_rewrite(imported: tuple[Env, plan_mod.Plan]) -> None:
    """The exposure lives in a commit: only rewriting history (which freshness and a
    pushed remote expose) could drop it — no new commit can."""
    env, _plan = imported
    exposing = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--grep=^Gitvault-Exposed:"],
        cwd=env.vault,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (env.vault / "notes.txt").write_text("Gitvault-Exposed: none\n")
    git(env.vault, "add", "notes.txt")
    git(env.vault, "commit", "-qm", "clear\n\nGitvault-Exposed: secrets/other.yaml: x")
    state = _exposed(env.vault)
    assert set(state.values()) == {exposing}


def test_removing_an_exposed_key_is_not_rotating_it(imported: tuple[Env, plan_mod.Plan]) -> None:
    """A writer who deletes the leaked key (instead of rotating) does not make it disappear."""
    env, plan = imported
    s = plan.secrets[0]
    r = run_cli(["unset", s.dest_file, s.dest_key, "--commit"], cwd=env.vault)
    assert r.code == 0, r.output
    r = run_cli(["due", "--json"], cwd=env.vault)
    item = next(
        i
        for i in json.loads(r.stdout)["items"]
        if (i["file"], i["key"]) == (s.dest_file, s.dest_key)
    )
    assert item["status"] == "overdue" and item["exposed"] and item["last_change"] is None
    assert "removed since: rotate at its source" in run_cli(["due"], cwd=env.vault).stdout
    r = run_cli(["rotate", "--due", "--json"], cwd=env.vault)
    assert s.dest_key in r.output and "removed from the vault while exposed" in r.output
    r = run_cli(["review", "HEAD~1..HEAD", "--format", "json"], cwd=env.vault)
    messages = [f["message"] for f in json.loads(r.stdout)["findings"]]
    assert f"{s.dest_file}:{s.dest_key} was exposed (leaked) and is removed without a rotation" in (
        messages
    )
