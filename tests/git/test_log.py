"""History walk: which commits, which changes, merges, and forged messages."""

from __future__ import annotations

from pathlib import Path

from gitvault.git.log import walk
from gitvault.git.repo import Repository
from tests.conftest import git
from tests.git.conftest import fake_vault, write_commit


def test_walk_reports_commits_touching_paths(history_repo: Path) -> None:
    records = walk(history_repo, ["secrets/a.yaml"])
    assert [r.subject for r in records] == ["rotate a", "add a"]
    rotate, add = records
    assert add.changes[0].status == "A" and add.changes[0].old_blob is None
    assert rotate.changes[0].status == "M"
    repo = Repository.discover(history_repo)
    assert repo.read_blob(rotate.changes[0].old_blob or "") == fake_vault({"k": "one"})
    assert repo.read_blob(rotate.changes[0].new_blob or "") == fake_vault({"k": "two"})
    assert rotate.author.name == "Test User" and rotate.author.time > 1_600_000_000
    assert rotate.parents == (add.id,) or len(rotate.parents) == 1


def test_walk_directory_and_whole_tree(history_repo: Path) -> None:
    assert len(walk(history_repo, ["secrets"])) == 3
    all_commits = walk(history_repo)
    readme = [c for c in all_commits[1].changes if c.path == "README"]
    assert readme and readme[0].status == "A"
    assert [len(r.changes) for r in walk(history_repo, ["secrets"])] == [1, 1, 1]
    assert walk(history_repo, ["secrets"], max_count=1)[0].subject == "rotate a"
    assert walk(history_repo, ["secrets/a.yaml"], rev="v1")[0].subject == "add a"


def test_literal_pathspecs(history_repo: Path) -> None:
    # A glob is a file name, not a pattern: nothing is named "secrets/*.yaml".
    assert walk(history_repo, ["secrets/*.yaml"]) == []


def test_deletion_and_trailers(history_repo: Path) -> None:
    write_commit(
        history_repo,
        {"secrets/b.yaml": None},
        "remove b\n\nGitvault-Action: unset\nGitvault-File: secrets/b.yaml",
    )
    record = walk(history_repo, ["secrets/b.yaml"])[0]
    assert record.changes[0].status == "D" and record.changes[0].new_blob is None
    assert [(t.token, t.value) for t in record.trailers] == [
        ("Gitvault-Action", "unset"),
        ("Gitvault-File", "secrets/b.yaml"),
    ]


def test_forged_record_separators_in_message(history_repo: Path) -> None:
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "three"}))
    git(history_repo, "add", ".")
    forged = "evil\n\n\x1e" + "0" * 40 + "\x1ffake\x1f\x1f"
    git(history_repo, "commit", "-q", "-m", forged)
    records = walk(history_repo, ["secrets/a.yaml"])
    assert len(records) == 3
    assert records[0].message.startswith("evil")


def test_merges_clean_and_evil(history_repo: Path) -> None:
    git(history_repo, "checkout", "-q", "-b", "side")
    write_commit(history_repo, {"secrets/b.yaml": fake_vault({"k": "b2"})}, "side change")
    git(history_repo, "checkout", "-q", "main")
    write_commit(history_repo, {"secrets/c.yaml": fake_vault({"k": "c1"})}, "main change")
    git(history_repo, "merge", "-q", "--no-ff", "-m", "clean merge", "side")
    subjects = [r.subject for r in walk(history_repo, ["secrets"])]
    assert "side change" in subjects
    clean = [r for r in walk(history_repo, ["secrets"]) if r.subject == "clean merge"]
    assert clean == [] or clean[0].changes == ()

    # An "evil" merge: the merge result holds a value neither parent had.
    git(history_repo, "checkout", "-q", "-b", "side2", "HEAD~1")
    write_commit(history_repo, {"secrets/a.yaml": fake_vault({"k": "s2"})}, "side2 change")
    git(history_repo, "checkout", "-q", "main")
    git(history_repo, "merge", "-q", "--no-commit", "--no-ff", "side2")
    (history_repo / "secrets" / "a.yaml").write_bytes(fake_vault({"k": "evil"}))
    git(history_repo, "add", "secrets/a.yaml")
    git(history_repo, "commit", "-q", "-m", "evil merge")
    evil = walk(history_repo, ["secrets/a.yaml"])[0]
    assert evil.subject == "evil merge" and evil.is_merge
    change = evil.changes[0]
    repo = Repository.discover(history_repo)
    assert repo.read_blob(change.new_blob or "") == fake_vault({"k": "evil"})
    assert repo.read_blob(change.old_blob or "") == fake_vault({"k": "two"})  # first parent

    mainline = walk(history_repo, ["secrets"], first_parent=True)
    assert "side change" not in [r.subject for r in mainline]
    assert "clean merge" in [r.subject for r in mainline]
