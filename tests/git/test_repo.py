"""Repository wrapper: discovery, revisions, blobs and the states we refuse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitvault.errors import BadInput, ExitCode, GitError
from gitvault.git.repo import Repository
from tests.conftest import git
from tests.git.conftest import fake_vault, write_commit


def test_discover_from_subdirectory_and_relpath(history_repo: Path) -> None:
    repo = Repository.discover(history_repo / "secrets")
    assert repo.root == history_repo.resolve()
    assert repo.relpath(history_repo / "secrets" / "a.yaml") == "secrets/a.yaml"
    assert repo.relpath(history_repo / "secrets" / "new.yaml") == "secrets/new.yaml"
    with pytest.raises(BadInput):
        repo.relpath(history_repo.parent / "outside.yaml")
    with pytest.raises(BadInput):
        repo.relpath(history_repo / ".git" / "config")


def test_discover_outside_any_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError) as err:
        Repository.discover(tmp_path)
    assert err.value.exit_code == ExitCode.GIT
    assert "not a git repository" in err.value.message


@pytest.mark.parametrize("rev", ["v1", "main~2", "HEAD~2", "HEAD^^"])
def test_resolve_and_read_old_versions(history_repo: Path, rev: str) -> None:
    repo = Repository.discover(history_repo)
    assert repo.read_file(rev, "secrets/a.yaml") == fake_vault({"k": "one"})
    assert repo.read_file("HEAD", "secrets/a.yaml") == fake_vault({"k": "two"})


def test_resolve_short_id_and_errors(history_repo: Path) -> None:
    repo = Repository.discover(history_repo)
    full = git(history_repo, "rev-parse", "HEAD~1").stdout.strip()
    assert repo.resolve(full[:8]) == full
    for bad in ["nope", "HEAD~99", "--all", "a\nb"]:
        with pytest.raises(GitError):
            repo.resolve(bad)
    with pytest.raises(GitError, match="does not exist at v1"):
        repo.read_file("v1", "secrets/b.yaml")
    assert repo.blob_id_at("v1", "secrets") is None  # a directory is not a file


def test_blob_cache_reads_once(history_repo: Path) -> None:
    repo = Repository.discover(history_repo)
    blob = repo.blob_id_at("HEAD", "secrets/a.yaml")
    assert blob is not None
    first = repo.read_blob(blob)
    assert repo.read_blobs([blob, blob]) == {blob: first}
    with pytest.raises(GitError):
        repo.read_blob("0" * 40)


def test_empty_repository(repo: Path) -> None:
    wrapped = Repository.discover(repo)
    state = wrapped.state()
    assert state.is_empty and state.head is None and state.branch is None
    with pytest.raises(GitError, match="no commits yet"):
        wrapped.require_history()
    with pytest.raises(GitError, match="no commits yet"):
        wrapped.resolve("HEAD")
    wrapped.require_can_commit(["secrets/a.yaml"])  # a first commit is fine


def test_detached_head_refused_for_commits(history_repo: Path) -> None:
    git(history_repo, "checkout", "-q", "--detach", "HEAD~1")
    repo = Repository.discover(history_repo)
    assert repo.state().is_detached
    with pytest.raises(GitError, match="detached"):
        repo.require_can_commit(["secrets/a.yaml"])


def test_other_staged_changes_refused(history_repo: Path) -> None:
    (history_repo / "README").write_text("changed\n")
    git(history_repo, "add", "README")
    repo = Repository.discover(history_repo)
    assert [c.path for c in repo.staged_changes()] == ["README"]
    with pytest.raises(GitError, match="other changes are staged: README"):
        repo.require_can_commit(["secrets/a.yaml"])
    repo.require_can_commit(["secrets/a.yaml"], allow_other_staged=True)
    repo.require_can_commit(["README"])


def test_shallow_clone_detected(history_repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{history_repo}", str(clone)], check=True
    )
    repo = Repository.discover(clone)
    assert repo.state().is_shallow
    with pytest.raises(GitError, match="shallow clone") as err:
        repo.require_history()
    assert err.value.hint and "unshallow" in err.value.hint


def test_merge_in_progress_refused(history_repo: Path) -> None:
    git(history_repo, "checkout", "-q", "-b", "side", "HEAD~1")
    write_commit(history_repo, {"secrets/a.yaml": fake_vault({"k": "side"})}, "side")
    git(history_repo, "checkout", "-q", "main")
    git(history_repo, "merge", "side", check=False)  # conflicts on secrets/a.yaml
    repo = Repository.discover(history_repo)
    assert repo.state().operation == "merge"
    with pytest.raises(GitError, match="merge is in progress"):
        repo.require_can_commit(["secrets/a.yaml"])
