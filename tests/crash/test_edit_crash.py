"""SIGKILL ``edit`` (and ``edit --commit``) at random moments: in the editor, saving, committing.

The editor is a script that rewrites the buffer (a new ``db.password``) after a
pause; a slow pre-commit hook widens the commit window. After each kill:

- the vault file is the old version or the new one (whole, MAC verified), and
  HEAD too;
- once the next gitvault command has run, no plaintext is left anywhere: the
  private directory in ``$XDG_RUNTIME_DIR`` and its record in the state
  directory are gone, and no value is in the system temp dir, the work tree or
  ``.git`` (loose objects decompressed);
- the next ``edit`` works.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from tests.conftest import git
from tests.crash.conftest import OLD_PASSWORD, TRIALS, Lab, script, slow_hook

F = "secrets/app.yaml"


def _editor(lab: Lab, directory: Path) -> Path:
    """An $EDITOR that waits, then sets db.password to the content of ``next``."""
    wanted = directory / "next"
    lab.env["EDITOR"] = script(
        directory,
        "editor",
        f"""
sleep 0.3
value=$(cat "{wanted}")
sed -i "s/^    password: .*/    password: $value/" "$1"
""",
    )
    return wanted


def _no_plaintext_anywhere(lab: Lab, home: Path, values: set[str]) -> None:
    lab.assert_no_plaintext(values)
    left = [p.name for p in lab.tmp.iterdir() if p.name.startswith("gitvault-")]
    assert left == [], f"a private directory was left behind: {left}"
    registry = home / ".local" / "state" / "gitvault" / "private-dirs"
    records = list(registry.iterdir()) if registry.is_dir() else []
    assert records == [], f"stale private-dir records: {[p.name for p in records]}"
    for path in (lab.root / ".git").rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.parent.parent.name == "objects" and len(path.parent.name) == 2:
            data = zlib.decompress(data)
        for value in values:
            assert value.encode() not in data, f"plaintext in {path}"


@pytest.mark.parametrize("commit", [False, True], ids=["plain", "commit"])
def test_edit_killed_anywhere_leaves_the_old_or_new_file_and_no_plaintext(
    lab: Lab, hermetic_env: Path, tmp_path: Path, commit: bool
) -> None:
    wanted = _editor(lab, tmp_path)
    slow_hook(lab.root, 0.4)
    args = ["edit", F, "--commit"] if commit else ["edit", F]
    wanted.write_text("measured-run-value")
    length = lab.timed_run(args)
    lab.seen.add("measured-run-value")
    previous = lab.value("db.password")
    refused = 0
    for trial in range(TRIALS):
        new = f"edited-{trial}-{lab.rng.randrange(10**9):09d}"
        wanted.write_text(new)
        lab.seen.add(new)
        lab.kill_during(args, length)
        now = lab.value("db.password")  # whole file, MAC verified
        assert now in (previous, new)
        assert lab.value("api_token") == "tok-abc-123"
        head = lab.head_value("db.password")
        assert head in (previous, new, OLD_PASSWORD)
        fsck = git(lab.root, "fsck", "--no-progress", check=False)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        # the next run: another edit, which must work
        after = f"next-{trial}-{lab.rng.randrange(10**9):09d}"
        wanted.write_text(after)
        lab.seen.add(after)
        again = lab.gv(*args)
        if commit and again.returncode == 6 and now != head:
            # The killed run wrote the file but never committed it: the next
            # --commit refuses to commit that change unseen, and says so.
            refused += 1
            assert "uncommitted" in again.stderr, again.stderr
            git(lab.root, "commit", "-qam", "the killed edit's change")
            again = lab.gv(*args)
        assert again.returncode == 0, again.stderr
        assert lab.value("db.password") == after
        if commit:
            assert lab.head_value("db.password") == after
            assert git(lab.root, "status", "--porcelain").stdout == ""
        _no_plaintext_anywhere(lab, hermetic_env, lab.seen)
        previous = after
    print(f"edit {'--commit ' if commit else ''}: {refused} next runs refused a half-done commit")
