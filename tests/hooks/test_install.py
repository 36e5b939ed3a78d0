"""`gitvault hooks install|uninstall|status`: idempotent, core.hooksPath-aware, chaining."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gitvault.hooks.install import (
    CHAINED_SUFFIX,
    MARKER,
    hook_status,
    install_hooks,
    uninstall_hooks,
)
from tests.conftest import git
from tests.helpers import run_cli


def test_install_is_idempotent(repo: Path) -> None:
    first = install_hooks(repo)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert MARKER in hook.read_text() and os.access(hook, os.X_OK)
    assert "installed" in first[0]
    again = install_hooks(repo)
    assert "already installed" in again[0]
    assert not (hook.parent / ("pre-commit" + CHAINED_SUFFIX)).exists()
    assert [s.state for s in hook_status(repo)] == ["installed", "absent", "absent"]


def test_respects_core_hooks_path(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    install_hooks(repo, ("pre-commit", "pre-push"))
    assert (repo / ".githooks" / "pre-commit").is_file()
    assert (repo / ".githooks" / "pre-push").is_file()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_chains_and_restores_an_existing_hook(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    existing = hooks / "pre-commit"
    existing.write_text('#!/bin/sh\ntouch "$(git rev-parse --show-toplevel)/chained-ran"\n')
    existing.chmod(0o755)
    assert "existing hook runs first" in install_hooks(repo)[0]
    assert (hooks / ("pre-commit" + CHAINED_SUFFIX)).read_text().startswith("#!/bin/sh\ntouch")
    [state] = hook_status(repo, ("pre-commit",))
    assert state.state == "installed" and state.chained
    (repo / "ok.txt").write_text("nothing secret\n")
    git(repo, "add", "ok.txt")
    git(repo, "commit", "-qm", "clean")
    assert (repo / "chained-ran").exists()
    assert "previous hook is restored" in uninstall_hooks(repo, ("pre-commit",))[0]
    assert existing.read_text().startswith("#!/bin/sh\ntouch")


def test_failing_chained_hook_blocks(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho 'lint failed' >&2\nexit 3\n")
    (hooks / "pre-commit").chmod(0o755)
    install_hooks(repo)
    (repo / "ok.txt").write_text("fine\n")
    git(repo, "add", "ok.txt")
    proc = git(repo, "commit", "-qm", "x", check=False)
    assert proc.returncode != 0 and "lint failed" in proc.stderr


def test_foreign_hook_left_alone_by_uninstall(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-push").write_text("#!/bin/sh\nexit 0\n")
    assert "left alone" in uninstall_hooks(repo, ("pre-push",))[0]
    assert (hooks / "pre-push").exists()
    assert "not installed" in uninstall_hooks(repo, ("pre-commit",))[0]


def test_cli_install_status_uninstall(repo: Path) -> None:
    r = run_cli(["hooks", "install", "pre-commit", "pre-push"], cwd=repo)
    assert r.code == 0 and "pre-push: installed" in r.stdout
    r = run_cli(["hooks", "status", "--json"], cwd=repo)
    states = {s["hook"]: s["state"] for s in json.loads(r.stdout)}
    assert states == {"pre-commit": "installed", "pre-push": "installed", "pre-receive": "absent"}
    r = run_cli(["hooks", "uninstall"], cwd=repo)
    assert r.code == 0 and "pre-commit: removed" in r.stdout
    assert run_cli(["hooks", "install", "post-merge"], cwd=repo).code == 2
    assert "Example" in run_cli(["hooks", "install", "--help"]).stdout


REPO_ROOT = Path(__file__).resolve().parents[2]


def test_repository_hook_scripts_and_pre_commit_manifest() -> None:
    import yaml

    for name in ("pre-commit", "pre-push", "pre-receive"):
        script = REPO_ROOT / "hooks" / name
        assert os.access(script, os.X_OK)
        assert f"gitvault hook {name}" in script.read_text()
    entries = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {e["entry"] for e in entries} == {"gitvault hook pre-commit", "gitvault hook pre-push"}
    assert all(e["pass_filenames"] is False for e in entries)


def test_installed_script_is_valid_shell(repo: Path) -> None:
    import subprocess

    install_hooks(repo, ("pre-commit", "pre-push"))
    for name in ("pre-commit", "pre-push"):
        proc = subprocess.run(["sh", "-n", str(repo / ".git" / "hooks" / name)], check=False)
        assert proc.returncode == 0
