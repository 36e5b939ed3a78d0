"""pre-push (client) and pre-receive (server) hooks with a real bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitvault.hooks.install import install_hooks
from tests.conftest import git
from tests.helpers import run_cli

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    return bare


@pytest.fixture
def clone(tmp_path: Path, remote: Path) -> Path:
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    (work / "README.md").write_text("# demo\n")
    git(work, "add", "README.md")
    git(work, "commit", "-qm", "root")
    git(work, "push", "-q", "origin", "HEAD:main")
    return work


def remote_head(remote: Path, ref: str = "main") -> str:
    return git(remote, "rev-parse", "--verify", "-q", ref, check=False).stdout.strip()


def leak(work: Path, name: str = "config.py") -> None:
    (work / name).write_text(f"x = 1\nT = '{TOKEN}'\n")
    git(work, "add", name)
    git(work, "commit", "-qm", "leak", "--no-verify")


def test_pre_push_blocks_unpushed_commits(clone: Path, remote: Path) -> None:
    install_hooks(clone, ("pre-push",))
    before = remote_head(remote)
    leak(clone)
    (clone / "more.txt").write_text("clean\n")
    git(clone, "add", "more.txt")
    git(clone, "commit", "-qm", "clean on top")
    proc = git(clone, "push", "origin", "HEAD:main", check=False)
    assert proc.returncode != 0
    assert remote_head(remote) == before
    assert "gitvault: blocked: config.py:2@" in proc.stderr and "github-pat" in proc.stderr
    assert "git push --no-verify" in proc.stderr and TOKEN not in proc.stderr


def test_pre_push_only_scans_what_the_remote_lacks(clone: Path, remote: Path) -> None:
    leak(clone)
    git(clone, "push", "-q", "--no-verify", "origin", "HEAD:main")  # already on the remote
    install_hooks(clone, ("pre-push",))
    (clone / "b.txt").write_text("clean\n")
    git(clone, "add", "b.txt")
    git(clone, "commit", "-qm", "clean")
    assert git(clone, "push", "origin", "HEAD:main", check=False).returncode == 0
    git(clone, "checkout", "-q", "-b", "feature")
    (clone / "c.txt").write_text("clean too\n")
    git(clone, "add", "c.txt")
    git(clone, "commit", "-qm", "feature")
    proc = git(clone, "push", "origin", "feature", check=False)
    assert proc.returncode == 0, proc.stderr
    assert remote_head(remote, "feature")


def test_pre_push_new_branch_with_a_secret(clone: Path, remote: Path) -> None:
    install_hooks(clone, ("pre-push",))
    git(clone, "checkout", "-q", "-b", "topic")
    leak(clone, "topic.py")
    proc = git(clone, "push", "origin", "topic", check=False)
    assert proc.returncode != 0 and "topic.py:2@" in proc.stderr
    assert remote_head(remote, "topic") == ""


def test_pre_receive_rejects_on_the_server(clone: Path, remote: Path) -> None:
    r = run_cli(["hooks", "install", "pre-receive"], cwd=remote)
    assert r.code == 0, r.output
    before = remote_head(remote)
    leak(clone)
    proc = git(clone, "push", "--no-verify", "origin", "HEAD:main", check=False)
    assert proc.returncode != 0
    assert remote_head(remote) == before
    assert "gitvault: blocked: config.py:2@" in proc.stderr and "rewrite them" in proc.stderr
    assert TOKEN not in proc.stderr
    # A clean branch is accepted.
    git(clone, "reset", "-q", "--hard", "HEAD~1")
    (clone / "ok.txt").write_text("fine\n")
    git(clone, "add", "ok.txt")
    git(clone, "commit", "-qm", "ok")
    assert git(clone, "push", "origin", "HEAD:main", check=False).returncode == 0
    assert remote_head(remote) == git(clone, "rev-parse", "HEAD").stdout.strip()


def test_pre_receive_first_push_to_empty_remote(tmp_path: Path, remote: Path) -> None:
    install_hooks(remote, ("pre-receive",))
    work = tmp_path / "fresh"
    git(tmp_path, "init", "-q", str(work))
    leak(work)
    git(work, "remote", "add", "origin", str(remote))
    proc = git(work, "push", "origin", "HEAD:main", check=False)
    assert proc.returncode != 0 and "github-pat" in proc.stderr
    assert remote_head(remote) == ""


def test_pre_push_from_stdin_in_process(clone: Path) -> None:
    leak(clone)
    sha = git(clone, "rev-parse", "HEAD").stdout.strip()
    base = git(clone, "rev-parse", "origin/main").stdout.strip()
    lines = f"refs/heads/main {sha} refs/heads/main {base}\n"
    r = run_cli(["hook", "pre-push", "origin", "url"], input=lines, cwd=clone)
    assert r.code == 1 and "config.py:2@" in r.stderr
    deletion = f"(delete) {'0' * 40} refs/heads/old {base}\n"
    assert run_cli(["hook", "pre-push", "origin", "url"], input=deletion, cwd=clone).code == 0


def test_pre_receive_ignores_a_baseline_pushed_with_the_leak(clone: Path, remote: Path) -> None:
    """A push cannot accept its own findings by adding their fingerprints in the same push."""
    install_hooks(remote, ("pre-receive",))
    before = remote_head(remote)
    leak(clone)
    r = run_cli(["scan", "--history", "origin/main..HEAD", "--baseline-update"], cwd=clone)
    assert r.code == 0, r.output
    git(clone, "add", ".gitvault-baseline.json")
    git(clone, "commit", "-qm", "accept my own leak")
    proc = git(clone, "push", "--no-verify", "origin", "HEAD:main", check=False)
    assert proc.returncode != 0 and "config.py:2@" in proc.stderr
    assert remote_head(remote) == before
