"""The GitLab CI template: jobs resolved through `extends` and run with bash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dotenv
import pytest

from tests.ci.conftest import canned, commit_vault_with_rotation_period, open_pull_request
from tests.ci.simulate import GITLAB, gitlab_job, load, rules_match, run_gitlab_job
from tests.conftest import git
from tests.export.realvault import AgeKey, tamper

SECRET = "pa$$ 'w\"rd\nline2"
Calls = Callable[[str], list[list[str]]]


@pytest.fixture
def prod(vault_dir: Callable[[str, Any], Path]) -> None:
    vault_dir("secrets/production/db.yaml", {"db": {"password": SECRET}})


@pytest.fixture
def gl_env(ci_env: dict[str, str], identity: str) -> dict[str, str]:
    return {
        **ci_env,
        "CI_PIPELINE_ID": "77",
        "CI_PROJECT_ID": "5",
        "CI_API_V4_URL": "https://gitlab.invalid/api/v4",
        "GITVAULT_AGE_KEY": identity,
    }


def test_rules() -> None:
    assert rules_match(gitlab_job("gitvault-review"), {"CI_PIPELINE_SOURCE": "merge_request_event"})
    assert not rules_match(gitlab_job("gitvault-review"), {"CI_PIPELINE_SOURCE": "push"})
    assert rules_match(gitlab_job("gitvault-due"), {"CI_PIPELINE_SOURCE": "schedule"})
    assert rules_match(gitlab_job("gitvault-verify"), {"GITVAULT_AGE_KEY": "x"})
    assert not rules_match(gitlab_job("gitvault-verify"), {})


def test_every_job_has_a_script() -> None:
    doc = load(GITLAB)
    for name, job in doc.items():
        if isinstance(job, dict) and name not in ("variables", ".gitvault-install"):
            assert gitlab_job(name)["script"], name


def test_verify_job(workspace: Path, gl_env: dict[str, str], prod: None, calls: Calls) -> None:
    variables = {"GITVAULT_PATHS": "secrets/production/db.yaml secrets/production"}
    result = run_gitlab_job("gitvault-verify", workspace, gl_env, variables)
    assert result.returncode == 0, result.stderr
    assert ["verify", "secrets/production/db.yaml", "secrets/production"] in calls("gitvault")
    assert (
        "ok    secrets/production/db.yaml  (structure: ok, recipients: ok, mac: ok" in result.stdout
    )
    assert calls("python3")[0][:3] == ["-m", "pip", "install"]


def test_verify_job_fails_on_a_tampered_file(
    workspace: Path, gl_env: dict[str, str], prod: None
) -> None:
    tamper(workspace / "secrets/production/db.yaml")
    result = run_gitlab_job("gitvault-verify", workspace, gl_env, {})
    assert result.returncode == 1
    assert "FAIL  secrets/production/db.yaml" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_export_template(workspace: Path, gl_env: dict[str, str], prod: None) -> None:
    variables = {"GITVAULT_PATHS": "secrets/production", "GITVAULT_OUTPUT": "deploy.env"}
    # The password holds both quote kinds, `$$` and a newline: no .env form every
    # reader agrees on, so the portable default refuses it, by key, writing nothing.
    refused = run_gitlab_job(".gitvault-export", workspace, gl_env, variables)
    assert refused.returncode == 5
    assert "db.password" in refused.stderr and SECRET not in refused.stderr
    assert not (workspace / "deploy.env").exists()
    # A job whose reader is python-dotenv says so, and gets every value.
    variables["GITVAULT_EXTRA_ARGS"] = "--dotenv-dialect python-dotenv"
    result = run_gitlab_job(".gitvault-export", workspace, gl_env, variables)
    assert result.returncode == 0, result.stderr
    values = dotenv.dotenv_values(workspace / "deploy.env", interpolate=False)
    assert values == {"DB_PASSWORD": SECRET}
    assert SECRET not in result.stdout + result.stderr
    assert "line2" not in result.stdout + result.stderr


def test_export_template_with_the_development_identity_exports_nothing(
    workspace: Path, gl_env: dict[str, str], prod: None, keys: dict[str, AgeKey]
) -> None:
    env = {**gl_env, "GITVAULT_AGE_KEY": keys["ci-dev"].secret}
    variables = {"GITVAULT_PATHS": "secrets/production", "GITVAULT_OUTPUT": "deploy.env"}
    result = run_gitlab_job(".gitvault-export", workspace, env, variables)
    assert result.returncode == 3
    assert "secrets/production/db.yaml" in result.stderr and "ci-production" in result.stderr
    assert not (workspace / "deploy.env").exists()


def test_exec_template(workspace: Path, gl_env: dict[str, str], prod: None) -> None:
    variables = {
        "GITVAULT_PATHS": "secrets/production",
        "GITVAULT_COMMAND": 'printf "%s" "$DB_PASSWORD" > seen.txt; exit 3',
    }
    result = run_gitlab_job(".gitvault-exec", workspace, gl_env, variables)
    assert result.returncode == 3
    assert (workspace / "seen.txt").read_text() == SECRET
    assert run_gitlab_job(".gitvault-exec", workspace, gl_env, {}).returncode == 2


def test_review_job_posts_a_note(workspace: Path, gl_env: dict[str, str], calls: Calls) -> None:
    canned(gl_env, review=('## review "quoted"\n', 0))
    variables = {
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": "aaa",
        "CI_COMMIT_SHA": "bbb",
        "CI_MERGE_REQUEST_IID": "9",
        "GITVAULT_GITLAB_TOKEN": "glpat-x",
    }
    result = run_gitlab_job("gitvault-review", workspace, gl_env, variables)
    assert result.returncode == 0, result.stderr
    assert ["review", "aaa..bbb", "--format", "markdown"] in calls("gitvault")
    (curl,) = calls("curl")
    assert curl[-1] == "https://gitlab.invalid/api/v4/projects/5/merge_requests/9/notes"
    note = json.loads((workspace / "gitvault-note.json").read_text())
    assert note == {"body": '## review "quoted"\n'}


def test_review_without_token_still_reports_and_fails_on_problems(
    workspace: Path, gl_env: dict[str, str], calls: Calls
) -> None:
    canned(gl_env, review=("problems\n", 1))
    result = run_gitlab_job("gitvault-review", workspace, gl_env, {"CI_MERGE_REQUEST_IID": "9"})
    assert result.returncode == 1
    assert "problems" in result.stdout
    assert calls("curl") == []


def test_due_job(workspace: Path, gl_env: dict[str, str], calls: Calls) -> None:
    canned(gl_env, due=("overdue\n", 1))
    assert run_gitlab_job("gitvault-due", workspace, gl_env).returncode == 1
    assert ["due", "--within", "14d", "--fail"] in calls("gitvault")


def test_due_job_for_real(workspace: Path, gl_env: dict[str, str], prod: None) -> None:
    commit_vault_with_rotation_period(workspace, age_days=200)
    result = run_gitlab_job("gitvault-due", workspace, gl_env)
    assert result.returncode == 1, result.stderr
    assert "secrets/production/db.yaml" in result.stdout and "db.password" in result.stdout


def test_review_job_for_real(
    workspace: Path, gl_env: dict[str, str], prod: None, keys: dict[str, AgeKey], calls: Calls
) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "production secrets")
    base, head = open_pull_request(workspace, keys, plaintext=True)
    variables = {
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
        "CI_COMMIT_SHA": head,
        "CI_MERGE_REQUEST_IID": "9",
        "GITVAULT_GITLAB_TOKEN": "glpat-x",
    }
    result = run_gitlab_job("gitvault-review", workspace, gl_env, variables)
    assert result.returncode == 1  # a plaintext file in production: the job fails...
    assert calls("curl")  # ...after posting the note
    note = json.loads((workspace / "gitvault-note.json").read_text())
    assert "secrets/production/oops.yaml" in note["body"]
    assert "plain-value-3" not in note["body"] + result.stdout + result.stderr
