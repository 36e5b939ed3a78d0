"""Alternating ``gitvault set`` and ``sops set`` (and edit) changes only what changed.

A set of one key rewrites that value's line, ``mac`` and ``lastmodified``;
every other line (other values' ciphertexts, metadata, layout) stays
byte-identical whichever tool wrote the file before.
"""

from __future__ import annotations

import json

import pytest

from tests.formats.conftest import FormatVault, changed_lines, script_editor
from tests.helpers import run_cli

JSON_PLAIN = json.dumps(
    {
        "db": {"user": "app", "password": "hunter2", "port": 5432, "ratio": 0.25},
        "hosts": ["a.internal", "b.internal"],
        "enabled": True,
        "note_unencrypted": "left in plaintext",
        "empty": "",
        "nothing": None,
    }
).encode()
DOTENV_PLAIN = b"# app settings\nDB_USER=app\nDB_PASSWORD=hunter2\nAPI_TOKEN=tok-abc\nEMPTY=\n"


def _meta_line(line: str) -> bool:
    return any(m in line for m in ('"mac"', '"lastmodified"', "sops_mac=", "sops_lastmodified="))


def _only(before: bytes, after: bytes, key_marker: str) -> None:
    lines = changed_lines(before, after)
    value_lines = [ln for ln in lines if not _meta_line(ln)]
    assert len(value_lines) == 1 and key_marker in value_lines[0], lines
    assert any('"mac"' in ln or "sops_mac=" in ln for ln in lines)


@pytest.mark.parametrize("origin", ["sops", "gitvault"])
def test_json_alternating_sets(fvault: FormatVault, origin: str) -> None:
    make = fvault.sops_encrypt if origin == "sops" else fvault.gv_encrypt
    path = make("app.json", JSON_PLAIN)
    steps = [
        ("gitvault", "db.password", "n3w-1"),
        ("sops", '["db"]["user"]', '"admin"'),
        ("gitvault", "db.user", "root"),
        ("sops", '["db"]["password"]', '"n3w-2"'),
        ("gitvault", "enabled", "false"),
    ]
    for tool, key, value in steps:
        before = path.read_bytes()
        if tool == "gitvault":
            extra = ["--type", "bool"] if key == "enabled" else []
            r = run_cli(["set", str(path), key, value, *extra], cwd=fvault.root)
            assert r.code == 0, r.output
        else:
            fvault.sops("set", str(path), key, value)
        leaf = key.replace('"', "").replace("[", ".").replace("]", "").split(".")[-1]
        _only(before, path.read_bytes(), f'"{leaf}"')
    out = json.loads(fvault.sops("decrypt", str(path)))
    assert out["db"] == {"user": "root", "password": "n3w-2", "port": 5432, "ratio": 0.25}
    assert out["enabled"] is False and out["hosts"] == ["a.internal", "b.internal"]


@pytest.mark.parametrize("origin", ["sops", "gitvault"])
def test_dotenv_alternating_sets(fvault: FormatVault, origin: str) -> None:
    make = fvault.sops_encrypt if origin == "sops" else fvault.gv_encrypt
    path = make("app.env", DOTENV_PLAIN)
    for i, (tool, key) in enumerate(
        [("gitvault", "DB_PASSWORD"), ("sops", "API_TOKEN"), ("gitvault", "DB_USER")] * 2
    ):
        before = path.read_bytes()
        if tool == "gitvault":
            r = run_cli(["set", str(path), key, f"v{i}"], cwd=fvault.root)
            assert r.code == 0, r.output
        else:
            fvault.sops("set", str(path), f'["{key}"]', f'"v{i}"')
        _only(before, path.read_bytes(), f"{key}=")
    assert fvault.sops("decrypt", str(path)) == (
        b"# app settings\nDB_USER=v5\nDB_PASSWORD=v3\nAPI_TOKEN=v4\nEMPTY=\n"
    )


def test_binary_alternating_sets(fvault: FormatVault) -> None:
    path = fvault.sops_encrypt("blob.bin", b"first\x00\xff")
    # sops's first rewrite of a file it encrypted as binary adds the default
    # unencrypted_suffix line; gitvault's does the same, so start after one.
    fvault.sops("set", str(path), '["data"]', '"second"')
    for i, tool in enumerate(["gitvault", "sops", "gitvault"]):
        before = path.read_bytes()
        if tool == "gitvault":
            r = run_cli(["set", str(path), "data", f"payload-{i}"], cwd=fvault.root)
            assert r.code == 0, r.output
        else:
            fvault.sops("set", str(path), '["data"]', f'"payload-{i}"')
        _only(before, path.read_bytes(), '"data"')
    assert fvault.sops("decrypt", str(path)) == b"payload-2"


def test_noop_gitvault_rewrite_of_sops_files_is_identical(fvault: FormatVault) -> None:
    """Setting a value to what it already is writes nothing; an unset+set round trip
    through unchanged values keeps every other ciphertext."""
    for name, plain in (("app.json", JSON_PLAIN), ("app.env", DOTENV_PLAIN)):
        path = fvault.sops_encrypt(name, plain)
        before = path.read_bytes()
        key = "db.user" if name.endswith(".json") else "DB_USER"
        r = run_cli(["set", str(path), key, "app"], cwd=fvault.root)
        assert r.code == 0 and "nothing written" in r.stderr
        assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "plain", "old", "new"),
    [
        ("app.json", JSON_PLAIN, "hunter2", "edited-pw"),
        ("app.env", DOTENV_PLAIN, "hunter2", "edited-pw"),
        ("blob.bin", b"line one\nhunter2\n", "hunter2", "edited-pw"),
    ],
)
def test_edit_with_scripted_editor_both_tools(
    fvault: FormatVault,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    plain: bytes,
    old: str,
    new: str,
) -> None:
    """``sops edit`` and ``gitvault edit`` with the same scripted $EDITOR: each reads
    the other's file, shows the plaintext in the file's format, and changes one line."""
    path = fvault.sops_encrypt(name, plain)
    editor = script_editor(
        fvault.root.parent,
        f"t = path.read_text(); assert {old!r} in t, t; path.write_text(t.replace({old!r}, {new!r}))",
    )
    monkeypatch.setenv("EDITOR", editor)
    monkeypatch.delenv("VISUAL", raising=False)
    before = path.read_bytes()
    r = run_cli(["edit", str(path)], cwd=fvault.root)
    assert r.code == 0, r.output
    after = path.read_bytes()
    _same(fvault.sops("decrypt", str(path)), plain.replace(old.encode(), new.encode()), name)
    if name != "blob.bin":  # a binary file is one value: everything but layout changes
        _only(before, after, "")
    # and back: sops edits the file gitvault wrote
    editor_back = script_editor(
        fvault.root.parent,
        f"t = path.read_text(); path.write_text(t.replace({new!r}, {old!r}))",
        name="back.py",
    )
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(
        SOPS_AGE_KEY_FILE=str(fvault.key.file), SOPS_DISABLE_VERSION_CHECK="1", EDITOR=editor_back
    )
    proc = subprocess.run(["sops", "edit", str(path)], env=env, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[:300]
    code_out = run_cli(["decrypt", str(path)], cwd=fvault.root)
    assert code_out.code == 0
    _same(code_out.stdout.encode(), plain, name)


def _same(out: bytes, plain: bytes, name: str) -> None:
    if name.endswith(".json"):
        assert json.loads(out) == json.loads(plain)
    else:
        assert out == plain
