"""apply/verify commands: environment passing, redaction, timeout, rollback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitvault.errors import BadInput, ExitCode, RotationFailed
from gitvault.rotate.commands import CommandFailed, redact, run_rotation

NEW = "n3w-S3cret.value"
OLD = "0ld-S3cret.value"


def rotate(tmp_path: Path, **kw: object) -> object:
    args: dict[str, object] = dict(
        file="secrets/db.yaml",
        key="db.password",
        new_value=NEW,
        old_value=OLD,
        apply=None,
        verify=None,
        cwd=tmp_path,
        timeout=10.0,
    )
    args.update(kw)
    return run_rotation(**args)  # type: ignore[arg-type]


def test_values_arrive_through_environment_only(tmp_path: Path) -> None:
    apply = (
        'printf "%s|%s|%s|%s|%s|%s" "$GITVAULT_NEW_VALUE" "$GITVAULT_OLD_VALUE" '
        '"$GITVAULT_HAS_OLD_VALUE" "$GITVAULT_FILE" "$GITVAULT_KEY" "$GITVAULT_PHASE" > applied; '
        'tr "\\0" " " < /proc/$$/cmdline > argv'
    )
    outcome = rotate(tmp_path, apply=apply, verify='grep -q "^$GITVAULT_NEW_VALUE|" applied')
    assert outcome.applied and outcome.verified  # type: ignore[attr-defined]
    assert (tmp_path / "applied").read_text() == f"{NEW}|{OLD}|1|secrets/db.yaml|db.password|apply"
    argv = (tmp_path / "argv").read_text()
    assert NEW not in argv and OLD not in argv


def test_identities_are_withheld(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITVAULT_AGE_KEY", "AGE-SECRET-KEY-1TEST")
    monkeypatch.setenv("PGHOST", "/tmp/sock")
    rotate(tmp_path, apply='printf "%s,%s" "${GITVAULT_AGE_KEY:-none}" "$PGHOST" > env')
    assert (tmp_path / "env").read_text() == "none,/tmp/sock"


def test_no_commands_is_a_no_op(tmp_path: Path) -> None:
    outcome = rotate(tmp_path)
    assert not outcome.applied and not outcome.verified  # type: ignore[attr-defined]


def test_apply_failure_changes_nothing_and_masks_output(tmp_path: Path) -> None:
    apply = 'echo "setting $GITVAULT_NEW_VALUE over $GITVAULT_OLD_VALUE"; exit 3'
    with pytest.raises(CommandFailed) as err:
        rotate(tmp_path, apply=apply, verify="touch verified")
    exc = err.value
    assert isinstance(exc, RotationFailed) and exc.exit_code == ExitCode.ROTATION_FAILED
    assert exc.message == (
        "apply command exited with status 3 for secrets/db.yaml:db.password; nothing was changed"
    )
    assert "setting *** over ***" in exc.details
    for text in (exc.message, exc.details, exc.hint or ""):
        assert NEW not in text and OLD not in text
    assert not (tmp_path / "verify").exists() and not (tmp_path / "verified").exists()


def test_verify_failure_rolls_back(tmp_path: Path) -> None:
    apply = 'echo "$GITVAULT_PHASE:$GITVAULT_NEW_VALUE" >> state'
    with pytest.raises(CommandFailed) as err:
        rotate(tmp_path, apply=apply, verify='echo "no login with $GITVAULT_NEW_VALUE"; exit 1')
    exc = err.value
    assert "rolled back: apply ran again with the previous value" in exc.message
    assert not exc.rollback_failed
    assert (tmp_path / "state").read_text().splitlines() == [f"apply:{NEW}", f"rollback:{OLD}"]
    assert "no login with ***" in exc.details and NEW not in exc.details


def test_rollback_failure_is_loud(tmp_path: Path) -> None:
    apply = '[ "$GITVAULT_PHASE" = apply ]'
    with pytest.raises(CommandFailed) as err:
        rotate(tmp_path, apply=apply, verify="exit 1")
    assert "ROLLBACK FAILED" in err.value.message and err.value.rollback_failed


def test_verify_failure_without_old_value_cannot_roll_back(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed) as err:
        rotate(tmp_path, apply="true", verify="false", old_value=None)
    assert "ROLLBACK IMPOSSIBLE" in err.value.message


def test_verify_only_failure(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="no apply command ran, nothing was changed"):
        rotate(tmp_path, verify="false")


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The shell starts a background grandchild; both must be gone after the timeout.
    apply = "sleep 60 & echo $! > grandchild; sleep 60"
    started = time.monotonic()
    with pytest.raises(CommandFailed, match="apply command timed out after") as err:
        rotate(tmp_path, apply=apply, timeout=0.5)
    assert time.monotonic() - started < 8
    assert "nothing was changed" in err.value.message
    pid = int((tmp_path / "grandchild").read_text())
    time.sleep(0.2)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """True for a running process; a zombie awaiting its reaper counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        rotate(tmp_path, apply="true", new_value="a\0b")
    with pytest.raises(BadInput):
        rotate(tmp_path, apply="true", timeout=0)


def test_cwd_is_used(tmp_path: Path) -> None:
    rotate(tmp_path, apply="pwd > where")
    assert Path((tmp_path / "where").read_text().strip()).resolve() == tmp_path.resolve()


def test_redact_longest_first_and_truncation() -> None:
    assert redact(b"abc abcdef", ("abc", "abcdef")) == "*** ***"
    assert redact(b"x", ("",)) == "x"
    assert len(redact(b"y" * 100_000, ())) < 9000
