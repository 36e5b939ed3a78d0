"""GitHub masks must hide the value *as printed*, in every format (issue 9).

The runner replaces each registered mask where a log line contains it, line by
line. These tests run the real CLI under ``GITHUB_ACTIONS=true``, read the
``::add-mask::`` lines it prints first, apply them to the rest of its output
the way the runner does, and check that no recognisable piece of the value is
left: quotes, tabs, backslashes, newlines and non-ASCII letters each change
how a format spells the value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitvault.export.github import mask_strings

Vault = Callable[..., Path]
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "ünïcode", "golf")
# Every character some format escapes, between words that must never show.
VALUE = "alpha'bravo\"charlie\tdelta\\echo\nfoxtrot ünïcode\r\ngolf"
B64 = base64.b64encode(VALUE.encode()).decode()
_MASK = re.compile(r"::add-mask::(.*)")


def unescape(text: str) -> str:
    """The runner's workflow-command data unescaping."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def as_the_runner_shows(stdout: str) -> str:
    """Register the masks, then print every other line with each mask replaced by ***."""
    masks: list[str] = []
    shown: list[str] = []
    for line in stdout.split("\n"):
        found = _MASK.fullmatch(line)
        if found:
            masks.append(unescape(found.group(1)))
            continue
        for mask in sorted(masks, key=len, reverse=True):
            line = line.replace(mask, "***")
        shown.append(line)
    return "\n".join(shown)


def leaked_words(text: str) -> list[str]:
    """The words of the value still visible, plus "base64" when the k8s data form is."""
    leaked = [word for word in WORDS if word in text]
    return [*leaked, "base64"] if B64 in text else leaked


@pytest.mark.parametrize(
    "args",
    [
        ["-f", "env"],
        ["-f", "dotenv", "--dotenv-dialect", "python-dotenv"],
        ["-f", "json"],
        ["-f", "yaml"],
        ["-f", "k8s"],
        ["-f", "k8s", "--string-data"],
        ["-f", "k8s", "--string-data", "--k8s-output", "json"],
        ["-f", "github-env"],
    ],
    ids=lambda a: "-".join(a[1:]),
)
def test_every_printed_spelling_is_masked(gv: Any, vault: Vault, args: list[str]) -> None:
    vault("secrets/app.yaml", {"app": {"secret": VALUE, "plain": "golf-" + "x" * 8}})
    result = gv("export", "secrets/app.yaml", *args, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 0, result.stderr
    stdout = result.stdout.decode("utf-8")
    assert stdout.startswith("::add-mask::")
    data = "\n".join(line for line in stdout.split("\n") if not _MASK.fullmatch(line))
    assert leaked_words(data), "the test value must really be printed"
    assert leaked_words(as_the_runner_shows(stdout)) == []


def test_exec_child_printing_the_value_is_masked(gv: Any, vault: Vault) -> None:
    vault("secrets/app.yaml", {"secret": VALUE})
    result = gv(
        "exec", "secrets/app.yaml", "--", "/bin/sh", "-c", 'printf "%s\\n" "$SECRET"',
        env={"GITHUB_ACTIONS": "true"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert leaked_words(as_the_runner_shows(result.stdout.decode("utf-8"))) == []


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("it's", "it'\\''s"),  # env: shell quoting
        ('say "hi"', 'say \\"hi\\"'),  # json / yaml double-quoted
        ("a\tb", "a\\tb"),  # json / yaml / dotenv escapes
        ("ünï", "\\u00fcn\\u00ef"),  # ASCII-escaped JSON
        ("key: it's", "'key: it''s'"),  # yaml single-quoted
        ("back\\slash it's", "back\\\\slash it\\'s"),  # dotenv single-quoted
    ],
)
def test_mask_strings_include_each_spelling(value: str, printed: str) -> None:
    strings = mask_strings([value])
    assert printed in strings and value in strings, strings


def test_each_line_of_a_multi_line_spelling_is_a_mask() -> None:
    strings = mask_strings(["first line\n  second 'line'\n"])
    assert "first line" in strings and "second 'line'" in strings
    assert all("\n" not in s and "\r" not in s for s in strings)
