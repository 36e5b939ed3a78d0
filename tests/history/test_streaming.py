"""``due`` streams history: the same answer as the full audit, in memory that follows files.

A long history of one file (and a branch merged back) is audited both ways;
the parsed-version cache is checked to hold a few versions per path, not one
per commit.
"""

from __future__ import annotations

from pathlib import Path

from gitvault.git.log import CommitRecord, FileChange, Person
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers
from gitvault.history.audit import audit, last_changes, stream_last_changes
from gitvault.history.events import KEEP_PER_PATH, Cache, file_events
from tests.conftest import git
from tests.history.conftest import fake_decrypt, fake_file, fake_parse

F, G = "secrets/app.yaml", "secrets/other.yaml"


def commit(repo: Path, path: str, data: bytes, subject: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_bytes(data)
    git(repo, "add", path)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", subject)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def long_history(repo: Path) -> None:
    """30 rotations of F, a re-key, G on a branch merged back, a key removed."""
    values = {"a": "a0", "b": "b0", "c": "c0"}
    commit(repo, F, fake_file(values), "add")
    commit(repo, G, fake_file({"x": "x0"}), "add g")
    for n in range(1, 31):
        values["abc"[n % 3]] = f"v{n}"
        commit(repo, F, fake_file(values), f"rotate {n}")
    commit(repo, F, fake_file(values, wrap="k2"), "rekey")  # values kept, new data key
    git(repo, "checkout", "-qb", "side")
    commit(repo, G, fake_file({"x": "x1", "y": "y1"}), "side rotates g")
    git(repo, "checkout", "-q", "-")
    del values["c"]
    commit(repo, F, fake_file(values, wrap="k2"), "remove c")
    git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "merge side",
        "side",
    )


def test_streamed_last_changes_equal_the_full_audit(repo: Path) -> None:
    long_history(repo)
    handle = Repository.discover(repo)
    for decrypt in (None, fake_decrypt):
        full = last_changes(audit(handle, ["secrets"], parse=fake_parse, decrypt=decrypt))
        streamed, problems = stream_last_changes(
            handle, ["secrets"], parse=fake_parse, decrypt=decrypt
        )
        assert streamed == full
        assert problems == ()
        # The answer itself: c was removed, y came from the branch, a/b rotated last.
        assert (F, "c") not in streamed and (G, "y") in streamed
        assert set(streamed) == {(F, "a"), (F, "b"), (G, "x"), (G, "y")}


def test_history_cache_keeps_a_few_versions_per_path_not_every_version(repo: Path) -> None:
    long_history(repo)
    handle = Repository.discover(repo)
    cache = Cache(handle, fake_parse, fake_decrypt)
    largest = 0
    blobs = git(repo, "log", "--format=", "--raw", "--no-abbrev", "--", F).stdout.split("\n")
    versions = {line.split()[3] for line in blobs if line.startswith(":")}
    assert len(versions) > 30
    # Walk F's history as the audit does (newest first), comparing each pair.
    record = CommitRecord("0" * 40, (), Person("t", "t@x", 0), Person("t", "t@x", 0), "m", (), ())
    for line in (ln for ln in blobs if ln.startswith(":")):
        fields = line.split()
        old = None if set(fields[2]) == {"0"} else fields[2]
        file_events(record, FileChange(F, fields[4], old, fields[3]), VaultTrailers(), cache)
        largest = max(largest, len(cache.views))
    assert largest <= KEEP_PER_PATH
    # Nothing read during the walk stays in the repository's own blob cache.
    assert not handle._blobs


def test_blob_reader_reads_blobs_and_stays_in_step_after_a_bad_id(repo: Path) -> None:
    import pytest

    from gitvault.errors import GitError
    from gitvault.git.batch import BlobReader

    commit(repo, F, fake_file({"a": "1"}), "one")
    blob = git(repo, "rev-parse", f"HEAD:{F}").stdout.strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").stdout.strip()
    with BlobReader(repo) as reader:
        assert reader.read(blob) == fake_file({"a": "1"})
        with pytest.raises(GitError, match="not a file"):
            reader.read(tree)  # its content is drained, so the next answer is the blob's
        with pytest.raises(GitError, match="missing"):
            reader.read("1" * 40)
        with pytest.raises(GitError, match="invalid object id"):
            reader.read("HEAD")  # only ids: no revision syntax reaches git
        assert reader.read(blob) == fake_file({"a": "1"})
