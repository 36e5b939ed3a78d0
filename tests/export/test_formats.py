"""Every format parses back to exactly the exported values.

env: bash evaluates the output; dotenv: python-dotenv reads it (from a stream
and from a file in text mode); json: json.loads; yaml: gitvault's own go-yaml
typed loader. Values are generated (hypothesis) over the characters that make
quoting hard: quotes, backslashes, ``$``, newlines, CR, tabs, unicode.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import dotenv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.export.base import FORMATS, RenderOptions, get_format
from gitvault.export.dotenv import dotenv_quote
from gitvault.export.jsonfmt import is_unicode_text
from gitvault.export.model import Source, Variable, collect
from gitvault.model import to_python
from gitvault.yamlio import load_documents

TRICKY = "'\"\\$`{}!#= \n\r\t\x01\x7fé€😀%:-"
texts = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(blacklist_characters="\x00"))
scalars = st.one_of(
    texts,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
FIXED = {
    "quotes": 'it\'s "quoted"',
    "dollar": "pa$$word $HOME ${HOME} $(id) `id`",
    "backslash": "a\\b\\\\c\\'d\\\"e\\n",
    "newlines": "line1\nline2\n\nline4\n",
    "crlf": "a\r\nb\rc",
    "empty": "",
    "spaces": "  padded  ",
    "hash": "# not a comment",
}


def variables_of(values: dict[str, object]) -> list[Variable]:
    return collect([Source("t.yaml", [values])])


def render(fmt: str, variables: list[Variable]) -> str:
    return get_format(fmt).render(variables, RenderOptions())


def render_py(variables: list[Variable]) -> str:
    """dotenv in the python-dotenv dialect (the portable default is tested in test_dotenv_readers)."""
    return get_format("dotenv").render(variables, RenderOptions(dotenv_dialect="python-dotenv"))


def eval_in_bash(script: str, names: list[str], tmp_path: Path) -> dict[str, str]:
    """Source ``script`` in bash and read back each variable (NUL-separated)."""
    path = tmp_path / "out.sh"
    path.write_text(script)
    probe = 'eval "$(cat "$1")"; shift; for n in "$@"; do printf "%s\\0" "${!n}"; done'
    out = subprocess.run(
        ["bash", "-c", probe, "bash", str(path), *names], capture_output=True, check=True
    ).stdout
    return dict(zip(names, out.decode("utf-8", "surrogateescape").split("\0")[:-1], strict=True))


def test_every_format_is_registered() -> None:
    for name in FORMATS:
        assert get_format(name).name == name
    with pytest.raises(BadInput):
        get_format("toml")


# ------------------------------------------------------------------------ env


def test_env_fixed_values_round_trip_through_bash(tmp_path: Path) -> None:
    variables = variables_of(FIXED)
    script = render("env", variables)
    assert all(line.startswith("export ") for line in script.splitlines() if "=" in line[:40])
    got = eval_in_bash(script, [v.name for v in variables], tmp_path)
    assert got == {v.name: v.text for v in variables}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(scalars, min_size=1, max_size=12))
def test_env_round_trips_through_bash(tmp_path: Path, values: list[object]) -> None:
    variables = variables_of({f"k{i}": v for i, v in enumerate(values)})
    got = eval_in_bash(render("env", variables), [v.name for v in variables], tmp_path)
    assert got == {v.name: v.text for v in variables}


def test_env_refuses_nul_without_naming_the_value() -> None:
    with pytest.raises(BadInput) as info:
        render("env", variables_of({"k": "se\x00cret"}))
    assert "t.yaml:k" in str(info.value)
    assert "cret" not in str(info.value)


# --------------------------------------------------------------------- dotenv


def read_dotenv(text: str, interpolate: bool) -> dict[str, str | None]:
    return dict(dotenv.dotenv_values(stream=io.StringIO(text), interpolate=interpolate))


def test_dotenv_fixed_values_round_trip(tmp_path: Path) -> None:
    variables = variables_of(FIXED)
    text = render_py(variables)
    expected = {v.name: v.text for v in variables}
    assert read_dotenv(text, interpolate=False) == expected
    # From a real file opened in text mode too (universal newlines must not eat a CR).
    path = tmp_path / ".env"
    path.write_text(text)
    assert dict(dotenv.dotenv_values(path, interpolate=False)) == expected


def test_dotenv_dollar_survives_default_interpolation() -> None:
    """Only ``${NAME}`` is expanded by python-dotenv; a lone ``$`` or ``$NAME`` is kept."""
    values = {"a": "pa$$word", "b": "$HOME/x", "c": "100$", "d": "$"}
    text = render_py(variables_of(values))
    assert read_dotenv(text, interpolate=True) == {k.upper(): v for k, v in values.items()}


def test_dotenv_plain_values_are_single_quoted() -> None:
    assert render_py(variables_of({"a": "x y $z"})) == "A='x y $z'\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=12))
def test_dotenv_round_trips(values: list[object]) -> None:
    variables = variables_of({f"k{i}": v for i, v in enumerate(values)})
    representable = [v for v in variables if not _unrepresentable(v.text)]
    text = render_py(representable)
    assert read_dotenv(text, interpolate=False) == {v.name: v.text for v in representable}


def _unrepresentable(text: str) -> bool:
    try:
        dotenv_quote(text, "x")
    except BadInput:
        return True
    return False


def test_dotenv_trailing_backslash() -> None:
    assert dotenv_quote("abc\\", "k") == "abc\\"
    assert read_dotenv(render_py(variables_of({"k": "abc\\", "j": "'"})), False) == {
        "K": "abc\\",
        "J": "'",
    }
    with pytest.raises(BadInput, match="backslash"):
        dotenv_quote("has space\\", "t.yaml:k")


# ----------------------------------------------------------------- json, yaml


@settings(max_examples=200, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=12))
def test_json_round_trips_with_types(values: list[object]) -> None:
    variables = variables_of({f"k{i}": v for i, v in enumerate(values)})
    if not all(is_unicode_text(v) for v in values if isinstance(v, str)):
        with pytest.raises(BadInput, match="not UTF-8 text"):
            render("json", variables)
        return
    assert json.loads(render("json", variables)) == {v.name: v.value for v in variables}


def test_json_refuses_nan() -> None:
    with pytest.raises(BadInput, match=r"t\.yaml:k"):
        render("json", variables_of({"k": float("nan")}))


@settings(max_examples=200, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=12))
def test_yaml_round_trips_with_types(values: list[object]) -> None:
    variables = variables_of({f"k{i}": v for i, v in enumerate(values)})
    if not all(is_unicode_text(v) for v in values if isinstance(v, str)):
        # Undecodable bytes (surrogate escapes) cannot be written as YAML text.
        with pytest.raises(BadInput, match="not UTF-8 text"):
            render("yaml", variables)
        return
    back = to_python(load_documents(render("yaml", variables))[0])
    assert back == {v.name: v.value for v in variables}


def test_json_and_yaml_refuse_undecodable_bytes_by_name() -> None:
    for fmt in ("json", "yaml"):
        with pytest.raises(BadInput, match=r"t\.yaml:k holds bytes") as err:
            render(fmt, variables_of({"k": "ab\udc80cd"}))
        assert "ab" not in str(err.value).split("holds")[1]


@pytest.mark.parametrize("value", ["\t\n", "\t\t\n", "\t\nx"])
def test_yaml_value_whose_first_line_is_only_tabs(value: str) -> None:
    """A literal block starting with a tab needs an indentation indicator to read back."""
    variables = variables_of({"k": value})
    back = to_python(load_documents(render("yaml", variables))[0])
    assert back == {"K": value}


def test_yaml_fixed_values() -> None:
    variables = variables_of({**FIXED, "n": 5, "t": True, "z": None, "s": "yes"})
    back = to_python(load_documents(render("yaml", variables))[0])
    assert back == {v.name: v.value for v in variables}
