"""`gitvault rotate` on real repositories: commits, trailers, signing, apply/verify, rollback."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from gitvault.git.trailers import parse_vault_trailers
from tests.cli.conftest import Vault
from tests.conftest import git
from tests.helpers import run_cli, run_subprocess
from tests.rotate_cli.conftest import (
    OLD_PASSWORD,
    OLD_TOKEN,
    F,
    all_messages,
    assert_no_values,
    head,
    message,
    parsed_trailers,
    script,
    set_policy,
    shallow_clone,
    snapshot,
    value,
)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("gitvault: error:")]


def recorder(scripts: Path, name: str, exit_code: int = 0, when: str = "") -> str:
    """A command that appends its phase and the values it received to a log file.

    The log lives outside the repository; tests read it to learn what values
    the commands saw (and so what must never be printed).
    """
    log = scripts / f"{name}.log"
    condition = f'[ "$GITVAULT_PHASE" = "{when}" ] && exit {exit_code}' if when else ""
    return script(
        scripts,
        name,
        f"""
printf '%s|%s|%s|%s|%s\\n' "$GITVAULT_PHASE" "$GITVAULT_KEY" "$GITVAULT_FILE" \\
    "$GITVAULT_NEW_VALUE" "$GITVAULT_OLD_VALUE" >> {log}
echo "argv has $# arguments"
{condition}
exit {0 if when else exit_code}
""",
    )


def calls(scripts: Path, name: str) -> list[list[str]]:
    log = scripts / f"{name}.log"
    return [line.split("|") for line in log.read_text().splitlines()] if log.exists() else []


# ----------------------------------------------------------------- success


def test_rotate_with_generator_commits_with_trailers(vault: Vault) -> None:
    r = run_cli(["rotate", F, "db.password", "--generate", "password:24"])
    assert r.code == 0, r.output
    new = value(vault.root, "db.password")
    assert new != OLD_PASSWORD and len(new) == 24
    assert value(vault.root, "db.password", rev="HEAD~1") == OLD_PASSWORD
    assert value(vault.root, "api_token") == OLD_TOKEN
    assert parsed_trailers(vault.root) == [
        ("Gitvault-Action", "rotate"),
        ("Gitvault-File", F),
        ("Gitvault-Keys", f"{F}: db.password"),
        ("Gitvault-Generator", f"{F}: db.password: password:24"),
    ]
    text = message(vault.root)
    assert "verified no-verify-command" in text
    assert git(vault.root, "status", "--porcelain").stdout == ""
    # Only the rotated value (plus mac and lastmodified) changed in the file.
    diff = git(vault.root, "diff", "-U0", "HEAD~1", "HEAD").stdout
    changed = {ln[1:].split(":")[0].strip() for ln in diff.splitlines() if ln[:1] in "+-"}
    assert changed - {"++ b/secrets/app.yaml", "-- a/secrets/app.yaml"} <= {
        "password",
        "mac",
        "lastmodified",
    }
    assert_no_values([new, OLD_PASSWORD], r.output, all_messages(vault.root))


def test_rotate_uses_policy_generator_and_commands(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply")
    verify = recorder(scripts, "verify")
    set_policy(
        vault.root,
        f"""
    keys:
      db.password: {{generate: "alnum:30", apply: "{apply}", verify: "{verify}", timeout: 30s}}
""",
    )
    r = run_cli(["rotate", F])  # no KEY: every key with a policy generator
    assert r.code == 0, r.output
    new = value(vault.root, "db.password")
    assert len(new) == 30 and new.isalnum()
    assert calls(scripts, "apply") == [["apply", "db.password", F, new, OLD_PASSWORD]]
    assert calls(scripts, "verify") == [["verify", "db.password", F, new, OLD_PASSWORD]]
    claims = parse_vault_trailers(message(vault.root))
    assert claims.action == "rotate" and claims.verified == {F: ("db.password",)}
    assert claims.generators == {(F, "db.password"): "alnum:30"}
    assert "applied, verified yes" in message(vault.root)
    assert "argv has 0 arguments" not in r.output  # success: command output is not shown
    assert_no_values([new, OLD_PASSWORD], r.output, all_messages(vault.root))


def test_rotate_value_from_stdin(vault: Vault) -> None:
    new = "from-stdin-Value-9"
    r = run_cli(["rotate", F, "api_token", "--stdin"], input=new + "\n")
    assert r.code == 0, r.output
    assert value(vault.root, "api_token") == new
    assert ("Gitvault-Generator", f"{F}: api_token: stdin") in parsed_trailers(vault.root)
    assert_no_values([new, OLD_TOKEN], r.output, all_messages(vault.root))


def test_rotation_commit_is_ssh_signed_and_verifies(vault: Vault, ssh_signing: Path) -> None:
    r = run_subprocess(["rotate", F, "db.password", "--generate", "hex:16"], cwd=vault.root)
    assert r.returncode == 0, r.stderr
    assert b"(signed)" in r.stderr
    verify = subprocess.run(
        ["git", "verify-commit", "HEAD"], cwd=vault.root, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr
    assert 'Good "git" signature for test@example.invalid' in verify.stderr
    log = run_cli(["log", f"{F}:db.password", "--json"])
    latest = json.loads(log.stdout)["events"][0]
    assert latest["kind"] == "rotated" and latest["signed"] and latest["verified"]


def test_rotate_json_report(vault: Vault) -> None:
    r = run_cli(["rotate", F, "db.password", "api_token", "--generate", "base64:18", "--json"])
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["schema"] == "gitvault.rotate/v1"
    assert [(x["key"], x["status"]) for x in report["results"]] == [
        ("db.password", "rotated"),
        ("api_token", "rotated"),
    ]
    assert report["commit"]["id"] == head(vault.root)
    values = [value(vault.root, "db.password"), value(vault.root, "api_token")]
    assert_no_values([*values, OLD_PASSWORD, OLD_TOKEN], r.output, all_messages(vault.root))


# ----------------------------------------------------------------- failures


def test_apply_failure_changes_nothing(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply", exit_code=3)
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "password:20", "--apply", apply])
    assert r.code == 7
    assert error_lines(r.stderr) == [
        "gitvault: error: apply command exited with status 3 for secrets/app.yaml:db.password; "
        "nothing was changed"
    ]
    assert "argv has 0 arguments" in r.stderr  # the command's output, shown on failure
    assert snapshot(vault.root) == snap
    (attempt,) = calls(scripts, "apply")
    assert_no_values([attempt[3], OLD_PASSWORD], r.output, all_messages(vault.root))


def test_verify_failure_rolls_back_and_commits_nothing(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply")
    verify = script(scripts, "verify", 'echo "login failed for $GITVAULT_NEW_VALUE" >&2; exit 1')
    snap = snapshot(vault.root)
    r = run_cli(
        [
            "rotate",
            F,
            "db.password",
            "--generate",
            "password:20",
            "--apply",
            apply,
            "--verify",
            verify,
        ]
    )
    assert r.code == 7
    (line,) = error_lines(r.stderr)
    assert "verify command exited with status 1" in line
    assert "rolled back: apply ran again with the previous value, nothing was committed" in line
    assert "login failed for ***" in r.stderr  # output shown, value masked
    first, rollback = calls(scripts, "apply")
    assert first[0] == "apply" and rollback[0] == "rollback"
    assert rollback[3] == OLD_PASSWORD and rollback[4] == first[3]
    assert snapshot(vault.root) == snap
    assert_no_values([first[3], OLD_PASSWORD], r.output, all_messages(vault.root))


def test_failed_rollback_keeps_the_new_value_uncommitted(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply", exit_code=9, when="rollback")
    before = snapshot(vault.root)
    r = run_cli(
        [
            "rotate",
            F,
            "db.password",
            "--generate",
            "password:20",
            "--apply",
            apply,
            "--verify",
            "exit 1",
        ]
    )
    assert r.code == 7
    assert "ROLLBACK FAILED" in r.stderr and "NOT COMMITTED" in r.stderr
    first, _rollback = calls(scripts, "apply")
    assert head(vault.root) == before.head
    # The external system may hold the new value: it is in the work tree, encrypted.
    assert git(vault.root, "status", "--porcelain").stdout == f" M {F}\n"
    assert value(vault.root, "db.password") == first[3]
    assert value(vault.root, "db.password", rev="HEAD") == OLD_PASSWORD
    assert value(vault.root, "api_token") == OLD_TOKEN
    assert first[3].encode() not in (vault.root / F).read_bytes()
    assert_no_values([first[3], OLD_PASSWORD], r.output, all_messages(vault.root))


def test_missing_apply_command(vault: Vault) -> None:
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8", "--apply", "/no/such/apply"])
    assert r.code == 7
    assert len(error_lines(r.stderr)) == 1 and "exited with status 127" in r.stderr
    assert snapshot(vault.root) == snap


def test_hanging_verify_times_out_and_rolls_back(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply")
    snap = snapshot(vault.root)
    started = time.monotonic()
    r = run_cli(
        [
            "rotate",
            F,
            "db.password",
            "--generate",
            "hex:8",
            "--apply",
            apply,
            "--verify",
            "sleep 60",
            "--timeout",
            "1",
        ]
    )
    assert time.monotonic() - started < 20
    assert r.code == 7
    (line,) = error_lines(r.stderr)
    assert "verify command timed out after 1s" in line and "rolled back" in line
    assert [c[0] for c in calls(scripts, "apply")] == ["apply", "rollback"]
    assert snapshot(vault.root) == snap


def test_hanging_apply_times_out(vault: Vault) -> None:
    snap = snapshot(vault.root)
    r = run_cli(
        ["rotate", F, "api_token", "--generate", "hex:8", "--apply", "sleep 60", "--timeout", "1s"]
    )
    assert r.code == 7 and "apply command timed out" in r.stderr
    assert snapshot(vault.root) == snap


def test_one_failure_among_several_keys(vault: Vault, scripts: Path) -> None:
    verify = script(scripts, "verify", '[ "$GITVAULT_KEY" != api_token ]')
    before = head(vault.root)
    r = run_cli(
        [
            "rotate",
            F,
            "db.password",
            "api_token",
            "--generate",
            "hex:8",
            "--apply",
            "true",
            "--verify",
            verify,
        ]
    )
    assert r.code == 7
    assert "1 of 2 rotations failed" in r.stderr
    assert git(vault.root, "rev-parse", "HEAD~1").stdout.strip() == before
    assert parse_vault_trailers(message(vault.root)).keys == {F: ("db.password",)}
    assert value(vault.root, "api_token") == OLD_TOKEN
    assert git(vault.root, "status", "--porcelain").stdout == ""
    # history sees one rotation, not the rolled-back key
    events = json.loads(run_cli(["log", F, "--json"]).stdout)["events"]
    assert [(e["key"], e["kind"]) for e in events if e["commit"] == head(vault.root)] == [
        ("db.password", "rotated")
    ]


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["db.password", "--generate", "nope:3"], 5, "unknown generator spec 'nope:3'"),
        (["db.pasword", "--generate", "hex:8"], 5, "no key 'db.pasword' in secrets/app.yaml"),
        (["db", "--generate", "hex:8"], 5, "secrets/app.yaml:db is not a single value"),
        (["db.password"], 5, "no generator for secrets/app.yaml:db.password"),
        ([], 5, "nothing to rotate in secrets/app.yaml"),
        (["db.password", "--generate", "hex:8", "--timeout", "soon"], 5, "invalid duration"),
        (["db.password", "--stdin", "--generate", "hex:8"], 2, "either --generate or --stdin"),
        (["db.password", "--due"], 2, "give no PATH or KEY"),
        (["db.password", "--generate", "hex:8", "--branch", "bad..name"], 6, "invalid branch"),
    ],
)
def test_bad_input_changes_nothing(vault: Vault, args: list[str], code: int, text: str) -> None:
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, *args])
    assert r.code == code, r.output
    (line,) = [ln for ln in r.stderr.splitlines() if "error" in ln.lower()]
    assert text in line
    assert snapshot(vault.root) == snap


def test_dirty_index_is_refused(vault: Vault) -> None:
    (vault.root / "notes.txt").write_text("x\n")
    git(vault.root, "add", "notes.txt")
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"])
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: other changes are staged: notes.txt"]
    assert snapshot(vault.root) == snap


def test_uncommitted_vault_file_is_refused(vault: Vault) -> None:
    assert run_cli(["set", F, "api_token", "local-change-1"]).code == 0
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"])
    assert r.code == 6 and "has uncommitted changes (modified)" in r.stderr
    assert snapshot(vault.root) == snap


def test_detached_head_is_refused(vault: Vault) -> None:
    git(vault.root, "checkout", "-q", "--detach")
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"])
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: HEAD is detached: refusing to commit"]
    assert snapshot(vault.root) == snap


def test_shallow_clone_is_refused(vault: Vault, tmp_path: Path) -> None:
    run_cli(["set", F, "api_token", "second-token", "--commit"])
    clone = shallow_clone(vault.root, tmp_path / "clone")
    snap = snapshot(clone)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"], cwd=clone)
    assert r.code == 6
    assert error_lines(r.stderr) == ["gitvault: error: shallow clone: history is incomplete"]
    assert snapshot(clone) == snap


def test_failed_commit_after_apply_keeps_new_value(vault: Vault, scripts: Path) -> None:
    hook = vault.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    apply = recorder(scripts, "apply")
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8", "--apply", apply])
    assert r.code == 6
    assert "applied but could not be committed" in r.stderr and "NOT COMMITTED" in r.stderr
    (first,) = calls(scripts, "apply")
    assert value(vault.root, "db.password") == first[3]  # not lost: on disk, encrypted


def test_failed_commit_without_apply_changes_nothing(vault: Vault) -> None:
    hook = vault.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    snap = snapshot(vault.root)
    r = run_cli(["rotate", F, "db.password", "--generate", "hex:8"])
    assert r.code == 6 and "nothing was changed" in r.stderr
    assert snapshot(vault.root) == snap


def test_missing_verify_command_rolls_back(vault: Vault, scripts: Path) -> None:
    apply = recorder(scripts, "apply")
    snap = snapshot(vault.root)
    r = run_cli(
        [
            "rotate",
            F,
            "db.password",
            "--generate",
            "hex:8",
            "--apply",
            apply,
            "--verify",
            "/no/such/verify",
        ]
    )
    assert r.code == 7
    (line,) = error_lines(r.stderr)
    assert "verify command exited with status 127" in line and "rolled back" in line
    assert [c[0] for c in calls(scripts, "apply")] == ["apply", "rollback"]
    assert snapshot(vault.root) == snap


@pytest.mark.parametrize("command", ["rotate", "log", "due"])
def test_help_has_an_example(command: str) -> None:
    r = run_cli([command, "--help"])
    assert r.code == 0 and "Example" in r.stdout


def test_sigterm_during_apply_keeps_the_new_value_uncommitted(vault: Vault, scripts: Path) -> None:
    import os
    import signal
    import sys

    started = scripts / "started"
    apply = script(scripts, "apply", f"touch {started}\nsleep 30")
    before = snapshot(vault.root)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitvault",
            "rotate",
            F,
            "db.password",
            "--generate",
            "hex:8",
            "--apply",
            apply,
        ],
        cwd=vault.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert b"interrupted during secrets/app.yaml:db.password" in err
    assert head(vault.root) == before.head
    # The apply may have installed it: the new value stays on disk, encrypted, uncommitted.
    assert git(vault.root, "status", "--porcelain").stdout == f" M {F}\n"
    assert value(vault.root, "db.password") != OLD_PASSWORD
    assert value(vault.root, "api_token") == OLD_TOKEN


def test_interrupted_commit_keeps_rollback_failed_values(
    vault: Vault, scripts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at a signing prompt must not lose a value the external system holds."""
    import gitvault.git.commit as engine  # settle imports commit_paths from here at call time

    apply = recorder(scripts, "apply", exit_code=9, when="rollback")
    verify = script(scripts, "verify", '[ "$GITVAULT_KEY" = "db.password" ] && exit 1\nexit 0\n')

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "commit_paths", interrupted)
    r = run_cli(
        [
            "rotate",
            F,
            "api_token",
            "db.password",
            "--generate",
            "hex:8",
            "--apply",
            apply,
            "--verify",
            verify,
        ]
    )
    assert r.code == 130
    new_password = next(
        c[3] for c in calls(scripts, "apply") if c[0] == "apply" and c[1] == "db.password"
    )
    assert value(vault.root, "db.password") == new_password
