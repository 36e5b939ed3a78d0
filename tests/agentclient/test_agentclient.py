"""gitvault.agentclient: reading the agent's outputs and noticing new versions.

Round trips go through gitvault's own renderers (export/dotenv.py, env.py,
jsonfmt.py), so the reader parses exactly what the agent writes. Files are
replaced the way the agent replaces them (gitvault.fsutil.atomic_write).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitvault import agentclient
from gitvault.agentclient import OutputError, OutputWatcher, parse_output, read_output
from gitvault.errors import BadInput
from gitvault.export.dotenv import dotenv_quote, portable_quote
from gitvault.export.env import shell_quote
from gitvault.fsutil import atomic_write

SECRET = "s3cr3t-VALUE-must-not-leak"
NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True)
# What a vault value can hold in an env file: any text without NUL; a dotenv value
# ending in a backslash with spaces or quotes is refused by the renderer.
TEXT = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40
)


def render_dotenv(values: dict[str, str]) -> str:
    return "".join(f"{k}={dotenv_quote(v, k)}\n" for k, v in values.items())


def render_env(values: dict[str, str]) -> str:
    return "".join(f"export {k}={shell_quote(v)}\n" for k, v in values.items())


def render_portable(values: dict[str, str]) -> str:
    return "".join(f"{k}={portable_quote(v, k)}\n" for k, v in values.items())


@given(st.dictionaries(NAMES, TEXT, max_size=6))
def test_portable_dotenv_round_trip(values: dict[str, str]) -> None:
    # the agent's default dotenv output (the portable dialect of `export`)
    try:
        text = render_portable(values)
    except BadInput:  # values no dotenv form carries for every reader are refused
        return
    assert parse_output(text, "dotenv") == values


@given(st.dictionaries(NAMES, TEXT, max_size=6))
def test_dotenv_round_trip(values: dict[str, str]) -> None:
    # --dotenv-dialect python-dotenv
    try:
        text = render_dotenv(values)
    except BadInput:  # the renderer refuses some trailing-backslash values
        return
    assert parse_output(text, "dotenv") == values


@given(st.dictionaries(NAMES, TEXT, max_size=6))
def test_env_round_trip(values: dict[str, str]) -> None:
    assert parse_output(render_env(values), "env") == values


def test_env_output_matches_what_a_shell_reads(tmp_path: Path) -> None:
    values = {"A": "it's $HOME `x`\nline2", "B": "back\\slash", "C": ""}
    f = tmp_path / "out.sh"
    f.write_text(render_env(values))
    shell = subprocess.run(
        ["sh", "-c", f'. "{f}"; printf "%s\\0%s\\0%s" "$A" "$B" "$C"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.split("\0") == [values["A"], values["B"], values["C"]]
    assert read_output(f) == values


def test_json_keeps_types(tmp_path: Path) -> None:
    f = tmp_path / "app.json"
    f.write_text(json.dumps({"DB_URL": "postgresql://u:p@/d", "PORT": 5432, "ON": True}))
    assert read_output(f) == {"DB_URL": "postgresql://u:p@/d", "PORT": 5432, "ON": True}


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("json", '{"A": "' + SECRET + '"'),
        ("json", '["' + SECRET + '"]'),
        ("dotenv", f"A='{SECRET}"),
        ("dotenv", f"A='{SECRET}' trailing"),
        ("dotenv", f"{SECRET}\n"),
        ("env", f"export A='{SECRET}"),
    ],
)
def test_malformed_output_is_refused_without_the_value(fmt: str, text: str) -> None:
    with pytest.raises(OutputError) as err:
        parse_output(text, fmt, origin="out")
    assert SECRET not in str(err.value)
    assert str(err.value).startswith("out")


def test_format_by_suffix_and_unknown_format(tmp_path: Path) -> None:
    assert agentclient.format_for(tmp_path / "a.json") == "json"
    assert agentclient.format_for(tmp_path / "a.env") == "dotenv"
    assert agentclient.format_for(tmp_path / "a.sh") == "env"
    with pytest.raises(ValueError, match="unknown output format"):
        agentclient.format_for(tmp_path / "a", "toml")


def test_missing_and_oversized_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OutputError, match="no such file"):
        read_output(tmp_path / "nope.json")
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"A": "x" * 200}))
    monkeypatch.setattr(agentclient, "MAX_BYTES", 100)
    with pytest.raises(OutputError, match="larger than 100 bytes"):
        read_output(f)


def write(path: Path, values: dict[str, object]) -> None:
    atomic_write(path, json.dumps(values).encode(), mode=0o600)


def test_watcher_sees_a_swap_and_calls_back_with_new_and_old(tmp_path: Path) -> None:
    f = tmp_path / "app.json"
    write(f, {"DB_URL": "one"})
    calls: list[tuple[dict[str, object], dict[str, object]]] = []
    w = OutputWatcher(f, on_change=lambda new, old: calls.append((new, old)))
    assert w.current == {"DB_URL": "one"}
    assert w.check() is False  # nothing new
    write(f, {"DB_URL": "two", "DB_URL_PREVIOUS": "one"})
    assert w.check() is True
    assert w.current == {"DB_URL": "two", "DB_URL_PREVIOUS": "one"}
    assert calls == [({"DB_URL": "two", "DB_URL_PREVIOUS": "one"}, {"DB_URL": "one"})]
    assert w.changes == 1
    assert agentclient.changed_keys(*calls[0]) == ["DB_URL", "DB_URL_PREVIOUS"]


def test_same_bytes_rewritten_is_not_a_change(tmp_path: Path) -> None:
    f = tmp_path / "app.json"
    write(f, {"A": "1"})
    w = OutputWatcher(f, on_change=lambda new, old: pytest.fail("no change expected"))
    _ = w.current
    digest = w.digest
    write(f, {"A": "1"})  # new inode, same bytes
    assert w.check() is False
    assert w.digest == digest


def test_broken_file_keeps_last_good_values(tmp_path: Path) -> None:
    f = tmp_path / "app.env"
    f.write_text(f"A='{SECRET}'\n")
    w = OutputWatcher(f)
    assert w.current == {"A": SECRET}
    f.write_text(f"A='{SECRET}-torn")  # a writer that is not atomic, caught half-way
    assert w.check() is False
    assert w.current == {"A": SECRET}
    assert w.last_error is not None and "unterminated quote" in w.last_error
    assert SECRET not in w.last_error
    f.unlink()
    assert w.check() is False and "no such file" in (w.last_error or "")
    f.write_text("A='fixed'\n")
    assert w.check() is True and w.current == {"A": "fixed"} and w.last_error is None


def test_polling_thread_notices_a_change(tmp_path: Path) -> None:
    f = tmp_path / "app.json"
    write(f, {"A": "1"})
    seen = threading.Event()
    w = OutputWatcher(f, on_change=lambda new, old: seen.set())
    _ = w.current
    w.start(interval=0.02)
    try:
        write(f, {"A": "2"})
        assert seen.wait(10), "the polling thread never reported the change"
    finally:
        w.stop()
    assert w.current == {"A": "2"}


def test_reader_never_sees_a_torn_file_during_rename_swaps(tmp_path: Path) -> None:
    f = tmp_path / "app.json"
    versions = [{"V": str(i), "PAD": "x" * (1000 + 37 * i)} for i in range(50)]
    write(f, versions[0])
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            write(f, versions[i % len(versions)])
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(400):
            assert read_output(f) in versions  # whole old or whole new, never a parse error
    finally:
        stop.set()
        t.join()


def test_module_is_stdlib_only_and_vendorable(tmp_path: Path) -> None:
    # An app may copy the one file: it must import with no gitvault on the path.
    src = Path(agentclient.__file__).read_text()
    (tmp_path / "vendored_client.py").write_text(src)
    code = (
        "import sys, vendored_client as c\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('gitvault', 'yaml', 'click', 'pygit2', 'cryptography', 'pyrage'))\n"
        "print(bad)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -S: no site-packages (so no installed gitvault); only the temp dir on the path.
    out = subprocess.run(
        [sys.executable, "-S", "-c", "import sys; sys.path.insert(0, '.');\n" + code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


@given(st.dictionaries(NAMES, TEXT, max_size=6))
def test_dotenv_reads_like_python_dotenv(values: dict[str, str]) -> None:
    # The agent's dotenv output is meant for python-dotenv too: both readers agree.
    import io

    from dotenv import dotenv_values

    try:
        text = render_dotenv(values)
    except BadInput:
        return
    theirs = dotenv_values(stream=io.StringIO(text), interpolate=False)
    assert parse_output(text, "dotenv") == theirs
