"""`gitvault scan` through click's CliRunner, and twice as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.helpers import Result, run_cli

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"


@pytest.fixture
def work(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    (repo / "app.py").write_text(f"x = 1\nT='{TOKEN}'\n")
    (repo / "clean.py").write_text("print('hello')\n")
    return repo


def run(*args: str) -> Result:
    return run_cli(list(args))


def test_findings_exit_1_without_the_secret(work: Path) -> None:
    res = run("scan")
    assert res.code == 1
    assert "app.py:2: github-pat" in res.stdout and TOKEN not in res.output
    assert "gitvault: error: 1 secret finding(s)" in res.stderr


def test_clean_path_exits_0(work: Path) -> None:
    res = run("scan", "clean.py")
    assert res.code == 0 and "0 finding(s)" in res.output


def test_json_and_sarif(work: Path) -> None:
    doc = json.loads(run("scan", "--json").stdout)
    assert doc["schema"] == "gitvault.scan/v1" and doc["findings"][0]["rule"] == "github-pat"
    out = work / "out.sarif"
    res = run("scan", "--format", "sarif", "-o", str(out), "app.py")
    assert res.code == 1
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_baseline_update_then_clean(work: Path) -> None:
    assert run("scan", "--baseline-update").code == 0
    baseline = (work / ".gitvault-baseline.json").read_text()
    assert TOKEN not in baseline
    res = run("scan")
    assert res.code == 0 and "1 in baseline" in res.output


def test_exclude_option(work: Path) -> None:
    assert run("scan", "--exclude", "app.py").code == 0


def test_staged_and_history(work: Path) -> None:
    git(work, "add", "app.py")
    assert run("scan", "--staged").code == 1
    git(work, "commit", "-q", "--no-verify", "-m", "leak")
    assert run("scan", "--staged").code == 0
    res = run("scan", "--history")
    assert res.code == 1 and "app.py:2@" in res.output
    assert run("scan", "--history", "HEAD..HEAD").code == 0


def test_usage_errors(work: Path) -> None:
    assert run("scan", "--staged", "app.py").code == 2
    assert run("scan", "--staged", "--history").code == 2
    assert run("scan", "--format", "xml").code == 2


def test_outside_git_with_staged_is_a_git_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = run("scan", "--staged")
    assert res.code == 6 and "not inside a git repository" in res.stderr


def test_help_has_an_example() -> None:
    res = run("scan", "--help")
    assert res.code == 0 and "Examples:" in res.output and "gitvault scan --staged" in res.output


def test_subprocess_scan(work: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gitvault", "scan", "--format", "json"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["stats"]["findings"] == 1
    assert "gitvault: error: 1 secret finding(s)" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_subprocess_bad_baseline_is_one_line(work: Path) -> None:
    (work / ".gitvault-baseline.json").write_text("{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "gitvault", "scan"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 5
    assert proc.stderr.startswith("gitvault: error: baseline") and "Traceback" not in proc.stderr
