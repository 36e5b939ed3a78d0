"""`set`, `unset` and `edit` with --commit: trailers, refusals, nothing changed on failure."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli
from tests.rotate_cli.conftest import (
    OLD_PASSWORD,
    F,
    assert_no_values,
    head,
    message,
    parsed_trailers,
    shallow_clone,
    snapshot,
    value,
)

NEW = "n3w-Secret-value-42"


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("gitvault: error:")]


def test_set_commit_has_trailers_naming_only_the_changed_key(vault: Vault) -> None:
    before = head(vault.root)
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=NEW + "\n")
    assert r.code == 0, r.output
    assert "committed" in r.stderr and head(vault.root) != before
    assert parsed_trailers(vault.root) == [
        ("Gitvault-Action", "set"),
        ("Gitvault-File", F),
        ("Gitvault-Keys", f"{F}: db.password"),
    ]
    assert message(vault.root).startswith("gitvault: set db.password in secrets/app.yaml\n")
    assert git(vault.root, "show", "--name-only", "--format=", "HEAD").stdout.split() == [F]
    assert git(vault.root, "status", "--porcelain").stdout == ""
    assert value(vault.root, "db.password") == NEW
    assert value(vault.root, "db.password", rev="HEAD~1") == OLD_PASSWORD
    assert_no_values([NEW, OLD_PASSWORD], r.output, message(vault.root))


def test_set_commit_with_message_and_generator(vault: Vault) -> None:
    r = run_cli(
        ["set", F, "api_token", "--generate", "hex:16", "--commit", "-m", "new token\n\nwhy: test"]
    )
    assert r.code == 0, r.output
    text = message(vault.root)
    assert text.startswith("new token\n\nwhy: test\n\nGitvault-Action: set\n")
    assert ("Gitvault-Keys", f"{F}: api_token") in parsed_trailers(vault.root)
    assert_no_values([value(vault.root, "api_token")], r.output, text)


def test_set_same_value_commits_nothing(vault: Vault) -> None:
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", OLD_PASSWORD, "--commit"])
    assert r.code == 0 and "nothing written" in r.stderr
    assert snapshot(vault.root) == snap


def test_unset_commit(vault: Vault) -> None:
    r = run_cli(["unset", F, "api_token", "--commit"])
    assert r.code == 0, r.output
    assert parsed_trailers(vault.root) == [
        ("Gitvault-Action", "unset"),
        ("Gitvault-File", F),
        ("Gitvault-Keys", f"{F}: api_token"),
    ]


def test_edit_commit_names_the_edited_keys(vault: Vault, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "t = p.read_text().replace('port: 5432', 'port: 6543')\n"
        "p.write_text(t + 'extra: added-by-editor\\n')\n"
    )
    r = run_cli(["edit", F, "--commit"], env={"EDITOR": f"{sys.executable} {editor}"})
    assert r.code == 0, r.output
    trailers = dict(parsed_trailers(vault.root))
    assert trailers["Gitvault-Action"] == "edit"
    assert trailers["Gitvault-Keys"] == f"{F}: db.port, extra"
    assert git(vault.root, "status", "--porcelain").stdout == ""


def test_commit_flags_need_commit(vault: Vault) -> None:
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", "x", "-m", "msg"])
    assert r.code == 2 and len(error_lines(r.stderr)) == 1
    assert snapshot(vault.root) == snap


def test_refuses_other_staged_changes_unless_allowed(vault: Vault) -> None:
    (vault.root / "README").write_text("staged work\n")
    git(vault.root, "add", "README")
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=NEW)
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: other changes are staged: README"]
    assert snapshot(vault.root) == snap
    r = run_cli(["set", F, "db.password", "--stdin", "--commit", "--allow-staged"], input=NEW)
    assert r.code == 0, r.output
    assert git(vault.root, "show", "--name-only", "--format=", "HEAD").stdout.split() == [F]
    assert git(vault.root, "diff", "--cached", "--name-only").stdout.split() == ["README"]


def test_refuses_uncommitted_changes_to_the_file(vault: Vault) -> None:
    assert run_cli(["set", F, "api_token", "uncommitted-token"]).code == 0
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=NEW)
    assert r.code == 6 and "has uncommitted changes" in r.stderr
    assert len(error_lines(r.stderr)) == 1
    assert snapshot(vault.root) == snap


def test_refuses_detached_head(vault: Vault) -> None:
    git(vault.root, "checkout", "-q", "--detach")
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=NEW)
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: HEAD is detached: refusing to commit"]
    assert snapshot(vault.root) == snap


def test_refuses_shallow_clone(vault: Vault, tmp_path: Path) -> None:
    clone = shallow_clone(vault.root, tmp_path / "clone")
    snap = snapshot(clone)
    r = run_cli(
        ["set", "secrets/app.yaml", "db.password", "--stdin", "--commit"], input=NEW, cwd=clone
    )
    assert r.code == 6 and error_lines(r.stderr)[0].startswith("gitvault: error: shallow clone")
    assert snapshot(clone) == snap


def test_failed_commit_restores_the_file(vault: Vault) -> None:
    hook = vault.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'blocked by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    snap = snapshot(vault.root)
    r = run_cli(["set", F, "db.password", "--stdin", "--commit"], input=NEW)
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: git commit failed: blocked by policy"]
    assert snapshot(vault.root) == snap
    assert_no_values([NEW], r.output)


def test_edit_commit_creates_a_new_file(vault: Vault, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import pathlib, sys\n"
        "pathlib.Path(sys.argv[1]).write_text('token: brand-new-1\\nport: 1\\n')\n"
    )
    r = run_cli(
        ["edit", "secrets/new.yaml", "--commit"], env={"EDITOR": f"{sys.executable} {editor}"}
    )
    assert r.code == 0, r.output
    assert parsed_trailers(vault.root) == [
        ("Gitvault-Action", "edit"),
        ("Gitvault-File", "secrets/new.yaml"),
        ("Gitvault-Keys", "secrets/new.yaml: token, port"),
    ]
    assert message(vault.root).startswith("gitvault: add secrets/new.yaml\n")
    assert_no_values(["brand-new-1"], r.output, message(vault.root))
