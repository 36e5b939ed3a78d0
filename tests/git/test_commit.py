"""Commits through the git CLI: exact paths, hooks, SSH signing, refusals."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gitvault.errors import BadInput, GitError
from gitvault.git.commit import commit_paths, looks_like_vault_file
from gitvault.git.log import signature_states, walk
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, build_vault_message, parse_vault_trailers
from tests.conftest import git
from tests.git.conftest import fake_vault

MESSAGE = build_vault_message(
    "rotate db password",
    VaultTrailers(action="rotate", files=("secrets/a.yaml",), keys={"secrets/a.yaml": ("k",)}),
)


def test_commit_exact_paths_with_trailers(history_repo: Path) -> None:
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    (history_repo / "README").write_text("unstaged work stays\n")
    repo = Repository.discover(history_repo)
    result = commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert result.branch == "main" and not result.signed
    assert result.id == git(history_repo, "rev-parse", "HEAD").stdout.strip()
    show = git(history_repo, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert show == ["secrets/a.yaml"]
    assert "README" in git(history_repo, "status", "--porcelain").stdout
    body = git(history_repo, "log", "-1", "--format=%B").stdout
    assert parse_vault_trailers(body).action == "rotate"


def test_first_commit_in_empty_repository(repo: Path) -> None:
    (repo / "s.yaml").write_bytes(fake_vault({"k": "v"}))
    result = commit_paths(Repository.discover(repo), ["s.yaml"], MESSAGE)
    assert walk(repo)[0].id == result.id


def test_allow_other_staged_keeps_them_out_of_the_commit(history_repo: Path) -> None:
    (history_repo / "README").write_text("staged\n")
    git(history_repo, "add", "README")
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    repo = Repository.discover(history_repo)
    head = repo.state().head
    with pytest.raises(GitError, match="other changes are staged"):
        commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert repo.state().head == head
    commit_paths(repo, ["secrets/a.yaml"], MESSAGE, allow_other_staged=True)
    assert git(history_repo, "show", "--name-only", "--format=", "HEAD").stdout.split() == [
        "secrets/a.yaml"
    ]
    assert git(history_repo, "diff", "--cached", "--name-only").stdout.split() == ["README"]


def test_refuses_plaintext_and_restores_index(history_repo: Path) -> None:
    (history_repo / "secrets" / "a.yaml").write_text("password: hunter2\n")
    repo = Repository.discover(history_repo)
    head = repo.state().head
    with pytest.raises(BadInput, match="not an encrypted vault file") as err:
        commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert "hunter2" not in str(err.value)
    assert repo.state().head == head
    assert git(history_repo, "diff", "--cached", "--name-only").stdout == ""
    (history_repo / "secrets" / "new.yaml").write_text("plain: text\n")
    with pytest.raises(BadInput):
        commit_paths(repo, ["secrets/new.yaml"], MESSAGE)
    assert git(history_repo, "diff", "--cached", "--name-only").stdout == ""


def test_nothing_to_commit_and_bad_paths(history_repo: Path) -> None:
    repo = Repository.discover(history_repo)
    with pytest.raises(BadInput, match="nothing to commit"):
        commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    for bad in ["/etc/passwd", "../x", "-rf"]:
        with pytest.raises(BadInput):
            commit_paths(repo, [bad], MESSAGE)


def test_deletion_is_committed(history_repo: Path) -> None:
    (history_repo / "secrets" / "b.yaml").unlink()
    repo = Repository.discover(history_repo)
    commit_paths(repo, ["secrets/b.yaml"], MESSAGE)
    assert walk(history_repo, ["secrets/b.yaml"])[0].changes[0].status == "D"


def test_hooks_run_and_can_refuse(history_repo: Path) -> None:
    hook = history_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'blocked by policy hook' >&2\nexit 1\n")
    hook.chmod(0o755)
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    repo = Repository.discover(history_repo)
    head = repo.state().head
    with pytest.raises(GitError, match="git commit failed: blocked by policy hook"):
        commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert repo.state().head == head
    assert git(history_repo, "diff", "--cached", "--name-only").stdout == ""

    # A commit-msg hook sees our message and may add to it, as for any commit.
    hook.unlink()
    msg_hook = history_repo / ".git" / "hooks" / "commit-msg"
    msg_hook.write_text('#!/bin/sh\nprintf "Hooked-By: commit-msg\\n" >> "$1"\n')
    msg_hook.chmod(0o755)
    commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert "Hooked-By: commit-msg" in git(history_repo, "log", "-1", "--format=%B").stdout


def test_identity_from_user_config(history_repo: Path) -> None:
    git(history_repo, "config", "user.name", "Rotation Bot")
    git(history_repo, "config", "user.email", "bot@example.invalid")
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    commit_paths(Repository.discover(history_repo), ["secrets/a.yaml"], MESSAGE)
    record = walk(history_repo, ["secrets/a.yaml"])[0]
    assert (record.author.name, record.author.email) == ("Rotation Bot", "bot@example.invalid")


@pytest.fixture
def ssh_signing(history_repo: Path, tmp_path: Path) -> Path:
    """Configure the repository to sign every commit with a fresh SSH key."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (package openssh-client)")
    key = tmp_path / "signing_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester", "-f", str(key)],
        check=True,
    )
    public = key.with_suffix(".pub").read_text().strip()
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"test@example.invalid {public}\n")
    git(history_repo, "config", "gpg.format", "ssh")
    git(history_repo, "config", "user.signingkey", str(key.with_suffix(".pub")))
    git(history_repo, "config", "commit.gpgsign", "true")
    git(history_repo, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    return allowed


def test_ssh_signed_commit_verifies(history_repo: Path, ssh_signing: Path) -> None:
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    repo = Repository.discover(history_repo)
    result = commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert result.signed
    assert git(history_repo, "verify-commit", result.id, check=False).returncode == 0

    unsigned = walk(history_repo, ["secrets/a.yaml"])[1].id
    assert repo.signed_commits([result.id, unsigned]) == {result.id}
    states = signature_states(history_repo, [result.id, unsigned])
    assert states[result.id].verified and states[result.id].status == "good"
    assert states[result.id].signer == "test@example.invalid"
    assert not states[unsigned].signed and not states[unsigned].verified

    # A key that is not in the allowed signers file is signed but not verified.
    ssh_signing.write_text("")
    state = signature_states(history_repo, [result.id])[result.id]
    assert state.signed and not state.verified
    assert git(history_repo, "verify-commit", result.id, check=False).returncode != 0


def test_signing_failure_is_a_git_error(history_repo: Path, ssh_signing: Path) -> None:
    git(history_repo, "config", "user.signingkey", "/nonexistent/key.pub")
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    repo = Repository.discover(history_repo)
    with pytest.raises(GitError, match="git commit failed"):
        commit_paths(repo, ["secrets/a.yaml"], MESSAGE)
    assert git(history_repo, "diff", "--cached", "--name-only").stdout == ""


def test_looks_like_vault_file() -> None:
    assert looks_like_vault_file(fake_vault({"a": "b"}))
    assert not looks_like_vault_file(b"a: b\n")
    assert not looks_like_vault_file(b"a: b\nsops:\n    version: 3\n")  # no mac
    assert not looks_like_vault_file(b"x:\n  sops:\n    mac: y\n")  # not top-level
    assert not looks_like_vault_file(fake_vault({"a": "b"}) + b"\0")
