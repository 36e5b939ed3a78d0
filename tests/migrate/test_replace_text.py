"""The git-filter-repo replacement file: hostile values stay literal, and really go.

git-filter-repo reads ``--replace-text`` line by line: ``literal:``, ``regex:``
and ``glob:`` prefixes, and ``==>`` (split at the last one) before the
replacement. A value that looks like any of that must still be removed
byte for byte, and nothing else may be touched. Checked with the real
git-filter-repo on a real repository, and with its own parser.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import git_filter_repo
import pytest

from gitvault.migrate import rewrite as rw
from tests.migrate.conftest import git

HOSTILE = [
    "tok==>en-9f8e7d6c5b4a",  # the replacement separator inside a value
    "regex:[a-z]+secret-42",  # would be a regex without the literal: prefix
    "glob:*secret*-43xyz",  # would be a glob
    "literal:doubled-prefix-44",  # the prefix itself, as part of the value
    r"back\slash\1\g<0>-45zz",  # regex replacement escapes, if it were one
    "dots.and$anchors^(.*)-46",
    "trailing-spaces-47q   ",
    "sk_live_AAAABBBBCCCC",  # contains the next one: longest must go first
    "sk_live_AAAA",
    "-----BEGIN KEY-----\nMIIBfakefakefake48\n-----END KEY-----",  # multi-line
    "carriage\rreturn-49-value",
    "ünïcødé-pässwörd-50",
]

BAIT = [
    "qsecret-42",  # what regex:[a-z]+secret-42 would also have matched
    "anysecretthing-43xyz",  # what glob:*secret*-43xyz would have matched
    "tok==>en",  # a prefix of a value, not the value
    "dotsXand$anchors^(.*)-46",
]


def test_each_line_parses_back_to_the_value(tmp_path: Path) -> None:
    for number, value in enumerate(HOSTILE):
        raw = value.encode()
        line = rw.replace_line(raw)
        assert b"\n" not in line and b"\r" not in line
        # Parsed exactly as git-filter-repo parses its --replace-text file.
        rules = tmp_path / f"rules-{number}.txt"
        rules.write_bytes(line + b"\n")
        parsed = git_filter_repo.FilteringOptions.get_replace_text(str(rules))
        if b"\n" in raw or b"\r" in raw:
            ((regex, replacement),) = parsed["regexes"]
            assert parsed["literals"] == []
            assert replacement == rw.REPLACEMENT
            assert regex.fullmatch(raw)
            assert regex.sub(b"", b"x" + raw + b"y") == b"xy"
        else:
            assert parsed == {"literals": [(raw, rw.REPLACEMENT)], "regexes": []}


def test_empty_value_is_refused() -> None:
    with pytest.raises(ValueError):
        rw.replace_line(b"")


def test_longest_first_and_deduplicated() -> None:
    text = rw.replace_text([b"sk_live_AAAA", b"sk_live_AAAABBBBCCCC", b"sk_live_AAAA"])
    lines = text.splitlines()
    assert lines == [
        b"literal:sk_live_AAAABBBBCCCC==>***REMOVED***",
        b"literal:sk_live_AAAA==>***REMOVED***",
    ]


def test_real_filter_repo_removes_exactly_the_values(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    body = "".join(f"before {v} after\n" for v in HOSTILE) + "".join(f"keep {b}\n" for b in BAIT)
    (work / "config.txt").write_text(body, encoding="utf-8", newline="")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "values")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", "--no-local", str(work), str(mirror))
    rules = tmp_path / "rules.txt"
    rules.write_bytes(rw.replace_text([v.encode() for v in HOSTILE]))
    rw._run_filter_repo(mirror, rules)
    content = subprocess.run(
        ["git", "show", "HEAD:config.txt"], cwd=mirror, capture_output=True, check=True
    ).stdout
    for value in HOSTILE:
        assert value.encode() not in content, value
    for bait in BAIT:
        assert f"keep {bait}\n".encode() in content, bait
    # Every value line became exactly "before ***REMOVED*** after".
    assert content.count(b"before ***REMOVED*** after\n") == len(HOSTILE)
    count, survivors = rw.scan_objects(
        mirror, [(str(i), v.encode()) for i, v in enumerate(HOSTILE)]
    )
    assert count > 0 and survivors == []


def test_scan_objects_reports_a_survivor(tmp_path: Path) -> None:
    """The re-scan is not a rubber stamp: a binary blob filter-repo skips is reported."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    secret = b"Zx81-binary-held-secret-value"
    (work / "blob.bin").write_bytes(b"\0\1\2" + secret + b"\0")
    (work / "a.txt").write_bytes(b"x=" + secret + b"\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "values")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", "--no-local", str(work), str(mirror))
    rules = tmp_path / "rules.txt"
    rules.write_bytes(rw.replace_text([secret]))
    rw._run_filter_repo(mirror, rules)
    _count, survivors = rw.scan_objects(mirror, [("s1", secret)])
    assert len(survivors) == 1 and survivors[0].kind == "blob"
    assert survivors[0].secrets == ["s1"]
