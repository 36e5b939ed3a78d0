"""Every command that writes a vault file, against a file of every format.

The invariant (issue 11): a command either writes the file correctly in its
own format (the real sops decrypts it, gitvault too) or leaves it byte for
byte untouched with one error line — it never writes YAML into a JSON,
dotenv or binary file, or otherwise corrupts it. Each case also says which of
the two it must be, so a command that silently stops writing fails as well.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest

from tests.conftest import git
from tests.formats.conftest import FormatVault, gv_bytes, script_editor
from tests.helpers import run_cli

# name -> (plaintext, a key to set, a key to unset)
FILES: dict[str, tuple[bytes, str, str]] = {
    "app.yaml": (
        b"db:\n    password: hunter2\n    port: 5432\napi_token: tok\n",
        "db.password",
        "db.port",
    ),
    "app.json": (
        b'{"db": {"password": "hunter2", "port": 5432}, "api_token": "tok"}',
        "db.password",
        "db.port",
    ),
    "app.env": (b"DB_PASSWORD=hunter2\nAPI_TOKEN=tok\n", "DB_PASSWORD", "API_TOKEN"),
    "blob.bin": (b"hunter2\n\x00\xff", "data", "data"),
}


def _shape_ok(name: str, data: bytes) -> None:
    """The file is still in its own format (not YAML in a .json/.env/.bin file)."""
    if name.endswith((".json", ".bin")):
        doc = json.loads(data)
        assert "sops" in doc and (name.endswith(".json") or list(doc) == ["data", "sops"])
    elif name.endswith(".env"):
        assert b"\nsops_mac=ENC[" in data and b"sops:\n" not in data
    else:
        assert data.startswith((b"db:", b"api_token:")) and b"\nsops:\n" in data


def _check(fv: FormatVault, path: Path, before: bytes, expect: str, code: int, err: str) -> None:
    after = path.read_bytes()
    if expect == "untouched":
        assert after == before, f"{path.name} changed although the command failed"
        assert code != 0 and err.startswith("gitvault: error: "), err
        return
    assert code == 0, err
    assert after != before, f"{path.name}: the command wrote nothing"
    _shape_ok(path.name, after)
    fv.sops("decrypt", str(path))  # raises when the real sops cannot read it
    assert gv_bytes(["decrypt", str(path)], cwd=fv.root)[0] == 0


@pytest.fixture(params=sorted(FILES))
def one(request: pytest.FixtureRequest, fvault: FormatVault) -> tuple[FormatVault, Path, str]:
    name = request.param
    path = fvault.sops_encrypt(name, FILES[name][0])
    fvault.commit(f"add {name}")
    return fvault, path, name


def _run(fv: FormatVault, *args: str) -> tuple[int, str]:
    code, _, err = gv_bytes(list(args), cwd=fv.root)
    return code, err


def test_rotate_refuses_a_value_its_commands_cannot_get_before_writing(
    fvault: FormatVault,
) -> None:
    # The binary file's value holds a NUL, which no command environment carries:
    # refused in the check step, so the file, the index and HEAD stay as they were.
    path = fvault.sops_encrypt("blob.bin", FILES["blob.bin"][0])
    fvault.commit("add blob.bin")
    before = path.read_bytes()
    code, err = _run(
        fvault, "rotate", str(path), "data", "--generate", "password:20", "--apply", "true"
    )
    _check(fvault, path, before, "untouched", code, err)
    assert code == 5 and "NUL" in err
    assert git(fvault.root, "status", "--porcelain").stdout == ""


def test_set(one: tuple[FormatVault, Path, str]) -> None:
    fv, path, name = one
    before = path.read_bytes()
    code, err = _run(fv, "set", str(path), FILES[name][1], "new-value")
    _check(fv, path, before, "written", code, err)


def test_set_nested_key(one: tuple[FormatVault, Path, str]) -> None:
    """A nested value cannot go into a dotenv or binary file: refused, untouched."""
    fv, path, name = one
    before = path.read_bytes()
    code, err = _run(fv, "set", str(path), "extra.nested", "v")
    flat = name.endswith((".env", ".bin"))
    _check(fv, path, before, "untouched" if flat else "written", code, err)


def test_unset(one: tuple[FormatVault, Path, str]) -> None:
    fv, path, name = one
    before = path.read_bytes()
    code, err = _run(fv, "unset", str(path), FILES[name][2])
    # A binary file without its one value is not a binary file.
    _check(fv, path, before, "untouched" if name.endswith(".bin") else "written", code, err)


def test_edit(one: tuple[FormatVault, Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fv, path, _ = one
    monkeypatch.setenv(
        "EDITOR",
        script_editor(
            fv.root.parent,
            "b = path.read_bytes(); assert b'hunter2' in b; "
            "path.write_bytes(b.replace(b'hunter2', b'edited'))",
        ),
    )
    before = path.read_bytes()
    r = run_cli(["edit", str(path)], cwd=fv.root)
    _check(fv, path, before, "written", r.code, r.stderr)
    assert b"edited" in fv.sops("decrypt", str(path))


@pytest.mark.parametrize(
    ("name", "bad"), [("app.yaml", "a: ["), ("app.json", "{not json"), ("app.env", "NO_EQUALS")]
)
def test_edit_to_unstorable_content_is_rejected(
    fvault: FormatVault, monkeypatch: pytest.MonkeyPatch, name: str, bad: str
) -> None:
    """An edit whose text the format cannot hold is rejected; the file stays as it was.
    (Every byte string is a valid binary file, so binary has no such case.)"""
    path = fvault.sops_encrypt(name, FILES[name][0])
    monkeypatch.setenv("EDITOR", script_editor(fvault.root.parent, f"path.write_text({bad!r})"))
    before = path.read_bytes()
    r = run_cli(["edit", str(path)], cwd=fvault.root)
    _check(fvault, path, before, "untouched", r.code, r.stderr)


def test_rotate(one: tuple[FormatVault, Path, str]) -> None:
    fv, path, name = one
    before = path.read_bytes()
    code, err = _run(fv, "rotate", str(path), FILES[name][1], "--generate", "password:20")
    # No apply/verify command: the old value (a binary file holds a NUL) is never
    # passed to one, so every format rotates.
    _check(fv, path, before, "written", code, err)
    assert git(fv.root, "status", "--porcelain").stdout == ""  # committed


def test_rotate_binary_without_nul(fvault: FormatVault) -> None:
    path = fvault.sops_encrypt("token.bin", b"old-token-value")
    fvault.commit()
    before = path.read_bytes()
    code, err = _run(fvault, "rotate", str(path), "data", "--generate", "hex:16")
    _check(fvault, path, before, "written", code, err)
    assert len(fvault.sops("decrypt", str(path))) == 32


def test_rekey_new_data_key(one: tuple[FormatVault, Path, str]) -> None:
    fv, path, _ = one
    before = path.read_bytes()
    code, err = _run(fv, "rekey", str(path.relative_to(fv.root)))
    _check(fv, path, before, "written", code, err)


def test_recipients_add_and_rekey_recipients_only(one: tuple[FormatVault, Path, str]) -> None:
    fv, path, _ = one
    bob = pyrage.x25519.Identity.generate()
    assert _run(fv, "recipients", "add", "bob", str(bob.to_public()))[0] == 0
    policy = (fv.root / ".gitvault.yaml").read_text()
    (fv.root / ".gitvault.yaml").write_text(policy.replace("[alice]", "[alice, bob]"))
    before = path.read_bytes()
    code, err = _run(fv, "rekey", "--recipients-only", str(path.relative_to(fv.root)))
    _check(fv, path, before, "written", code, err)
    assert str(bob.to_public()) in path.read_text()


def _branch_set(fv: FormatVault, branch: str, path: Path, key: str, value: str) -> None:
    git(fv.root, "checkout", "-qb", branch, "main")
    assert _run(fv, "set", str(path), key, value)[0] == 0
    fv.commit(f"{branch}: {key}")


def test_merge_driver(one: tuple[FormatVault, Path, str]) -> None:
    """git merge with gitvault's driver: two branches set different keys (the binary
    file has only one: a conflict, reported, the file stays ours)."""
    fv, path, name = one
    _, k1, k2 = FILES[name]
    if name.endswith(".yaml") or name.endswith(".json"):
        k2 = "api_token"
    _branch_set(fv, "left", path, k1, "from-left")
    _branch_set(fv, "right", path, k2, "from-right")
    git(fv.root, "checkout", "-q", "left")
    ours = path.read_bytes()
    merged = git(fv.root, "merge", "--no-edit", "right", check=False)
    after = path.read_bytes()
    if name.endswith(".bin"):
        assert merged.returncode != 0
        assert after == ours or fv.sops("decrypt", str(path)) is not None
        _shape_ok(name, after)
        return
    assert merged.returncode == 0, merged.stdout + merged.stderr
    _shape_ok(name, after)
    plain = fv.sops("decrypt", str(path))
    assert b"from-left" in plain and b"from-right" in plain


def test_gitvault_written_files_keep_format_under_sops_set(fvault: FormatVault) -> None:
    """Created by gitvault, then set by sops and by gitvault again: still the format."""
    for name, (plain, key, _) in FILES.items():
        path = fvault.gv_encrypt(name, plain)
        _shape_ok(name, path.read_bytes())
        sops_key = "".join(f'["{p}"]' for p in key.split("."))
        fvault.sops("set", str(path), sops_key, '"by-sops"')
        assert _run(fvault, "set", str(path), key, "by-gitvault")[0] == 0
        _shape_ok(name, path.read_bytes())
        assert b"by-gitvault" in fvault.sops("decrypt", str(path))


def test_offboard(one: tuple[FormatVault, Path, str]) -> None:
    """offboard re-keys every file the person could read, each in its own format."""
    fv, path, _ = one
    bob = pyrage.x25519.Identity.generate()
    assert _run(fv, "recipients", "add", "bob", str(bob.to_public()))[0] == 0
    policy = (fv.root / ".gitvault.yaml").read_text()
    (fv.root / ".gitvault.yaml").write_text(policy.replace("[alice]", "[alice, bob]"))
    assert _run(fv, "rekey", "--recipients-only", str(path.relative_to(fv.root)))[0] == 0
    fv.commit("bob joins")
    before = path.read_bytes()
    code, err = _run(fv, "offboard", "bob", "--commit")
    assert code in (0, 1), err  # 1: keys listed as needing a human rotation
    after = path.read_bytes()
    assert after != before and str(bob.to_public()) not in after.decode()
    _shape_ok(path.name, after)
    fv.sops("decrypt", str(path))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("new.json", '{"api": {"token": "t0k"}, "n": 3}'),
        ("new.env", "API_TOKEN=t0k\nN=3\n"),
        ("new.pem", "-----BEGIN KEY-----\nt0k\n-----END KEY-----\n"),
    ],
)
def test_edit_creates_a_file_in_its_format(
    fvault: FormatVault, monkeypatch: pytest.MonkeyPatch, name: str, content: str
) -> None:
    """``gitvault edit`` of a new path: the buffer is parsed and written in the path's format
    (the note line on top of the new buffer is removed first)."""
    monkeypatch.setenv(
        "EDITOR",
        script_editor(
            fvault.root.parent,
            f"t = path.read_text(); assert t.startswith('# gitvault: '); path.write_text(t + {content!r})",
        ),
    )
    path = fvault.path(name)
    r = run_cli(["edit", str(path)], cwd=fvault.root)
    assert r.code == 0, r.output
    _shape_ok(name if not name.endswith(".pem") else "x.bin", path.read_bytes())
    out = fvault.sops("decrypt", str(path))
    if name.endswith(".json"):
        assert json.loads(out) == json.loads(content)
    else:
        assert out == content.encode()


def test_yaml_vault_file_with_another_extension_stays_yaml(fvault: FormatVault) -> None:
    """A YAML vault file under a name sops would call binary (written with
    --output-type yaml, or by gitvault before it knew formats) is read and rewritten
    as YAML, never turned into a binary-format file."""
    path = fvault.path("legacy.txt")
    path.write_text("db:\n    password: hunter2\n")
    r = run_cli(["encrypt", str(path), "--in-place", "--output-type", "yaml"], cwd=fvault.root)
    assert r.code == 0, r.output
    assert path.read_text().startswith("db:\n")
    assert _run(fvault, "set", str(path), "db.password", "changed")[0] == 0
    data = path.read_bytes()
    _shape_ok("legacy.yaml", data)
    out = fvault.sops("decrypt", "--input-type", "yaml", "--output-type", "yaml", str(path))
    assert out == b"db:\n    password: changed\n"
