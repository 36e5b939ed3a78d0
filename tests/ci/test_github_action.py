"""The composite action and the example workflows, run step by step in a simulated runner.

verify, export, exec, review and due are the real gitvault on a real vault (a
git repository with real age identities). A few tests give review or due a
canned answer instead, to drive the shell around them (exit-code handling,
the PR comment, the job summary) through cases a real vault makes awkward.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.conftest import canned, commit_vault_with_rotation_period, open_pull_request
from tests.ci.simulate import ACTION, GITLAB, WORKFLOWS, GithubRun, load, parse_github_env
from tests.conftest import git
from tests.export.realvault import AgeKey, tamper

SECRET = "pa$$ 'w\"rd\nline2"
Calls = Callable[[str], list[list[str]]]


@pytest.fixture
def prod(vault_dir: Callable[[str, Any], Path]) -> None:
    vault_dir("secrets/production/db.yaml", {"db": {"password": SECRET, "user": "app"}})
    vault_dir("secrets/production/api.yaml", {"api": {"token": "tok-123"}})


def all_run_blocks() -> list[tuple[str, str]]:
    blocks = [(f"action:{s.get('name')}", s["run"]) for s in load(ACTION)["runs"]["steps"]]
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path)["jobs"].values():
            blocks += [
                (f"{path.name}:{s.get('name')}", s["run"]) for s in job["steps"] if "run" in s
            ]
    return blocks


def test_no_expression_is_expanded_inside_a_script() -> None:
    """Inputs reach scripts only through env: no `${{ }}` injection into bash."""
    for where, run in all_run_blocks():
        assert "${{" not in run, where


def test_export_mode_fills_github_env_after_masks(
    github: GithubRun, prod: None, calls: Calls, identity: str
) -> None:
    inputs = {"identity": identity, "paths": "secrets/production", "audit-log": "audit.jsonl"}
    assert github.run_action(inputs) == 0, [s.stderr for s in github.steps]
    assert calls("python3") == [
        ["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "gitvault"]
    ]
    gitvault_calls = calls("gitvault")
    assert gitvault_calls[0] == ["--version"]
    assert gitvault_calls[1] == ["verify", "secrets/production"]
    assert gitvault_calls[2][:4] == ["export", "secrets/production", "--format", "github-env"]
    env = parse_github_env(Path(github.env["GITHUB_ENV"]).read_text())
    assert env == {"API_TOKEN": "tok-123", "DB_PASSWORD": SECRET, "DB_USER": "app"}
    # The identity is masked by its own step; the export step's output is masks only.
    assert github.steps[0].stdout.startswith("gitvault, version ")
    assert f"::add-mask::{identity}" in github.steps[1].stdout
    assert github.steps[2].stdout.startswith("ok    secrets/production/api.yaml")  # real verify
    export_lines = github.steps[3].stdout.splitlines()
    assert export_lines and all(line.startswith("::add-mask::") for line in export_lines)
    assert "::add-mask::line2" in export_lines
    # Nothing decrypted on stderr, anywhere; the identity never leaves its steps.
    assert all(SECRET not in s.stderr and "tok-123" not in s.stderr for s in github.steps)
    github_env = Path(github.env["GITHUB_ENV"]).read_text()
    assert "GITVAULT_AGE_KEY" not in github_env and identity not in github_env
    audit = [
        json.loads(line) for line in (github.workspace / "audit.jsonl").read_text().splitlines()
    ]
    assert {a["file"] for a in audit} == {
        "secrets/production/db.yaml",
        "secrets/production/api.yaml",
    }
    assert audit[0]["ci"]["run_id"] == "4242"
    assert {a["recipient"] for a in audit} == {"ci-production"}
    assert all(a["commit"] and len(a["commit"]) == 40 for a in audit)


def test_exec_mode_runs_the_command_without_the_identity(
    github: GithubRun, prod: None, calls: Calls, identity: str
) -> None:
    command = 'printf "%s" "$DB_PASSWORD" > seen.txt; echo "key:${GITVAULT_AGE_KEY-unset}"'
    inputs = {"identity": identity, "paths": "secrets/production/db.yaml", "mode": "exec"}
    assert github.run_action({**inputs, "command": command, "install": "false"}) == 0
    assert (github.workspace / "seen.txt").read_text() == SECRET
    assert github.steps[-1].stdout.splitlines()[-1] == "key:unset"
    assert calls("python3") == []  # install: false


def test_exec_mode_passes_the_childs_failure_on(
    github: GithubRun, prod: None, identity: str
) -> None:
    inputs = {"identity": identity, "paths": "secrets/production", "mode": "exec"}
    assert github.run_action({**inputs, "command": "exit 9"}) == 9


def test_exec_without_command_and_empty_identity_fail(
    github: GithubRun, prod: None, identity: str
) -> None:
    assert github.run_action({"identity": identity, "mode": "exec"}) == 2
    assert github.run_action({"identity": ""}) == 3


def test_development_identity_cannot_deploy_production(
    github: GithubRun, prod: None, keys: dict[str, AgeKey], calls: Calls
) -> None:
    inputs = {"identity": keys["ci-dev"].secret, "paths": "secrets/production", "install": "false"}
    # verify cannot check the MAC without a key that opens the files: the gate refuses (exit 3)
    # and export never runs.
    assert github.run_action(inputs) == 3
    verify = github.steps[-1]
    assert "secrets/production/api.yaml" in verify.stderr
    assert "readable by: alice, ci-production" in verify.stderr
    assert "no MAC was checked" in verify.stderr
    assert [c[0] for c in calls("gitvault")][-1] == "verify"
    assert Path(github.env["GITHUB_ENV"]).read_text() == ""


def test_failed_verify_stops_before_export(
    github: GithubRun, prod: None, calls: Calls, identity: str
) -> None:
    tamper(github.workspace / "secrets/production/db.yaml")
    assert github.run_action({"identity": identity, "paths": "secrets/production"}) == 1
    assert [c[0] for c in calls("gitvault")] == ["--version", "verify"]
    verify = github.steps[-1]
    assert "FAIL  secrets/production/db.yaml" in verify.stdout
    assert Path(github.env["GITHUB_ENV"]).read_text() == ""


def test_a_name_that_changes_how_programs_run_needs_allow_env(
    github: GithubRun, vault_dir: Callable[[str, Any], Path], identity: str
) -> None:
    vault_dir("secrets/production/tools.yaml", {"node_options": "--max-old-space-size=512"})
    inputs = {"identity": identity, "paths": "secrets/production"}
    assert github.run_action(inputs) == 5
    assert "would set NODE_OPTIONS" in github.steps[-1].stderr
    assert Path(github.env["GITHUB_ENV"]).read_text() == ""  # later steps get nothing
    assert github.run_action({**inputs, "allow-env": "NODE_OPTIONS PATH"}) == 0
    env = parse_github_env(Path(github.env["GITHUB_ENV"]).read_text())
    assert env == {"NODE_OPTIONS": "--max-old-space-size=512"}


def test_k8s_export_to_a_file(github: GithubRun, prod: None, identity: str) -> None:
    inputs = {
        "identity": identity,
        "paths": "secrets/production",
        "format": "k8s",
        "output": "secret.yaml",
        "extra-args": "--merge --k8s-name app --namespace production",
    }
    assert github.run_action(inputs) == 0
    secret = yaml.safe_load((github.workspace / "secret.yaml").read_text())
    assert secret["metadata"]["name"] == "app"
    assert secret["metadata"]["namespace"] == "production"
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]).decode() == SECRET


def test_deploy_workflow(github: GithubRun, prod: None, calls: Calls) -> None:
    (github.workspace / "scripts").mkdir()
    migrate = github.workspace / "scripts" / "migrate.sh"
    migrate.write_text('#!/bin/bash\nprintf "%s" "$DB_PASSWORD" > migrated.txt\n')
    migrate.chmod(0o755)
    assert github.run_workflow(WORKFLOWS / "deploy.yml", "deploy") == 0, github.steps[-1].stderr
    assert (github.workspace / "migrated.txt").read_text() == SECRET
    applied = calls("kubectl")
    assert applied and applied[0][:2] == ["apply", "-f"]
    assert not Path(applied[0][2]).exists()  # the manifest is removed after apply
    assert (github.workspace / "gitvault-audit.jsonl").exists()
    first_output = next(line for line in github.stdout().splitlines() if line.strip())
    assert first_output.startswith("::add-mask::") or first_output.startswith("gitvault, version")


def test_review_workflow_posts_the_markdown(github: GithubRun, calls: Calls) -> None:
    canned(github.env, review=("## gitvault review\n\n1 key rotated\n", 0))
    github.github.update(
        {
            "event.pull_request.base.sha": "aaa",
            "event.pull_request.head.sha": "bbb",
            "event.pull_request.number": "17",
            "token": "ghs_x",
        }
    )
    assert github.run_workflow(WORKFLOWS / "review.yml", "review") == 0
    assert ["review", "aaa..bbb", "--format", "markdown"] in calls("gitvault")
    comment = calls("gh")[0]
    assert comment[:3] == ["pr", "comment", "17"] and "--body-file" in comment
    summary = Path(github.env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "1 key rotated" in summary


def test_review_workflow_fails_after_commenting_on_problems(
    github: GithubRun, calls: Calls
) -> None:
    canned(github.env, review=("## problems\n", 1))
    github.github.update({"event.pull_request.number": "3"})
    assert github.run_workflow(WORKFLOWS / "review.yml", "review") == 1
    assert calls("gh")  # the comment was still posted


@pytest.mark.parametrize(("plaintext", "code"), [(False, 0), (True, 1)])
def test_review_workflow_for_real(
    github: GithubRun, prod: None, keys: dict[str, AgeKey], calls: Calls, plaintext: bool, code: int
) -> None:
    git(github.workspace, "add", "-A")
    git(github.workspace, "commit", "-q", "-m", "production secrets")
    base, head = open_pull_request(github.workspace, keys, plaintext=plaintext)
    github.github.update(
        {
            "event.pull_request.base.sha": base,
            "event.pull_request.head.sha": head,
            "event.pull_request.number": "17",
            "token": "ghs_x",
        }
    )
    assert github.run_workflow(WORKFLOWS / "review.yml", "review") == code
    assert ["review", f"{base}..{head}", "--format", "markdown"] in calls("gitvault")
    comment = calls("gh")[0]  # posted in both cases
    assert comment[:3] == ["pr", "comment", "17"]
    body = (github.workspace / "gitvault-review.md").read_text()
    assert "| secrets/production/db.yaml | db.password | rotated |" in body
    assert ("secrets/production/oops.yaml" in body) == plaintext
    summary = Path(github.env["GITHUB_STEP_SUMMARY"]).read_text()
    assert body in summary
    for value in ("rotated-value-2", "plain-value-3", SECRET, "tok-123"):
        assert value not in summary


@pytest.mark.parametrize(
    ("code", "listing"), [(0, "nothing due\n"), (1, "secrets/a.yaml db.password overdue\n")]
)
def test_due_workflow(github: GithubRun, calls: Calls, code: int, listing: str) -> None:
    canned(github.env, due=(listing, code))
    assert github.run_workflow(WORKFLOWS / "due.yml", "due") == code
    assert ["due", "--within", "14d", "--fail"] in calls("gitvault")
    assert listing in Path(github.env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(("age_days", "code"), [(200, 1), (1, 0)])
def test_due_workflow_for_real(
    github: GithubRun, prod: None, calls: Calls, age_days: int, code: int
) -> None:
    """The real `gitvault due` on a vault whose production keys rotate every 90 days."""
    commit_vault_with_rotation_period(github.workspace, age_days)
    assert github.run_workflow(WORKFLOWS / "due.yml", "due") == code, github.steps[-1].stderr
    assert ["due", "--within", "14d", "--fail"] in calls("gitvault")
    summary = Path(github.env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("## gitvault due\n```\n")
    if code:
        assert "secrets/production/db.yaml" in summary and "db.password" in summary
    assert SECRET not in summary and "tok-123" not in summary


def test_workflows_are_well_formed() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        workflow = load(path)
        assert workflow["permissions"]["contents"] == "read", path.name
        assert True in workflow  # the `on:` key (PyYAML reads it as True)
    schedule = load(WORKFLOWS / "due.yml")[True]["schedule"][0]["cron"]
    assert re.fullmatch(r"[\d*/,-]+( [\d*/,-]+){4}", schedule)


def test_every_gitvault_command_in_ci_files_exists_or_is_known_missing() -> None:
    """The ci/ files call only real commands, plus the ones listed in ``MISSING``."""
    from gitvault.cli import COMMANDS
    from tests.ci.conftest import MISSING

    scripts = [run for _, run in all_run_blocks()]
    for job in load(GITLAB).values():
        if isinstance(job, dict):
            scripts += [*job.get("before_script", []), *job.get("script", [])]
    used = {m for text in scripts for m in re.findall(r"(?:^|[;&|(\s])gitvault ([a-z-]+)", text)}
    assert {"verify", "export", "exec", "review", "due"} <= used
    unknown = {c for c in used if c not in COMMANDS and c not in MISSING and c[0] != "-"}
    assert not unknown, f"ci/ files call gitvault commands that do not exist: {unknown}"
    landed = [c for c in MISSING if c in COMMANDS]
    if landed:
        warnings.warn(
            f"gitvault {', '.join(landed)} exist now: remove them from MISSING in "
            "tests/ci/conftest.py so the workflows run them for real",
            stacklevel=1,
        )
