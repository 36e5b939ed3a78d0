"""previous_version: the file before a key's latest rotation, within a grace period."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

from gitvault.git.repo import Repository
from gitvault.history.previous import previous_version
from tests.conftest import git
from tests.history.conftest import fake_file, fake_parse

F = "secrets/app.yaml"


def put(repo: Path, data: bytes, message: str, when: int) -> None:
    (repo / "secrets").mkdir(exist_ok=True)
    (repo / F).write_bytes(data)
    git(repo, "add", F)
    stamp = f"@{when} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, env=env, check=True)


def test_previous_version_within_grace(repo: Path) -> None:
    day = 86400
    put(repo, fake_file({"pw": "one", "other": "x"}), "add", 100 * day)
    put(repo, fake_file({"pw": "two", "other": "x"}), "rotate pw", 110 * day)
    put(repo, fake_file({"pw": "two", "other": "y"}), "change other", 111 * day)
    put(repo, fake_file({"pw": "two", "other": "y"}, wrap="k2"), "rekey", 112 * day)
    wrapped = Repository.discover(repo)

    found = previous_version(
        wrapped, F, "pw", parse=fake_parse, now=113 * day, grace=timedelta(days=7)
    )
    assert found is not None and found.rotated_at == 110 * day
    assert fake_parse(found.data, F).leaves["pw"] == "ENC[one|k1]"
    assert (
        previous_version(wrapped, F, "pw", parse=fake_parse, now=120 * day, grace=timedelta(days=7))
        is None
    )
    # "other" changed at day 111; "missing" never existed; an added-only key has no previous.
    other = previous_version(
        wrapped, F, "other", parse=fake_parse, now=113 * day, grace=timedelta(days=30)
    )
    assert other is not None and other.rotated_at == 111 * day
    assert (
        previous_version(
            wrapped, F, "missing", parse=fake_parse, now=113 * day, grace=timedelta(days=30)
        )
        is None
    )
    put(repo, fake_file({"pw": "two", "other": "y", "new": "n"}, wrap="k2"), "add new", 113 * day)
    assert (
        previous_version(
            wrapped, F, "new", parse=fake_parse, now=113 * day, grace=timedelta(days=30)
        )
        is None
    )
