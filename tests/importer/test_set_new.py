"""``set`` on a path that does not exist creates the vault file from the policy rule."""

from __future__ import annotations

import json

from tests.conftest import git
from tests.importer.conftest import Vault, one_error_line


def test_set_creates_file_and_folders(vault: Vault) -> None:
    r = vault.run("set", "secrets/a/b/c.yaml", "replicas", "3", "--type", "int")
    assert r.code == 0, r.output
    assert "created secrets/a/b/c.yaml for alice" in r.stderr
    assert vault.decrypt("secrets/a/b/c.yaml") == {"replicas": 3}
    # A second set is an ordinary change of the existing file.
    r = vault.run("set", "secrets/a/b/c.yaml", "name", "web")
    assert r.code == 0 and "name added" in r.stderr
    assert vault.decrypt("secrets/a/b/c.yaml") == {"replicas": 3, "name": "web"}


def test_set_new_file_outside_every_rule_is_refused(vault: Vault) -> None:
    before = vault.files()
    r = vault.run("set", "notes/x/y.yaml", "k", "v")
    assert r.code == 5
    assert "no rule" in one_error_line(r)
    assert vault.files() == before  # no folder created either


def test_set_new_file_outside_the_repository(vault: Vault, tmp_path: object) -> None:
    r = vault.run("set", "../escape/x.yaml", "k", "v")
    assert r.code == 5
    one_error_line(r)
    assert not (vault.root.parent / "escape").exists()


def test_set_new_file_respects_the_schema(vault: Vault) -> None:
    schema = {"type": "object", "required": ["db"]}
    (vault.root / "schemas").mkdir()
    (vault.root / "schemas" / "s.json").write_text(json.dumps(schema))
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            '  - path: "secrets/**"\n', '  - path: "secrets/**"\n    schema: schemas/s.json\n'
        )
    )
    before = vault.files()
    r = vault.run("set", "secrets/s.yaml", "other", "x")
    assert r.code == 5
    assert "fails 'required' check" in one_error_line(r)
    assert vault.files() == before
    assert vault.run("set", "secrets/s.yaml", "db.password", "x").code == 0


def test_set_new_file_with_commit(vault: Vault) -> None:
    r = vault.run(
        "set", "secrets/n/new.yaml", "api.token", "--generate", "token:tk_:20", "--commit"
    )
    assert r.code == 0, r.output
    message = git(vault.root, "log", "-1", "--format=%B").stdout
    assert message.startswith("gitvault: add api.token in secrets/n/new.yaml")
    assert "Gitvault-Keys: secrets/n/new.yaml: api.token" in message
    assert git(vault.root, "status", "--porcelain").stdout == ""
    assert str(vault.decrypt("secrets/n/new.yaml")["api"]["token"]).startswith("tk_")  # type: ignore[index]
