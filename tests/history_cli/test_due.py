"""`gitvault due` and `gitvault rotate --due` over back-dated history."""

from __future__ import annotations

import json
from pathlib import Path

from gitvault.git.trailers import parse_vault_trailers
from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli
from tests.history_cli.conftest import at, commit_all, git_at
from tests.rotate_cli.conftest import (
    OLD_PASSWORD,
    OLD_TOKEN,
    F,
    all_messages,
    assert_no_values,
    head,
    message,
    set_policy,
    snapshot,
    value,
)


def statuses(args: list[str] = ()) -> dict[str, str]:  # type: ignore[assignment]
    r = run_cli(["due", "--json", *args])
    assert r.code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["schema"] == "gitvault.due/v1"
    return {f"{i['file']}:{i['key']}": i["status"] for i in payload["items"]}


def test_rule_period_covers_every_key(old_vault: Vault) -> None:
    assert statuses() == {
        f"{F}:db.password": "overdue",
        f"{F}:db.port": "overdue",
        f"{F}:api_token": "overdue",
    }
    text = run_cli(["due"])
    assert text.code == 0
    assert text.stdout.splitlines()[0].split() == [
        "STATUS",
        "KEY",
        "PERIOD",
        "LAST",
        "CHANGE",
        "(UTC)",
        "AGE",
        "DUE",
    ]
    assert "overdue  secrets/app.yaml:db.password  90d" in text.stdout
    assert "200d" in text.stdout and "110d ago" in text.stdout
    assert "3 overdue, 0 due soon, 3 keys" in text.stdout


def test_fail_exit_codes(old_vault: Vault) -> None:
    r = run_cli(["due", "--fail"])
    assert r.code == 1
    assert [ln for ln in r.stderr.splitlines() if "error:" in ln] == [
        "gitvault: error: 3 key(s) overdue for rotation"
    ]
    for key in ("db.password", "db.port", "api_token"):
        assert run_cli(["rotate", F, key, "--generate", "hex:8"]).code == 0
    r = run_cli(["due", "--fail"])
    assert r.code == 0, r.output
    assert "0 overdue" in r.stdout


def test_per_key_period_and_within(vault: Vault) -> None:
    git_at(vault.root, 45, "commit", "-q", "--amend", "--no-edit", "--reset-author")
    set_policy(vault.root, "    keys:\n      db.password: {rotate_after: 30d}")
    assert statuses() == {
        f"{F}:db.password": "overdue",
        f"{F}:db.port": "ok",
        f"{F}:api_token": "ok",
    }
    soon = statuses(["--within", "50d"])
    assert soon[f"{F}:db.port"] == "due-soon"


def test_only_keys_with_a_period_count(vault: Vault) -> None:
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("    rotate_after: 90d\n", ""))
    set_policy(vault.root, "    keys:\n      api_token: {rotate_after: 1w}")
    assert list(statuses()) == [f"{F}:api_token"]


def test_rekey_does_not_reset_the_clock(old_vault: Vault, tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    assert run_cli(["decrypt", F, "-o", str(plain)]).code == 0
    assert run_cli(["encrypt", str(plain), "-o", F]).code == 0
    commit_all(old_vault.root, "new data key")
    assert set(statuses().values()) == {"overdue"}


def test_rotate_due_rotates_what_has_a_generator(old_vault: Vault, tmp_path: Path) -> None:
    root = old_vault.root
    other = root / "secrets" / "other.yaml"
    other.write_text("token: other-token-1\nname: service\n")
    assert run_cli(["encrypt", str(other), "--in-place"]).code == 0
    commit_all(root, "add other", days_ago=150)
    set_policy(
        root,
        "    keys:\n"
        '      db.password: {generate: "password:20"}\n'
        '      token: {generate: "token:tk_:24"}\n',
    )
    before = head(root)
    r = run_cli(["rotate", "--due", "--branch", "rotate/overdue"])
    assert r.code == 0, r.output
    assert git(root, "branch", "--show-current").stdout.strip() == "rotate/overdue"
    assert git(root, "rev-parse", "HEAD~1").stdout.strip() == before
    claims = parse_vault_trailers(message(root))
    assert claims.action == "rotate"
    assert claims.keys == {F: ("db.password",), "secrets/other.yaml": ("token",)}
    assert claims.generators == {
        (F, "db.password"): "password:20",
        ("secrets/other.yaml", "token"): "token:tk_:24",
    }
    assert "3 overdue key(s) need a human" in r.stderr
    for needs in (f"{F}:db.port: no generator", f"{F}:api_token: no generator"):
        assert needs in r.stderr
    assert git(root, "status", "--porcelain").stdout == ""
    now = statuses()
    assert now[f"{F}:db.password"] == "ok" and now["secrets/other.yaml:token"] == "ok"
    assert now[f"{F}:api_token"] == "overdue"
    new_values = [value(root, "db.password"), value(root, "token", path="secrets/other.yaml")]
    assert new_values[1].startswith("tk_")
    assert_no_values(
        [*new_values, OLD_PASSWORD, OLD_TOKEN, "other-token-1"], r.output, all_messages(root)
    )
    log = run_cli(["log"])
    assert "MISMATCH" not in log.stdout


def test_rotate_due_with_nothing_overdue(vault: Vault) -> None:
    snap = snapshot(vault.root)
    r = run_cli(["rotate", "--due"])
    assert r.code == 0 and "nothing is overdue" in r.stderr
    assert snapshot(vault.root) == snap


def test_rotate_due_refuses_existing_branch(old_vault: Vault) -> None:
    set_policy(old_vault.root, '    keys:\n      db.password: {generate: "hex:8"}')
    git(old_vault.root, "branch", "taken")
    snap = snapshot(old_vault.root)
    r = run_cli(["rotate", "--due", "--branch", "taken"])
    assert r.code == 6 and "branch taken already exists" in r.stderr
    assert snapshot(old_vault.root) == snap


def test_commit_dates_come_from_git_environment(vault: Vault) -> None:
    # gitvault's own commits honour GIT_AUTHOR_DATE: a rotation 100 days ago is overdue.
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"], env=at(100))
    assert r.code == 0, r.output
    assert statuses()[f"{F}:db.password"] == "overdue"
