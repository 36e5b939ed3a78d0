"""A ``--commit`` killed after ``git commit`` but before the real index update.

gitvault commits from a private index and then updates the real one. A kill
in between (here, deterministically: a post-commit hook SIGKILLs gitvault)
used to leave the real index holding the old blob: ``git status`` called the
file changed although the work tree equals HEAD, the next ``edit --commit`` /
``set --commit`` refused it as "uncommitted changes", and a plain ``git
commit`` would have committed the old value back. The next gitvault commit
now finishes the index update (gitvault/git/indexsync.py) — but never over
something staged since.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.crash.conftest import OLD_PASSWORD, F, Lab


def _killing_post_commit_hook(root: Path) -> Path:
    """A post-commit hook that SIGKILLs gitvault (git's parent) once, like a power cut."""
    armed = root.parent / "armed"
    armed.touch()
    hook = root / ".git" / "hooks" / "post-commit"
    hook.write_text(
        "#!/bin/sh\n"
        f'[ -e "{armed}" ] || exit 0\n'
        f'rm -f "{armed}"\n'
        'kill -9 "$(ps -o ppid= -p "$PPID" | tr -d " ")"\n'
    )
    hook.chmod(0o755)
    return armed


def _killed_set(lab: Lab, value: str) -> None:
    _killing_post_commit_hook(lab.root)
    r = lab.gv("set", F, "db.password", "--stdin", "--commit", input=value.encode())
    assert r.returncode == -9, r.stderr
    assert lab.head_value("db.password") == value  # the commit landed
    assert lab.value("db.password") == value


def test_the_next_commit_finishes_the_index_update_of_a_killed_one(lab: Lab) -> None:
    _killed_set(lab, "value-after-kill")
    # the state the kill leaves: the real index still holds the old blob
    assert git(lab.root, "diff", "--cached", "--name-only").stdout.strip() == F
    r = lab.gv("set", F, "api_token", "--stdin", "--commit", input=b"tok-next")
    assert r.returncode == 0, r.stderr
    assert git(lab.root, "status", "--porcelain").stdout == ""
    assert lab.head_value("db.password") == "value-after-kill"
    assert lab.head_value("api_token") == "tok-next"
    marker = list((lab.root / ".git" / "gitvault").glob("index-pending-*"))
    assert marker == []


def test_a_path_staged_again_after_the_kill_is_left_as_staged(lab: Lab) -> None:
    _killed_set(lab, "value-after-kill")
    # someone stages another version before the next gitvault commit
    (lab.root / "staged.yaml").write_text("not: the same\n")
    other = git(lab.root, "hash-object", "-w", "staged.yaml").stdout.strip()
    (lab.root / "staged.yaml").unlink()
    git(lab.root, "update-index", "--cacheinfo", f"100644,{other},{F}")
    r = lab.gv("set", F, "api_token", "--stdin", "--commit", input=b"tok-next")
    assert r.returncode == 6, r.stderr  # refused: the file has a change it did not make
    staged = git(lab.root, "ls-files", "-s", F).stdout.split()[1]
    assert staged == other  # not overwritten by the heal: it was staged after the kill
    assert lab.head_value("db.password") == "value-after-kill"
    assert lab.head_value("api_token") != "tok-next"
    assert not list((lab.root / ".git" / "gitvault").glob("index-pending-*"))


def test_a_commit_that_never_landed_leaves_the_index_alone(lab: Lab) -> None:
    hook = lab.root / ".git" / "hooks" / "pre-commit"
    hook.write_text('#!/bin/sh\nkill -9 "$(ps -o ppid= -p "$PPID" | tr -d " ")"\nexit 1\n')
    hook.chmod(0o755)
    r = lab.gv("set", F, "db.password", "--stdin", "--commit", input=b"never-committed")
    assert r.returncode == -9, r.stderr
    hook.unlink()
    assert lab.head_value("db.password") == OLD_PASSWORD
    assert lab.value("db.password") == "never-committed"  # written, not committed
    r = lab.gv("set", F, "api_token", "--stdin", "--commit", input=b"tok-next")
    assert r.returncode == 6, r.stderr  # the uncommitted value is refused, loudly
    assert "uncommitted" in r.stderr
    assert git(lab.root, "diff", "--cached", "--name-only").stdout == ""
    assert lab.head_value("db.password") == OLD_PASSWORD
