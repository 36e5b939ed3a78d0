"""A small simulator of GitHub Actions and GitLab CI, enough to run our ``ci/`` files.

It runs the shell steps for real (bash, the same flags the runners use) in a
temporary workspace, with the runner's files (``GITHUB_ENV``, ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``) and a ``PATH`` whose first directory holds shims. It
understands the expressions our files use — ``${{ inputs.x }}``,
``${{ secrets.X }}``, ``${{ steps.id.outputs.x }}``, ``${{ runner.temp }}``,
``${{ github.… }}``, ``a == 'b'``, ``always()`` — and expands ``uses:`` of the
gitvault composite action; other ``uses:`` (checkout, setup-python, upload)
are skipped. Anything else is an error, so a new expression gets noticed.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTION = REPO_ROOT / "ci" / "github" / "action.yml"
WORKFLOWS = REPO_ROOT / "ci" / "github" / "workflows"
GITLAB = REPO_ROOT / "ci" / "gitlab" / "gitvault.gitlab-ci.yml"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_SKIPPED_ACTIONS = ("actions/checkout@", "actions/setup-python@", "actions/upload-artifact@")


def load(path: Path) -> Any:
    # PyYAML (YAML 1.1) reads the `on:` key as True; we never need it by name.
    return yaml.safe_load(path.read_text())


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class GithubRun:
    """One simulated job: its workspace, runner files, contexts and step results."""

    workspace: Path
    env: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    github: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        runner = self.workspace.parent / "runner"
        runner.mkdir(exist_ok=True)
        self.temp = runner / "temp"
        self.temp.mkdir(exist_ok=True)
        for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            path = runner / name.lower()
            path.touch()
            self.env[name] = str(path)
        self.env.update({"GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_TEMP": str(self.temp)})

    # ------------------------------------------------------------ expressions

    def value(self, expr: str, inputs: dict[str, str]) -> str:
        head, _, rest = expr.partition(".")
        if head == "inputs":
            return inputs[rest]
        if head == "secrets":
            return self.secrets.get(rest, "")
        if head == "runner" and rest == "temp":
            return str(self.temp)
        if head == "github":
            return self.github.get(rest, "")
        if head == "steps":
            step_id, _, output = rest.partition(".outputs.")
            return self.outputs.get(step_id, {}).get(output, "")
        raise AssertionError(f"expression not understood by the simulator: {expr}")

    def expand(self, text: str, inputs: dict[str, str]) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1), inputs), str(text))

    def condition(self, expr: str | None, inputs: dict[str, str], failed: bool) -> bool:
        if expr is None:
            return not failed
        expr = _EXPR.sub(lambda m: m.group(1), str(expr)).strip()
        if expr == "always()":
            return True
        match = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", expr)
        if not match:
            raise AssertionError(f"condition not understood by the simulator: {expr}")
        equal = self.value(match.group(1), inputs) == match.group(3)
        return (equal if match.group(2) == "==" else not equal) and not failed

    # ------------------------------------------------------------------ steps

    def job_env(self) -> dict[str, str]:
        env = dict(self.env)
        # $GITHUB_ENV written by earlier steps applies to later ones.
        env.update(parse_github_env(Path(self.env["GITHUB_ENV"]).read_text()))
        return env

    def run_steps(self, steps: list[dict[str, Any]], inputs: dict[str, str]) -> int:
        failed = 0
        for step in steps:
            if not self.condition(step.get("if"), inputs, failed != 0):
                continue
            uses = step.get("uses")
            if uses is not None:
                if uses.startswith(_SKIPPED_ACTIONS):
                    continue
                assert "ci/github" in uses, f"unknown action {uses}"
                with_ = {k: self.expand(v, inputs) for k, v in (step.get("with") or {}).items()}
                code = self.run_action(with_)
            else:
                code = self.run_shell(step, inputs)
            failed = failed or code
        return failed

    def run_shell(self, step: dict[str, Any], inputs: dict[str, str]) -> int:
        env = self.job_env()
        env.update({k: self.expand(v, inputs) for k, v in (step.get("env") or {}).items()})
        output_file = Path(self.env["GITHUB_OUTPUT"])
        output_file.write_text("")
        cwd = self.workspace / self.expand(step.get("working-directory", "."), inputs)
        script = self.temp / "step.sh"
        script.write_text(step["run"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        name = step.get("name", step["run"].splitlines()[0])
        self.steps.append(StepResult(name, proc.returncode, proc.stdout, proc.stderr))
        if "id" in step:
            self.outputs[step["id"]] = parse_github_env(output_file.read_text())
        return proc.returncode

    def run_action(self, given: dict[str, str]) -> int:
        action = load(ACTION)
        inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
        unknown = set(given) - set(inputs)
        assert not unknown, f"inputs the action does not declare: {unknown}"
        inputs.update(given)
        # The runner only warns about a missing required input; the action checks itself.
        return self.run_steps(action["runs"]["steps"], inputs)

    def run_workflow(self, path: Path, job: str) -> int:
        workflow = load(path)
        return self.run_steps(workflow["jobs"][job]["steps"], {})

    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)


def parse_github_env(text: str) -> dict[str, str]:
    """Read ``NAME=value`` and ``NAME<<DELIM`` blocks like the runner does."""
    result: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            result[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            result[name] = value
    return result


# ------------------------------------------------------------------ GitLab


def gitlab_job(name: str) -> dict[str, Any]:
    """A job of the template with ``extends`` resolved (deep merge of mappings)."""
    doc = load(GITLAB)

    def resolve(job: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        parents = job.get("extends", [])
        for parent in [parents] if isinstance(parents, str) else parents:
            merged.update(resolve(doc[parent]))
        merged.update({k: v for k, v in job.items() if k != "extends"})
        return merged

    job = resolve(doc[name])
    job["variables"] = {**doc.get("variables", {}), **job.get("variables", {})}
    return job


def run_gitlab_job(
    name: str, workspace: Path, env: dict[str, str], variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``before_script`` + ``script`` of a job in one bash, as the runner does."""
    job = gitlab_job(name)
    full_env = {**env, "CI": "true", "GITLAB_CI": "true"}
    full_env.update({k: str(v) for k, v in job["variables"].items()})
    full_env.update(variables or {})
    lines = [*job.get("before_script", []), *job["script"]]
    script = workspace.parent / f"gitlab-{name.strip('.')}.sh"
    script.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env=full_env,
        capture_output=True,
        text=True,
    )


def rules_match(job: dict[str, Any], variables: dict[str, str]) -> bool:
    """Evaluate our jobs' ``rules: - if:`` (``$VAR`` or ``$VAR == "x"``)."""
    for rule in job.get("rules", [{"if": None}]):
        expr = rule.get("if")
        if expr is None:
            return True
        match = re.fullmatch(r'\$(\w+)(?:\s*==\s*"([^"]*)")?', expr)
        assert match, f"rule not understood by the simulator: {expr}"
        value = variables.get(match.group(1), "")
        if (value == match.group(2)) if match.group(2) is not None else bool(value):
            return True
    return False


def shell_env(bin_dir: Path) -> dict[str, str]:
    """The base environment of a simulated job: our shims first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env
