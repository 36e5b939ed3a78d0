"""Grace periods: `export` offers NAME_PREVIOUS after a recent rotation (api.previous_values)."""

from __future__ import annotations

import json
from pathlib import Path

from gitvault import api
from tests.cli.conftest import Vault
from tests.helpers import run_cli
from tests.history_cli.conftest import at, commit_all
from tests.rotate_cli.conftest import OLD_PASSWORD, OLD_TOKEN, F, set_policy, value


def exported() -> dict[str, object]:
    r = run_cli(["export", F, "--format", "json"])
    assert r.code == 0, r.output
    return json.loads(r.stdout)


def test_previous_value_within_grace(vault: Vault) -> None:
    set_policy(vault.root, "    grace: 2d")
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:10"]).code == 0
    new = value(vault.root, "db.password")
    out = exported()
    assert out["DB_PASSWORD"] == new and out["DB_PASSWORD_PREVIOUS"] == OLD_PASSWORD
    assert "API_TOKEN_PREVIOUS" not in out and "DB_PORT_PREVIOUS" not in out
    assert list(out).index("DB_PASSWORD_PREVIOUS") == list(out).index("DB_PASSWORD") + 1
    assert "DB_PASSWORD_PREVIOUS" not in json.loads(
        run_cli(["export", F, "--format", "json", "--no-previous"]).stdout
    )
    ids = api.load_identities()
    assert api.previous_values(vault.root, F, ids) == {("db", "password"): OLD_PASSWORD}


def test_no_grace_no_previous(vault: Vault) -> None:
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:10"]).code == 0
    assert "DB_PASSWORD_PREVIOUS" not in exported()


def test_rotation_older_than_grace(vault: Vault) -> None:
    set_policy(vault.root, "    grace: 1d")
    r = run_cli(["rotate", F, "api_token", "--generate", "hex:10"], env=at(3))
    assert r.code == 0, r.output
    assert "API_TOKEN_PREVIOUS" not in exported()


def test_per_key_grace_and_rekey_after_rotation(vault: Vault, tmp_path: Path) -> None:
    set_policy(vault.root, "    keys:\n      api_token: {grace: 7d}")
    assert run_cli(["rotate", F, "api_token", "db.password", "--generate", "hex:10"]).code == 0
    # A re-key after the rotation is not a value change: the previous value stays.
    plain = tmp_path / "plain.yaml"
    assert run_cli(["decrypt", F, "-o", str(plain)]).code == 0
    assert run_cli(["encrypt", str(plain), "-o", F]).code == 0
    commit_all(vault.root, "new data key")
    out = exported()
    assert out["API_TOKEN_PREVIOUS"] == OLD_TOKEN
    assert "DB_PASSWORD_PREVIOUS" not in out  # no grace for that key


def test_unreadable_history_is_not_an_error(vault: Vault, tmp_path: Path) -> None:
    set_policy(vault.root, "    grace: 2d")
    assert run_cli(["rotate", F, "db.password", "--generate", "hex:10"]).code == 0
    stranger = tmp_path / "stranger.txt"
    assert run_cli(["keygen", "-o", str(stranger)]).code == 0
    assert api.previous_values(vault.root, F, api.load_identities(stranger)) == {}
    assert api.previous_values(vault.root, "secrets/missing.yaml", api.load_identities()) == {}
