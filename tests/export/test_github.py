"""GitHub Actions masks and the $GITHUB_ENV format."""

from __future__ import annotations

import base64
import re

from hypothesis import given
from hypothesis import strategies as st

from gitvault.export.base import RenderOptions, get_format
from gitvault.export.github import escape_data, mask_commands, mask_strings
from gitvault.export.model import Source, collect


def unescape_data(text: str) -> str:
    """What the runner does to command data (ActionCommand unescape)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_escape_data_matches_actions_core() -> None:
    assert escape_data("100%\r\n") == "100%25%0D%0A"
    assert escape_data("%0A") == "%250A"  # a literal %0A is registered as itself


@given(st.text())
def test_mask_lines_are_single_lines_that_unescape_to_the_masked_strings(value: str) -> None:
    text = mask_commands([value])
    lines = text.split("\n")[:-1] if text else []
    assert all(line.startswith("::add-mask::") for line in lines)
    assert [unescape_data(line[len("::add-mask::") :]) for line in lines] == mask_strings([value])


def test_multi_line_values_are_masked_line_by_line() -> None:
    strings = mask_strings(["-----BEGIN KEY-----\nabc\n\n-----END KEY-----\n"])
    assert "-----BEGIN KEY-----" in strings and "abc" in strings and "-----END KEY-----" in strings
    assert all("\n" not in s for s in strings)
    assert "" not in strings


def test_single_line_value_and_its_base64_are_masked() -> None:
    strings = mask_strings(["hunter2"])
    # No format escapes anything in it: the value and the base64 k8s prints, nothing else.
    assert strings == ["hunter2", base64.b64encode(b"hunter2").decode()]


def test_github_env_blocks_cannot_be_broken_by_a_value() -> None:
    value = "line1\nOTHER=injected\nghadelimiter_x\n"
    variables = collect([Source("a.yaml", [{"k": value, "j": ""}])])
    text = get_format("github-env").render(variables, RenderOptions())
    match = re.fullmatch(
        r"K<<(ghadelimiter_[0-9a-f]{32})\n(.*)\n\1\nJ<<(ghadelimiter_[0-9a-f]{32})\n\n\3\n",
        text,
        re.S,
    )
    assert match is not None and match.group(2) == value
