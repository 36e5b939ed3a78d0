"""SIGKILL ``rotate`` at random moments: no value an external system holds is lost.

Before the write journal, a kill during ``git commit`` (here: a slow
pre-commit hook) lost the new value in most trials: ``rotate`` wrote the file
*without* it, committed, and put it back afterwards.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.crash.conftest import TRIALS, F, Lab, script, slow_hook

KEYS = ("db.password", "api_token")


def _commands(lab: Lab, scripts: Path, *, broken: Path | None = None) -> tuple[str, str]:
    """apply installs the value in the external system (atomically) and logs it;
    verify checks that the system holds GITVAULT_NEW_VALUE (and fails for
    db.password while ``broken`` exists)."""
    ext = lab.ext
    apply = script(
        scripts,
        "apply",
        f"""
sleep 0.05
if [ "$GITVAULT_PHASE" = rollback ] && [ -e "{broken}" ]; then exit 1; fi
printf '%s\\n' "$GITVAULT_NEW_VALUE" >> "{ext}/installed"
printf %s "$GITVAULT_NEW_VALUE" > "{ext}/$GITVAULT_KEY.tmp"
mv "{ext}/$GITVAULT_KEY.tmp" "{ext}/$GITVAULT_KEY"
""",
    )
    verify = script(
        scripts,
        "verify",
        f"""
sleep 0.05
if [ "$GITVAULT_KEY" = db.password ] && [ -e "{broken}" ]; then exit 1; fi
[ "$(cat "{ext}/$GITVAULT_KEY")" = "$GITVAULT_NEW_VALUE" ]
""",
    )
    return apply, verify


def _installed(lab: Lab) -> set[str]:
    path = lab.ext / "installed"
    return set(path.read_text().split()) if path.exists() else set()


def _check_after_kill(lab: Lab, keys: tuple[str, ...]) -> None:
    """The invariants right after the kill, before anything else runs."""
    for key in keys:
        on_disk = lab.value(key)  # whole file, MAC verified
        held = lab.external(key)
        assert held is not None
        assert held == on_disk or held in lab.journal_values(key), (
            f"the value the external system holds for {key} is in neither the file nor "
            "the journal: it is lost"
        )


def _recover(lab: Lab) -> None:
    """What the user does next: see the hint, then finish or undo."""
    if not lab.pending():
        assert lab.gv("recover").returncode == 0  # the next run: nothing to recover
        return
    hinted = lab.gv("decrypt", F, "--extract", "db.port")
    assert hinted.returncode == 0
    assert "gitvault recover" in hinted.stderr
    listed = lab.gv("recover", "--json")
    assert listed.returncode == 1 and '"operations"' in listed.stdout
    if lab.rng.random() < 0.3:
        undone = lab.gv("recover", "--undo")
        # Refused exactly when an apply may have run; then finishing is the way.
        assert undone.returncode in (0, 1), undone.stderr
        if undone.returncode == 0:
            return
    finished = lab.gv("recover", "--finish")
    assert finished.returncode == 0, finished.stderr


def _check_after_recovery(lab: Lab, keys: tuple[str, ...]) -> None:
    assert not lab.pending()
    for key in keys:
        held = lab.external(key)
        assert held == lab.value(key) == lab.head_value(key), f"{key} out of step"
    status = git(lab.root, "status", "--porcelain").stdout.splitlines()
    # Temp files of a killed atomic write hold ciphertext only; cleaning them up
    # is the temp-file sweep's job, not the journal's.
    assert [s for s in status if not s.endswith(".tmp")] == []
    assert git(lab.root, "diff", "--cached", "--stat").stdout == ""
    lab.assert_no_plaintext(_installed(lab) | lab.seen)


def test_rotate_killed_anywhere_keeps_the_applied_value(lab: Lab, tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    apply, verify = _commands(lab, scripts)
    slow_hook(lab.root, 0.4)
    args = ["rotate", F, "db.password", "--generate", "hex:16", "--apply", apply]
    args += ["--verify", verify]
    length = lab.timed_run(args)
    killed = 0
    for _ in range(TRIALS):
        code = lab.kill_during(args, length)
        killed += code is None
        _check_after_kill(lab, ("db.password",))
        _recover(lab)
        _check_after_recovery(lab, ("db.password",))
    assert killed >= TRIALS // 2  # the kills really landed
    lab.timed_run(args)  # and the command still works


def test_failed_rollback_during_a_slow_commit(lab: Lab, tmp_path: Path) -> None:
    """db.password's verify fails and so does its rollback, while api_token commits slowly."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    broken = tmp_path / "broken"
    apply, verify = _commands(lab, scripts, broken=broken)
    slow_hook(lab.root, 0.4)
    args = ["rotate", F, "api_token", "db.password", "--generate", "hex:16"]
    args += ["--apply", apply, "--verify", verify]
    broken.touch()
    r = lab.gv(*args)
    assert r.returncode == 7, r.stderr
    assert "recover" in r.stderr
    # The system holds db.password's new value: the file keeps it, the journal says so.
    assert lab.external("db.password") == lab.value("db.password")
    assert lab.pending()
    broken.unlink()  # someone fixed the system; finishing verifies and commits
    assert lab.gv("recover", "--finish").returncode == 0
    _check_after_recovery(lab, KEYS)

    length = 3.0
    for _ in range(TRIALS):
        broken.touch()
        lab.kill_during(args, length)
        _check_after_kill(lab, KEYS)
        broken.unlink()
        _recover(lab)
        _check_after_recovery(lab, KEYS)
