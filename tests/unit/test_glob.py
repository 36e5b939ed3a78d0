"""The linear-time glob matcher against a regex reference, and its malformed inputs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.policy import glob_to_regex
from gitvault.policy.glob import compile_glob
from gitvault.scan.pathmatch import matches


def _reference(pattern: str) -> re.Pattern[str]:
    """The regex the old matcher built (classes never match '/'), as a reference."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            out.append(f"(?!/)[{'^' if neg else ''}{re.escape(body).replace(chr(92) + '-', '-')}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


_PIECES = st.sampled_from(["**", "**/", "*", "?", "a", "b", "/", ".", "[ab]", "[!a]", "[a-b]"])


@given(st.lists(_PIECES, min_size=1, max_size=6).map("".join), st.text("ab/.", max_size=9))
def test_matches_like_the_reference(pattern: str, path: str) -> None:
    assert compile_glob(pattern).fullmatch(path) == bool(_reference(pattern).fullmatch(path))


def test_nested_stars_cost_linear_work() -> None:
    # Would take years with a backtracking regex; the NFA answers at once.
    glob = compile_glob("x/" + "a*" * 40 + "b")
    assert not glob.fullmatch("x/" + "a" * 200)
    assert glob.fullmatch("x/" + "a" * 200 + "b")


@pytest.mark.parametrize("bad", ["secrets/[]", "secrets/[!]", "x/[z-a]"])
def test_malformed_classes_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput, match="invalid glob"):
        compile_glob(bad)


def test_unclosed_bracket_is_literal() -> None:
    assert compile_glob("a[b").fullmatch("a[b")


def test_glob_to_regex_keeps_its_fullmatch_interface() -> None:
    assert glob_to_regex("secrets/**").fullmatch("secrets/a/b.yaml")
    assert not glob_to_regex("secrets/*").fullmatch("secrets/a/b.yaml")


def test_excludes_keep_their_gitignore_meaning() -> None:
    assert matches("vendor/x/y.js", ["vendor/"])
    assert matches("a/b/c.min.js", ["*.min.js"])
    assert not matches("src/vendor.js", ["/vendor/"])
    assert matches("tests/a/b.py", ["tests/**"])
    assert matches("a[1].txt", ["a[1].txt"])  # '[' is literal in excludes
    assert not matches("x/" + "a" * 300, ["x/" + "a*" * 40 + "b"])
