"""The fused ``set`` of one existing string value against the general path.

With randomness and the clock fixed, the fused result is byte-identical to
``edits.set_key`` after the general decrypt; it refuses what it does not
handle and every tampered file, and the CLI then behaves as before.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault import edits, keypath, vault
from gitvault.edits import Change
from gitvault.model import Mapping
from gitvault.sops.fused import set as fused
from gitvault.sops.fused.set import set_string
from tests.fused.conftest import Fixed, Vault
from tests.fused.helpers import ANY_KEY, SCALAR, SIMPLE_KEY, deep, encrypt, tampered, tree
from tests.helpers import run_cli

HYP = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def general_set(path: Path, key: str, value: str) -> Change:
    from gitvault.identities import load_identities

    vf = vault.read_vault(path)
    plain = vault.decrypt(vf, load_identities(None), record_ivs=True)
    return edits.set_key(vf, plain, key, value, edits.schema_check(path))


def both(fixed: Fixed, vault_dir: Vault, path: Path, key: str, value: str) -> tuple[object, Change]:
    fixed.restart()
    fast = set_string(path, key, value, vault_dir.keys)
    fixed.restart()
    return fast, general_set(path, key, value)


def string_leaves(doc: Mapping, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for k, v in doc.items():
        if isinstance(v, Mapping):
            out += string_leaves(v, (*prefix, k))
        elif isinstance(v, str) and v:
            out.append((*prefix, k))
    return out


def _sops(vault_dir: Vault, plain: str) -> Path:
    src = vault_dir.root / "plain.yaml"
    src.write_text(plain)
    out = subprocess.run(
        ["sops", "encrypt", "--age", vault_dir.public, str(src)],
        capture_output=True,
        check=True,
        cwd=vault_dir.root,
    ).stdout
    dest = vault_dir.root / "secrets.yaml"
    dest.write_bytes(out)
    return dest


PLAIN = "db:\n    password: hunter2\n    user: admin\n    deeper:\n        token: t0k\napi: key\n"


def test_fused_set_is_taken_and_identical(vault_dir: Vault, fixed: Fixed) -> None:
    path = _sops(vault_dir, PLAIN)
    fast, general = both(fixed, vault_dir, path, "db.deeper.token", "new ✓ value\nline 2")
    assert fast is not None  # the fused path is taken on a sops-written file
    assert fast == general
    assert general.action == "changed" and general.data is not None
    before = path.read_text().split("\n")
    after = general.data.decode().split("\n")
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    # the value's line, lastmodified and mac: nothing else moved
    assert len(changed) == 3 and after[changed[0]].startswith("        token: ENC[")


def test_unchanged_value_gives_the_general_message(vault_dir: Vault, fixed: Fixed) -> None:
    path = _sops(vault_dir, PLAIN)
    fast, general = both(fixed, vault_dir, path, "db.password", "hunter2")
    assert fast == general == Change("db.password", "unchanged", None)


@pytest.mark.parametrize(
    "key",
    ["db.new", "db", "db.deeper", "missing.key", "db.password.sub", '["db.password"]', "x[0]"],
)
def test_new_keys_and_non_leaves_are_left_to_the_general_path(
    vault_dir: Vault, fixed: Fixed, key: str
) -> None:
    path = _sops(vault_dir, PLAIN)
    assert set_string(path, key, "v", vault_dir.keys) is None


@HYP
@given(doc=tree(ANY_KEY, SCALAR), data=st.data())
def test_generated_documents_identical_or_refused(
    vault_dir: Vault, fixed: Fixed, doc: Mapping, data: st.DataObject
) -> None:
    path = vault_dir.root / "gen.yaml"
    path.write_bytes(encrypt(doc, vault_dir.public))
    leaves = string_leaves(doc)
    parts = data.draw(st.sampled_from(leaves)) if leaves else ("absent",)
    value = data.draw(st.text(min_size=1, max_size=40))
    key = keypath.display(list(parts))
    try:
        fast, general = both(fixed, vault_dir, path, key, value)
    except Exception as exc:  # the general path refuses the key itself (e.g. odd characters)
        assert set_string(path, key, value, vault_dir.keys) is None, exc
        return
    assert fast is None or fast == general


@HYP
@given(doc=tree(SIMPLE_KEY, st.text(min_size=1, max_size=20)), data=st.data())
def test_simple_files_are_always_taken(
    vault_dir: Vault, fixed: Fixed, doc: Mapping, data: st.DataObject
) -> None:
    path = vault_dir.root / "gen.yaml"
    path.write_bytes(encrypt(doc, vault_dir.public))
    parts = data.draw(st.sampled_from(string_leaves(doc)))
    value = data.draw(st.text(min_size=1, max_size=40))
    fast, general = both(fixed, vault_dir, path, keypath.display(list(parts)), value)
    assert fast is not None and fast == general


@pytest.mark.parametrize(
    ("options", "sops_yaml", "taken"),
    [
        ({"indent": 2}, "stores:\n    yaml:\n        indent: 2\n", True),
        ({"indent": 2}, None, False),  # the general path re-indents to 4
        ({}, "stores:\n    yaml:\n        indent: 2\n", False),  # ... or to 2
        ({"version": "3.13.2"}, None, True),
        ({"version": "3.13.2", "indent": 3}, "stores:\n  yaml:\n    indent: 3\n", True),
        ({"encrypted_regex": "^leaf"}, None, False),
        ({"mac_only_encrypted": True, "encrypted_suffix": "0"}, None, False),
    ],
)
def test_layouts_handled_identically_or_refused(
    vault_dir: Vault, fixed: Fixed, options: dict[str, object], sops_yaml: str | None, taken: bool
) -> None:
    if sops_yaml:
        (vault_dir.root / ".sops.yaml").write_text(sops_yaml)
    path = vault_dir.root / "lay.yaml"
    path.write_bytes(encrypt(deep(3), vault_dir.public, **options))
    fast, general = both(fixed, vault_dir, path, "level2.level1.leaf0", "changed")
    if taken:
        assert fast is not None and fast == general
    else:
        assert fast is None


@pytest.mark.parametrize(
    "plain",
    ["# c\na: b\nc: d\n", "a: b\nl:\n    - x\n", "a: b\nn: 5\n", "a: b\nx_unencrypted: v\n"],
    ids=["comment", "list", "typed-value", "unencrypted-suffix"],
)
def test_refused_shapes(vault_dir: Vault, plain: str) -> None:
    path = _sops(vault_dir, plain)
    assert set_string(path, "a", "new", vault_dir.keys) is None
    assert run_cli(["set", str(path), "a", "new"]).code == 0
    assert run_cli(["decrypt", str(path), "--extract", '["a"]']).stdout == "new"


def test_rule_with_schema_is_refused(vault_dir: Vault) -> None:
    (vault_dir.root / "schema.json").write_text('{"type": "object"}')
    policy = vault_dir.root / ".gitvault.yaml"
    policy.write_text(policy.read_text() + "    schema: schema.json\n")
    path = _sops(vault_dir, PLAIN)
    assert set_string(path, "api", "new", vault_dir.keys) is None
    assert run_cli(["set", str(path), "api", "new"]).code == 0


def test_cli_set_takes_the_fused_pass_and_sops_reads_it(
    vault_dir: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sops(vault_dir, PLAIN)
    calls: list[object] = []
    real = fused.set_string

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out)
        return out

    monkeypatch.setattr(fused, "set_string", spy)
    result = run_cli(["set", str(path), "db.password", "s3cret"])
    assert result.code == 0 and result.stderr == f"gitvault: {path}: db.password changed\n"
    assert calls and calls[0] is not None
    shown = subprocess.run(
        ["sops", "decrypt", "--extract", '["db"]["password"]', str(path)],
        capture_output=True,
        check=True,
    ).stdout
    assert shown == b"s3cret"
    again = run_cli(["set", str(path), "db.password", "s3cret"])
    assert (
        again.stderr == f"gitvault: {path}: db.password already has that value; nothing written\n"
    )


@pytest.mark.parametrize("writer", ["sops", "gitvault"])
def test_every_tamper_is_refused_and_the_cli_exits_4(
    vault_dir: Vault, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    if writer == "sops":
        original = _sops(vault_dir, PLAIN).read_text()
        key = "api"
    else:
        original = encrypt(deep(3), vault_dir.public).decode()
        key = "leaf0"
    for kind, text in tampered(original).items():
        path = vault_dir.root / f"t-{kind}.yaml"
        path.write_text(text)
        assert set_string(path, key, "new", vault_dir.keys) is None, kind
        result = run_cli(["set", str(path), key, "new"])
        assert result.code == 4, (kind, result.stderr)
        assert path.read_text() == text, kind  # untouched
        with monkeypatch.context() as m:
            m.setattr(fused, "set_string", lambda *a: None)
            alone = run_cli(["set", str(path), key, "new"])
        assert (alone.code, alone.stderr) == (result.code, result.stderr), kind


def test_refused_files_never_unwrap_the_key(
    vault_dir: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal comes before the data key is unwrapped, so an identity that asks for a
    passphrase is asked once (by the general path), never twice."""
    from gitvault.sops.fused import decrypt as fused_decrypt

    calls: list[str] = []

    def counting(meta: object, identities: object) -> None:
        calls.append("unwrap")
        return None

    monkeypatch.setattr(fused, "data_key", counting)
    monkeypatch.setattr(fused_decrypt, "data_key", counting)
    path = _sops(vault_dir, PLAIN)
    assert set_string(path, "db.brand_new", "v", vault_dir.keys) is None
    assert set_string(path, "db", "v", vault_dir.keys) is None
    assert calls == []
    # a file the pass accepts does unwrap (the counter works)
    assert set_string(path, "api", "v", vault_dir.keys) is None
    assert calls == ["unwrap"]
    calls.clear()
    suffixed = _sops(vault_dir, "a: b\nx_unencrypted: v\n")
    assert set_string(suffixed, "a", "v", vault_dir.keys) is None
    assert fused_decrypt.decrypt_path(suffixed, vault_dir.keys) is None
    assert calls == []
