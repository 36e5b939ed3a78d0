"""Writers racing each other as real processes: no update may be lost silently.

Every racer either succeeds and its change is in the file afterwards, or fails
loudly with exit 6 (another gitvault process holds the file) and a one-line
``gitvault: error:`` message. A racer that exits 0 while its value is gone is
the bug these tests exist for. Each test runs a fixed number of trials.
"""

from __future__ import annotations

import json
from pathlib import Path

from gitvault.sops.file import parse_vault
from tests.concurrency.conftest import Finished, race
from tests.team.conftest import Team

APP = "secrets/dev/app.yaml"
DB = "secrets/prod/db.yaml"
LOCKED = 6  # DESIGN §5 / README: another gitvault process holds the file (or git failed)
TRIALS = 12


def _loud_or_ok(f: Finished) -> bool:
    if f.code == 0:
        return True
    lines = [ln for ln in f.stderr.splitlines() if ln.strip()]
    return f.code == LOCKED and bool(lines) and lines[0].startswith("gitvault: error: ")


def test_parallel_sets_of_different_keys_all_land(team: Team, tmp_path: Path) -> None:
    team.write(APP, "base: 1\n")
    team.commit("seed")
    barrier = tmp_path / "go"
    lost = []
    for trial in range(TRIALS):
        commands = [["set", APP, f"k{i}", f"v{trial}-{i}"] for i in range(3)]
        results = race(commands, cwd=team.root, barrier=barrier, env=team.alice.env)
        values = team.values(APP)
        for i, f in enumerate(results):
            assert _loud_or_ok(f), (f.code, f.stderr)
            if f.code == 0 and values.get(f"k{i}") != f"v{trial}-{i}":
                lost.append((trial, i))
        assert values["base"] == 1
    assert lost == [], f"set exited 0 but its value is gone: {lost}"


def test_parallel_set_commits_all_land_in_history(team: Team, tmp_path: Path) -> None:
    team.write(APP, "base: 1\n")
    team.commit("seed")
    barrier = tmp_path / "go"
    for trial in range(4):
        commands = [["set", APP, f"k{i}", f"v{trial}-{i}", "--commit"] for i in range(3)]
        results = race(commands, cwd=team.root, barrier=barrier, env=team.alice.env)
        values = team.values(APP)
        for i, f in enumerate(results):
            assert _loud_or_ok(f), (f.code, f.stderr)
            if f.code == 0:
                assert values[f"k{i}"] == f"v{trial}-{i}", (trial, i)
        # what was reported as committed is committed: the work tree is clean
        assert team.git("status", "--porcelain").stdout == ""


def test_set_racing_rekey_loses_neither_the_value_nor_the_rekey(team: Team, tmp_path: Path) -> None:
    team.write(DB, "db:\n    password: p1\n")
    team.commit("seed")
    encrypted_to_bob = (team.root / DB).read_bytes()
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    barrier = tmp_path / "go"
    problems = []
    for trial in range(TRIALS):
        (team.root / DB).write_bytes(encrypted_to_bob)
        # rekey needs longer than set to reach its write: sweep set's start
        # across rekey's read-modify-write window, one step per trial
        results = race(
            [["set", DB, "db.extra", f"x{trial}"], ["rekey", DB]],
            cwd=team.root,
            barrier=barrier,
            env=team.alice.env,
            delays=[0.025 * trial, 0],
        )
        set_result, rekey_result = results
        assert _loud_or_ok(set_result), set_result.stderr
        assert _loud_or_ok(rekey_result), rekey_result.stderr
        values = team.values(DB)
        recipients = parse_vault((team.root / DB).read_bytes(), DB).recipients
        if set_result.code == 0 and values.get("db", {}).get("extra") != f"x{trial}":
            problems.append((trial, "value lost"))
        if rekey_result.code == 0 and team.bob.public in recipients:
            problems.append((trial, "still encrypted to bob after rekey said ok"))
        assert values["db"]["password"] == "p1"
    assert problems == []


def test_rekey_report_and_set_agree_on_recipients(team: Team, tmp_path: Path) -> None:
    """After the race the file verifies: recipients as the policy says, MAC intact."""
    team.write(DB, "db:\n    password: p1\n")
    team.commit("seed")
    r = team.cli(["recipients", "remove", "bob"])
    assert r.code == 0, r.output
    barrier = tmp_path / "go"
    results = race(
        [["rekey"], ["set", DB, "db.extra", "x"], ["set", DB, "db.other", "y"]],
        cwd=team.root,
        barrier=barrier,
        env=team.alice.env,
    )
    assert all(f.code == 0 for f in results), [(f.code, f.stderr) for f in results]
    r = team.cli(["verify", "--json"])
    files = {f["file"]: f for f in json.loads(r.stdout)["files"]}
    assert files[DB]["checks"]["recipients"] == "ok"
    assert team.values(DB)["db"] == {"password": "p1", "extra": "x", "other": "y"}


def test_parallel_recipients_add_both_land(team: Team, tmp_path: Path) -> None:
    import pyrage

    barrier = tmp_path / "go"
    for trial in range(4):
        keys = [str(pyrage.x25519.Identity.generate().to_public()) for _ in range(2)]
        names = [f"p{trial}x{i}" for i in range(2)]
        results = race(
            [["recipients", "add", n, k] for n, k in zip(names, keys, strict=True)],
            cwd=team.root,
            barrier=barrier,
            env=team.alice.env,
        )
        policy = (team.root / ".gitvault.yaml").read_text()
        for name, f in zip(names, results, strict=True):
            assert _loud_or_ok(f), f.stderr
            if f.code == 0:
                assert f"{name}:" in policy, (trial, name)
