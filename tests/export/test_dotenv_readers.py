"""``export --format dotenv`` read back by every common reader, exactly.

The readers are the real ones where they run here: a POSIX shell (``dash``:
``set -a; . ./.env``), python-dotenv with its default interpolation on, and
Node's ``dotenv`` package from npm (installed into ``.cache/node`` on first use).
docker compose does not run here; its reader is modelled from compose-go's
``dotenv/parser.go`` (quoted values only: the portable output always quotes).

For every generated value the output is either read back exactly by all of
them, or refused by key name with exit-5 semantics, and a refusal happens only
when neither quoting form would have been read back exactly by all readers.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import dotenv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions, get_format
from gitvault.export.dotenv import portable_quote
from gitvault.export.model import Source, collect
from tests import npm

TRICKY = "'\"\\$`{}!#= \n\r\t\x01é€%:-ab"


@pytest.fixture(scope="session")
def node_dotenv() -> Path:
    """The npm ``dotenv`` package (the real one; see tests/npm.py)."""
    return npm.module_dir("dotenv")


def read_node(text: str, module: Path, tmp: Path) -> dict[str, str]:
    path = tmp / "node.env"
    path.write_bytes(text.encode())
    script = (
        f"const d=require({json.dumps(str(module))});"
        f"process.stdout.write(JSON.stringify(d.parse(require('fs').readFileSync({json.dumps(str(path))}))))"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, check=True).stdout
    result: dict[str, str] = json.loads(out)
    return result


def read_shell(text: str, names: list[str], tmp: Path) -> dict[str, str]:
    path = tmp / "sh.env"
    path.write_bytes(text.encode())
    probe = 'set -a; . "$1"; shift; for n in "$@"; do eval "printf \'%s\\0\' \\"\\$$n\\""; done'
    env = {"PATH": os.environ["PATH"]}
    out = subprocess.run(
        ["sh", "-c", probe, "sh", str(path), *names], capture_output=True, check=True, env=env
    ).stdout
    return dict(zip(names, out.decode().split("\0")[:-1], strict=True))


def read_python(text: str) -> dict[str, str | None]:
    # Default settings: interpolation on, as an application calling load_dotenv() gets.
    return dict(dotenv.dotenv_values(stream=io.StringIO(text)))


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def read_compose(text: str) -> dict[str, str]:
    """compose-go's rules for quoted values (a model: docker does not run here).

    Single quotes: literal, ``\\'`` is a quote, other backslashes kept. Double
    quotes: ``\\"`` a quote, escapes expanded, then ``$NAME``/``${NAME}``
    interpolated (from an empty environment here, so any ``$`` changes the value).
    """
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(['\"])").match(text, pos)
        assert m, f"unexpected line at {pos}: {text[pos : pos + 20]!r}"
        quote = m.group(2)
        i = m.end()
        chars: list[str] = []
        escaped = False
        while True:
            c = text[i]
            i += 1
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                    continue
                if escaped:
                    escaped = False
                    chars.append("\\")
                chars.append(c)
                continue
            if escaped:
                escaped = False
                chars.append(c)
                continue
            break
        value = "".join(chars)
        if quote == '"':
            value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(0)), value)
            value = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "", value)
        out[m.group(1)] = value
        assert text[i] == "\n"
        pos = i + 1
    return out


def every_reader(
    text: str, names: list[str], module: Path, tmp: Path
) -> list[dict[str, str | None]]:
    return [
        read_shell(text, names, tmp),
        read_python(text),
        dict(read_node(text, module, tmp)),
        dict(read_compose(text)),
    ]


def render(values: dict[str, str]) -> str:
    variables = collect([Source("t.yaml", [values])])
    return get_format("dotenv").render(variables, RenderOptions())


FIXED = {
    "plain": "s3cr3t-value",
    "single": "it's",
    "dollar": "pa$$word $HOME",
    "backslash": "C:\\path\\to",
    "newlines": "line1\nline2\n",
    "spaces": "  padded  ",
    "hash": "# not a comment",
    "json": '{"user": "app", "port": 5432}',
    "empty": "",
    "unicode": "pässwörd€😀",
}


def test_fixed_values_read_back_by_every_reader(node_dotenv: Path, tmp_path: Path) -> None:
    text = render(FIXED)
    want = {k.upper(): v for k, v in FIXED.items()}
    for got in every_reader(text, list(want), node_dotenv, tmp_path):
        assert got == want


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("both ' and \"", "single quote"),
        ("it's $HOME", "single quote"),
        ("x${HOME}", "${"),
        ("a\\\\b", "backslashes"),
        ("trailing\\", "backslash"),
        ("cr\rhere", "carriage return"),
    ],
)
def test_values_no_common_form_carries_are_refused_by_name(value: str, reason: str) -> None:
    with pytest.raises(BadInput) as err:
        render({"token": value})
    assert "t.yaml:token" in err.value.message
    assert reason in err.value.message
    assert value not in err.value.message


def _readers_agree(line_value: str, value: str, module: Path, tmp: Path) -> bool:
    text = f"K={line_value}\n"
    try:
        return all(got.get("K") == value for got in every_reader(text, ["K"], module, tmp))
    except (subprocess.CalledProcessError, AssertionError, IndexError, ValueError):
        return False


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from(TRICKY), max_size=12))
def test_generated_values_read_back_or_refused_only_when_needed(
    node_dotenv: Path, tmp_path: Path, value: str
) -> None:
    try:
        quoted = portable_quote(value, "t.yaml:k")
    except BadInput:
        # Refused: then neither quoting form is read back exactly by every reader.
        for candidate in (f"'{value}'", f'"{value}"'):
            assert not _readers_agree(candidate, value, node_dotenv, tmp_path), candidate
        return
    assert _readers_agree(quoted, value, node_dotenv, tmp_path), quoted
