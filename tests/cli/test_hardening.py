"""Regression tests for the security review's findings (untrusted input, signals, masks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.conftest import Vault
from tests.cli.test_edit import script_editor
from tests.helpers import run_cli


def test_alias_name_never_reaches_the_message(vault: Vault) -> None:
    target = vault.root / "secrets" / "leak.yaml"
    target.write_text("user: admin\npassword: *Sup3rS3cretPw\n")
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == 5
    assert "Sup3rS3cretPw" not in r.output


def test_deep_nesting_is_bad_input_not_a_crash(vault: Vault) -> None:
    target = vault.root / "secrets" / "deep.yaml"
    target.write_text("".join("  " * i + f"k{i}:\n" for i in range(600)) + "  " * 600 + "x: 1\n")
    r = run_cli(["encrypt", str(target), "--in-place"])
    assert r.code == 5 and "nested" in r.stderr and "Traceback" not in r.output
    target.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert run_cli(["encrypt", str(target), "--in-place"]).code == 5


def test_hostile_regex_in_file_metadata(vault: Vault) -> None:
    text = vault.secret_file.read_text()
    # catastrophic for a backtracking engine; RE2 answers in linear time
    slow = text.replace("    unencrypted_suffix: _unencrypted\n", "    unencrypted_regex: ^(a+)+$\n")
    vault.secret_file.write_text(slow)
    start = time.monotonic()
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert time.monotonic() - start < 10
    assert r.code in (0, 4)  # the selection changed, so the MAC may disagree; it never hangs
    broken = text.replace("    unencrypted_suffix: _unencrypted\n", "    encrypted_regex: (unclosed\n")
    vault.secret_file.write_text(broken)
    r = run_cli(["decrypt", str(vault.secret_file)])
    assert r.code == 5 and "regex" in r.stderr and "Traceback" not in r.output


def test_schema_outside_the_repository_is_refused(vault: Vault, tmp_path: Path) -> None:
    outside = tmp_path / "creds.json"
    outside.write_text(json.dumps({"type": "object"}))
    policy = vault.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("rotate_after: 90d", f"rotate_after: 90d\n    schema: {outside}"))
    r = run_cli(["verify"])
    assert r.code == 1 and "outside the repository" in r.stdout
    policy.write_text(policy.read_text().replace(str(outside), "/dev/zero"))
    r = run_cli(["verify"])
    assert r.code == 1 and "outside the repository" in r.stdout


def test_decrypt_masks_values_under_github_actions(vault: Vault) -> None:
    r = run_cli(["decrypt", str(vault.secret_file)], env={"GITHUB_ACTIONS": "true"})
    assert r.code == 0
    lines = r.stdout.splitlines()
    first_plain = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    masks = {line.removeprefix("::add-mask::") for line in lines[:first_plain]}
    assert {"hunter2hunter2", "tok-abc-123", "5432"} <= masks
    assert "hunter2hunter2" in "\n".join(lines[first_plain:])
    assert "hunter2hunter2" not in r.stderr


def test_sighup_during_edit_removes_plaintext(vault: Vault, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    seen = tmp_path / "seen"
    editor = script_editor(tmp_path, f"""
import time
pathlib.Path({str(seen)!r}).write_text(str(path))
time.sleep(60)
""")
    proc = subprocess.Popen([sys.executable, "-m", "gitvault", "edit", str(vault.secret_file)], cwd=vault.root,
                            env={**os.environ, "EDITOR": editor, "XDG_RUNTIME_DIR": str(runtime)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.exists()
    proc.send_signal(signal.SIGHUP)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert list(runtime.iterdir()) == []
