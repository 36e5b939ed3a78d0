"""The commands that only read vault files handle JSON, dotenv and binary files too:
verify, export, exec, the git diff driver (textconv), log and review."""

from __future__ import annotations

import json
import sys

import pytest

from tests.formats.conftest import FormatVault, gv_bytes

FILES = {
    "app.json": b'{"db": {"password": "hunter2"}, "port": 5432}',
    "app.env": b"DB_PASSWORD=hunter2\nPORT=5432\n",
    "blob.bin": b"hunter2",
}


@pytest.fixture
def three(fvault: FormatVault) -> FormatVault:
    for name, plain in FILES.items():
        fvault.sops_encrypt(name, plain)
    fvault.commit("add three formats")
    return fvault


def test_verify_reads_every_format(three: FormatVault) -> None:
    code, out, err = gv_bytes(["verify", "--json"], cwd=three.root)
    assert code == 0, err
    report = json.loads(out)
    files = {f["file"]: f for f in report["files"]}
    assert set(files) >= {f"secrets/{n}" for n in FILES}
    assert all(files[f"secrets/{n}"]["checks"]["mac"] == "ok" for n in FILES)


def test_verify_flags_a_plaintext_json_file(three: FormatVault) -> None:
    three.path("plain.json").write_text('{"password": "hunter2"}')
    code, out, _ = gv_bytes(["verify", "--json"], cwd=three.root)
    assert code == 1 and b"hunter2" not in out
    files = {f["file"]: f for f in json.loads(out)["files"]}
    assert files["secrets/plain.json"]["checks"]["structure"] == "plaintext"


def test_export_and_exec(three: FormatVault) -> None:
    code, out, err = gv_bytes(
        ["export", "secrets", "--format", "json", "--prefix", "secrets/app.json=J_"],
        cwd=three.root,
    )
    assert code == 0, err
    values = json.loads(out)
    # a directory holds its .json and .env vault files; binary files only when named
    assert values["DB_PASSWORD"] == "hunter2" and values["J_DB_PASSWORD"] == "hunter2"
    assert "DATA" not in values
    code, out, err = gv_bytes(["export", "secrets/blob.bin", "--format", "json"], cwd=three.root)
    assert code == 0 and json.loads(out) == {"DATA": "hunter2"}, err
    code, out, err = gv_bytes(
        [
            "exec",
            "secrets/app.env",
            "--",
            sys.executable,
            "-c",
            "import os; print(os.environ['DB_PASSWORD'])",
        ],
        cwd=three.root,
    )
    assert code == 0, err


@pytest.mark.parametrize("name", sorted(FILES))
def test_textconv_shows_plaintext_for_git_diff(three: FormatVault, name: str) -> None:
    code, out, err = gv_bytes(["textconv", str(three.path(name))], cwd=three.root)
    assert code == 0 and b"hunter2" in out, err
    # git hands textconv temp files; one without the extension is still recognised
    tmp = three.root.parent / "XXXX_blob"
    tmp.write_bytes(three.path(name).read_bytes())
    code, out, _ = gv_bytes(["textconv", str(tmp)], cwd=three.root)
    assert code == 0 and b"hunter2" in out


CHANGED = (("app.json", "db.password"), ("app.env", "DB_PASSWORD"), ("blob.bin", "data"))


def test_log_and_review_see_key_changes(three: FormatVault) -> None:
    for name, key in CHANGED:
        assert gv_bytes(["set", str(three.path(name)), key, "changed"], cwd=three.root)[0] == 0
    three.commit("rotate by hand")
    code, out, err = gv_bytes(["log", "secrets", "--json"], cwd=three.root)
    assert code == 0, err
    events = {(e["file"], e["key"], e["kind"]) for e in json.loads(out)["events"]}
    for name, key in CHANGED:
        kinds = {k for f, p, k in events if f == f"secrets/{name}" and p == key}
        assert "added" in kinds and len(kinds) >= 2, (name, sorted(events))
    code, out, err = gv_bytes(["review", "HEAD~1..HEAD", "--format", "json"], cwd=three.root)
    assert code in (0, 1), err
    assert b"hunter2" not in out and b"secrets/app.json" in out and b"secrets/app.env" in out
