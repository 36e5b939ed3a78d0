"""The write journal and ``gitvault recover``, driven without kills.

A rollback that fails leaves a value only the external system and our file
hold: the journal keeps it, every command says so, the next rotation refuses
with a pointer to ``recover``, and ``recover`` finishes or refuses to undo.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import git
from tests.helpers import run_cli
from tests.rotate_cli.conftest import OLD_PASSWORD, OLD_TOKEN, F, Vault, head, script, value


def _system(scripts: Path, broken: Path) -> tuple[str, str]:
    """apply stores the value in a file (its rollback fails while ``broken`` exists);
    verify checks the stored value (and fails while ``broken`` exists)."""
    held = scripts / "held"
    held.write_text(OLD_PASSWORD)
    apply = script(
        scripts,
        "apply",
        f'[ "$GITVAULT_PHASE" = rollback ] && [ -e {broken} ] && exit 1\n'
        f'printf %s "$GITVAULT_NEW_VALUE" > {held}\n',
    )
    verify = script(
        scripts,
        "verify",
        f'[ -e {broken} ] && exit 1\n[ "$(cat {held})" = "$GITVAULT_NEW_VALUE" ]\n',
    )
    return apply, verify


def _rotate_with_failed_rollback(vault: Vault, scripts: Path) -> tuple[Path, str]:
    broken = scripts / "broken"
    broken.touch()
    apply, verify = _system(scripts, broken)
    r = run_cli(
        ["rotate", F, "db.password", "--generate", "hex:16", "--apply", apply, "--verify", verify]
    )
    assert r.code == 7, r.output
    assert "gitvault recover --finish" in r.stderr
    return broken, (scripts / "held").read_text()


def test_journal_is_private_encrypted_and_names_no_value(vault: Vault, scripts: Path) -> None:
    _broken, held = _rotate_with_failed_rollback(vault, scripts)
    journals = list((vault.root / ".git" / "gitvault" / "journal").glob("*.journal"))
    assert len(journals) == 1
    data = journals[0].read_bytes()
    assert stat.S_IMODE(journals[0].stat().st_mode) == 0o600
    assert held.encode() not in data and OLD_PASSWORD.encode() not in data
    header = json.loads(data.split(b"\n", 1)[0])
    assert header["keys"] == [[F, "db.password", "rollback-failed"]]
    assert b"-----BEGIN AGE ENCRYPTED FILE-----" in data
    # Nothing of it is in the work tree, and the new value stays in the file.
    assert git(vault.root, "status", "--porcelain").stdout == f" M {F}\n"
    assert value(vault.root, "db.password") == held


def test_every_command_hints_and_rotate_points_at_recover(vault: Vault, scripts: Path) -> None:
    _rotate_with_failed_rollback(vault, scripts)
    r = run_cli(["decrypt", F, "--extract", "api_token"])
    assert r.code == 0 and r.stdout == OLD_TOKEN
    hints = [ln for ln in r.stderr.splitlines() if "recover" in ln]
    assert len(hints) == 1 and "db.password rollback-failed" in hints[0]
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:16"])
    assert r.code == 6
    assert "interrupted rotate" in r.stderr and "gitvault recover" in r.stderr
    assert "commit or discard them first" not in r.stderr


def test_recover_lists_refuses_to_undo_and_finishes(vault: Vault, scripts: Path) -> None:
    broken, held = _rotate_with_failed_rollback(vault, scripts)
    before = head(vault.root)
    r = run_cli(["recover", "--json"])
    assert r.code == 1
    report = json.loads(r.stdout)
    assert report["operations"][0]["keys"] == [
        {"file": F, "key": "db.password", "phase": "rollback-failed"}
    ]
    r = run_cli(["recover", "--undo"])
    assert r.code == 1 and "cannot undo" in r.stderr
    assert value(vault.root, "db.password") == held  # refused: nothing changed
    r = run_cli(["recover", "--finish"])  # the system is still broken: verify fails
    assert r.code == 7 and "passes with neither" in r.stderr
    broken.unlink()
    r = run_cli(["recover", "--finish"])
    assert r.code == 0, r.output
    assert head(vault.root) != before
    assert value(vault.root, "db.password", rev="HEAD") == held
    assert git(vault.root, "status", "--porcelain").stdout == ""
    assert run_cli(["recover"]).code == 0
    assert "recover" not in run_cli(["decrypt", F, "--extract", "api_token"]).stderr
    assert held not in r.output


def test_recover_finish_takes_the_old_value_when_the_system_holds_it(
    vault: Vault, scripts: Path
) -> None:
    broken, _held = _rotate_with_failed_rollback(vault, scripts)
    broken.unlink()
    (scripts / "held").write_text(OLD_PASSWORD)  # someone rolled the system back by hand
    r = run_cli(["recover", "--finish"])
    assert r.code == 0, r.output
    assert value(vault.root, "db.password") == OLD_PASSWORD
    assert git(vault.root, "status", "--porcelain").stdout == ""


def test_a_refused_commit_shows_the_hooks_own_lines(vault: Vault) -> None:
    hook = vault.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        "#!/bin/sh\necho 'policy-check: first reason' >&2\necho 'second reason'\nexit 1\n"
    )
    hook.chmod(0o755)
    before = git(vault.root, "ls-files", "-s").stdout
    r = run_cli(["set", F, "api_token", "new-token-value", "--commit"])
    assert r.code == 6, r.output
    assert "policy-check: first reason" in r.stderr and "second reason" in r.stderr
    assert git(vault.root, "ls-files", "-s").stdout == before  # index untouched
    r = run_cli(["rotate", F, "api_token", "--generate", "hex:16"])
    assert r.code == 6
    assert "policy-check: first reason" in r.stderr and "second reason" in r.stderr
    assert value(vault.root, "api_token") == OLD_TOKEN  # nothing applied: put back
