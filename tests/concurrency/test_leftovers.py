"""What a killed writer leaves behind is cleaned up and never mistaken for a vault file.

- A ``rekey`` SIGKILLed while it writes leaves temp files; no later command
  may count them as vault files (``verify``, ``access``, ``rekey``), git must
  not see them (``git add -A`` would commit them), and the next writer
  removes them.
- A temp file beside a vault file from a dead writer (even an empty one) is
  skipped and removed; one of a live writer is skipped and kept.
- The plaintext directory of a killed ``edit`` is removed by the next
  gitvault command of any kind, wherever ``$XDG_RUNTIME_DIR`` pointed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.concurrency.conftest import racer_env
from tests.team.conftest import Team

DEV = "secrets/dev"
FILES = 120


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _temps(root: Path) -> list[str]:
    """Every temp file gitvault may have left: in the work tree or in .git/gitvault/tmp."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        found += [os.path.join(dirpath, n) for n in filenames if n.endswith(".tmp")]
    tmp = root / ".git" / "gitvault" / "tmp"
    if tmp.is_dir():
        found += [str(p) for p in tmp.iterdir()]
    return found


def _many_files(team: Team) -> list[str]:
    team.write(f"{DEV}/f000.yaml", "api:\n    token: t\nregion: eu\n")
    data = (team.root / DEV / "f000.yaml").read_bytes()
    rels = [f"{DEV}/f{i:03d}.yaml" for i in range(FILES)]
    for rel in rels[1:]:
        (team.root / rel).write_bytes(data)
    team.commit("seed")
    return rels


def _verify_files(team: Team) -> set[str]:
    r = team.cli(["verify", "--json"])
    assert r.code in (0, 1), r.output
    return {f["file"] for f in json.loads(r.stdout)["files"]}


def test_a_killed_rekey_leaves_nothing_a_later_command_sees(team: Team) -> None:
    rels = _many_files(team)
    committed = {p: (team.root / p).read_bytes() for p in rels}
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    killed_with_leftovers = 0
    for delay in (0.0, 0.002, 0.01, 0.0, 0.001, 0.0):
        if killed_with_leftovers == 3:
            break
        for rel, data in committed.items():
            (team.root / rel).write_bytes(data)
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitvault", "rekey"],
            cwd=team.root,
            env=racer_env(team.alice.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not _temps(team.root) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        if proc.poll() is not None:
            continue  # it finished between two looks: nothing to test this round
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_with_leftovers += 1
        # a reading command sees exactly the vault files, nothing else
        assert _verify_files(team) == set(rels)
        r = team.cli(["access", "--json"])
        assert r.code == 0, r.output
        assert {f["file"] for f in json.loads(r.stdout)["files"]} == set(rels)
        # git sees no new file: `git add -A` would commit nothing unexpected
        untracked = team.git("status", "--porcelain", "--untracked-files=all").stdout
        assert [ln for ln in untracked.splitlines() if ln.startswith("??")] == []
        # the next writer works and removes the dead writer's leftovers
        r = team.cli(["rekey"])
        assert r.code == 0, r.output
        assert _temps(team.root) == []
        assert all(v == "ok" for v in _recipient_checks(team).values())
    assert killed_with_leftovers >= 1, "rekey always finished before it could be killed"


def _recipient_checks(team: Team) -> dict[str, str]:
    r = team.cli(["verify", "--json"])
    return {f["file"]: f["checks"].get("recipients", "?") for f in json.loads(r.stdout)["files"]}


def test_temp_files_of_dead_writers_beside_vault_files_are_skipped_and_removed(
    team: Team,
) -> None:
    team.write(f"{DEV}/app.yaml", "api:\n    token: t\n")
    team.commit("seed")
    dead = team.root / DEV / f".app.yaml.gitvault-{_dead_pid()}-0-0123456789ab.tmp"
    dead.write_bytes(b"")  # a write killed before its first byte
    live = team.root / DEV / f".app.yaml.gitvault-{os.getpid()}-0-0123456789ab.tmp"
    live.write_bytes((team.root / DEV / "app.yaml").read_bytes())
    legacy = team.root / DEV / ".app.yaml.0123456789ab.tmp"  # older gitvault: no pid
    legacy.write_bytes(b"")
    assert _verify_files(team) == {f"{DEV}/app.yaml"}
    r = team.cli(["rekey"])
    assert r.code == 0, r.output
    assert [f["file"] for f in json.loads(team.cli(["rekey", "--json"]).stdout)["files"]] == [
        f"{DEV}/app.yaml"
    ]
    assert not dead.exists()
    assert live.exists()  # its writer (this process) is alive
    live.unlink()
    legacy.unlink()


def test_a_killed_edits_plaintext_is_removed_by_any_next_command(
    team: Team, tmp_path: Path
) -> None:
    team.write(f"{DEV}/app.yaml", "api:\n    token: plain-secret-value\n")
    first_runtime, second_runtime = tmp_path / "run1", tmp_path / "run2"
    first_runtime.mkdir(mode=0o700)
    second_runtime.mkdir(mode=0o700)
    opened = tmp_path / "opened"
    script = tmp_path / "editor.py"
    script.write_text(
        "import os, pathlib, time\n"
        f"pathlib.Path({str(opened)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(600)\n"
    )
    editor = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitvault", "edit", f"{DEV}/app.yaml"],
        cwd=team.root,
        env=racer_env({**team.alice.env, "EDITOR": editor, "XDG_RUNTIME_DIR": str(first_runtime)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not opened.exists() or not opened.read_text():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # no cleanup can run
    proc.wait()
    os.kill(int(opened.read_text()), signal.SIGKILL)
    left = [p for p in first_runtime.rglob("*") if p.is_file()]
    assert left, "the killed edit left no plaintext: nothing to test"
    assert any(b"plain-secret-value" in p.read_bytes() for p in left)
    # any command, with another runtime dir, removes it
    r = subprocess.run(
        [sys.executable, "-m", "gitvault", "whoami"],
        cwd=team.root,
        env=racer_env({**team.alice.env, "XDG_RUNTIME_DIR": str(second_runtime)}),
        capture_output=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert list(first_runtime.iterdir()) == []


def test_temp_files_beside_their_target_when_git_dir_cannot_hold_them_are_git_ignored(
    team: Team,
) -> None:
    team.write(f"{DEV}/app.yaml", "api:\n    token: t\n")
    team.commit("seed")
    blocked = team.root / ".git" / "gitvault" / "tmp"
    if blocked.is_dir():
        blocked.rmdir()
    blocked.write_text("not a directory: writes fall back to temp files beside their target\n")
    r = team.cli(["set", f"{DEV}/app.yaml", "api.token", "t2"])
    assert r.code == 0, r.output
    assert team.values(f"{DEV}/app.yaml") == {"api": {"token": "t2"}}
    # what a write killed at that moment would leave: git does not see it
    (team.root / DEV / f".app.yaml.gitvault-{_dead_pid()}-0-0123456789ab.tmp").write_bytes(b"x")
    status = team.git("status", "--porcelain", "--untracked-files=all").stdout
    assert status.splitlines() == [f" M {DEV}/app.yaml"]
    assert _verify_files(team) == {f"{DEV}/app.yaml"}
    assert not list((team.root / DEV).glob(".*.tmp"))  # and the walk removed it
