"""The configuration is validated once: every mistake is exit 5 naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitvault.agent.config import parse
from gitvault.agent.fields import parse_duration
from gitvault.errors import BadInput


def _base(tmp_path: Path, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "remote": "/srv/git/vault.git",
        "checkout": str(tmp_path / "clone"),
        "outputs": [{"name": "db", "path": str(tmp_path / "out/db.json"), "files": ["s/a.yaml"]}],
    }
    doc.update(top)
    return doc


def _out(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    out = {"name": "db", "path": str(tmp_path / "out/db.json"), "files": ["s/a.yaml"]}
    out.update(fields)
    return out


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    cfg = parse(
        _base(tmp_path, checkout="clone", status="st.json", identity="k.txt"),
        tmp_path / "etc" / "agent.yaml",
    )
    assert cfg.checkout == tmp_path / "etc" / "clone"
    assert cfg.status == tmp_path / "etc" / "st.json"
    assert cfg.identity == tmp_path / "etc" / "k.txt"
    assert (cfg.interval, cfg.jitter, cfg.branch) == (30.0, 0.1, "main")
    (o,) = cfg.outputs
    assert (o.format, o.mode, o.switch_group) == ("json", 0o600, "output:db")


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"require_signed_bi": ["a"]}, "require_signed_bi"),
        ({"remote": "--upload-pack=evil"}, "remote"),
        ({"remote": "ext::sh -c evil"}, "remote"),
        ({"branch": "main..x"}, "branch"),
        ({"interval": "soon"}, "interval"),
        ({"jitter": 2}, "jitter"),
        ({"trigger": {"listen": "0.0.0.0:8787", "token_file": "t"}}, "loopback"),
        ({"trigger": {"listen": "10.0.0.1:8787", "token_file": "t"}}, "loopback"),
        ({"trigger": {"listen": "127.0.0.1", "token_file": "t"}}, "HOST:PORT"),
        ({"outputs": []}, "outputs"),
    ],
)
def test_top_level_mistakes(tmp_path: Path, change: dict[str, Any], word: str) -> None:
    with pytest.raises(BadInput) as err:
        parse(_base(tmp_path, **change), tmp_path / "agent.yaml")
    assert word in err.value.message


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"mode": "0644"}, "others"),
        ({"mode": "0200"}, "owner"),
        ({"mode": "rw"}, "octal"),
        ({"format": "xml"}, "format"),
        ({"format": "template"}, "template"),
        ({"template": "x.j2"}, "only for format: template"),
        ({"files": ["../outside.yaml"]}, "inside the repository"),
        ({"files": ["/etc/passwd"]}, "inside the repository"),
        ({"name": "bad name"}, "name"),
        ({"notify": {"signal": "HUP"}}, "pid"),
        ({"notify": {"signal": "HUP", "pid": 1}}, "above 1"),
        ({"notify": {"signal": "NOPE", "pid": 5}}, "unknown signal"),
        ({"notify": {"command": ["x"], "child": "HUP"}}, "exactly one"),
        ({"notify": {"child": "WHATEVER"}}, "unknown signal"),
        ({"health": {"timeout": "5s"}}, "command"),
        ({"health": {"command": ["x"], "attempts": 0}}, "attempts"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_output_mistakes(tmp_path: Path, fields: dict[str, Any], word: str) -> None:
    with pytest.raises(BadInput) as err:
        parse(_base(tmp_path, outputs=[_out(tmp_path, **fields)]), tmp_path / "agent.yaml")
    assert word in err.value.message


def test_outputs_must_be_distinct_and_outside_the_checkout(tmp_path: Path) -> None:
    two = [_out(tmp_path), _out(tmp_path, name="other")]
    with pytest.raises(BadInput, match="same path"):
        parse(_base(tmp_path, outputs=two), tmp_path / "a.yaml")
    inside = [_out(tmp_path, path=str(tmp_path / "clone" / "x.json"))]
    with pytest.raises(BadInput, match="inside the agent's checkout"):
        parse(_base(tmp_path, outputs=inside), tmp_path / "a.yaml")


def test_durations() -> None:
    assert parse_duration("500ms", "x") == 0.5
    assert parse_duration("2m", "x") == 120.0
    assert parse_duration(3, "x") == 3.0
    for bad in ("-1s", "1d", "", True, "8h" * 2):
        with pytest.raises(BadInput):
            parse_duration(bad, "x")
