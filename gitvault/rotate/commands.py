"""Run a rotation's ``apply`` and ``verify`` commands, with rollback.

The commands come from the policy (``apply:``/``verify:`` strings) or from
flags, and run through ``sh -c`` with the repository root as working directory.
Values reach them only through the environment:

    GITVAULT_NEW_VALUE   the value to install (on rollback: the previous value)
    GITVAULT_OLD_VALUE   the value being replaced (empty when there was none)
    GITVAULT_HAS_OLD_VALUE  "1" or "0"
    GITVAULT_FILE        the vault file, relative to the repository root
    GITVAULT_KEY         the key path, e.g. ``db.password``
    GITVAULT_PHASE       ``apply``, ``verify`` or ``rollback``

Order: apply(new) → verify(new). apply fails → :class:`RotationFailed`, nothing
changed. verify fails → apply(old) again (rollback), then RotationFailed saying
what was rolled back, or loudly that the rollback itself failed.

Each command runs in its own process group with a timeout; on timeout the whole
group is killed. Output is captured, never streamed, and shown only inside a
failure, with every occurrence of the old or new value replaced by ``***``.

This module must never put a value into argv, a message, or a log line, and
never hands the child our own identities (``GITVAULT_AGE_KEY`` and friends are
removed from its environment).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import BadInput, RotationFailed
from gitvault.identities import IDENTITY_VARIABLES

DEFAULT_TIMEOUT = 120.0
_KILL_GRACE = 3.0
_OUTPUT_LIMIT = 8192
# (phase, command, new value, old value) -> run; see run_rotation.
_Runner = Callable[[str, str, str, "str | None"], "CommandRun"]
# Our own decryption keys never reach a rotation command.
_WITHHELD = IDENTITY_VARIABLES


@dataclass(frozen=True)
class CommandRun:
    """The outcome of one command; ``output`` is already redacted."""

    phase: str
    command: str
    returncode: int | None  # None: killed after the timeout
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """A one-line summary without values: what ran and how it ended."""
        if self.returncode is None:
            return f"{self.phase} command timed out after {self.seconds:.0f}s"
        return f"{self.phase} command exited with status {self.returncode}"


@dataclass(frozen=True)
class RotationOutcome:
    """What happened for one key: both commands succeeded (else we raised)."""

    file: str
    key: str
    applied: bool
    verified: bool
    runs: tuple[CommandRun, ...] = ()


class CommandFailed(RotationFailed):
    """A RotationFailed that carries the redacted runs, for the CLI to show.

    ``details`` is multi-line: each failed command's summary and captured output,
    values replaced by ``***``. ``rollback_failed`` is True when the external
    system may now hold the new value that will not be committed.
    """

    def __init__(
        self,
        message: str,
        *,
        runs: tuple[CommandRun, ...],
        rollback_failed: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.runs = runs
        self.rollback_failed = rollback_failed

    @property
    def details(self) -> str:
        chunks = []
        for run in self.runs:
            if not run.ok:
                chunks.append(f"--- {run.describe()}: {run.command}")
                if run.output:
                    chunks.append(run.output.rstrip("\n"))
        return "\n".join(chunks)


def redact(data: bytes, values: tuple[str, ...]) -> str:
    """Replace every occurrence of each non-empty value with ``***``; decode."""
    # Longest first, so a value that contains another is masked whole.
    for value in sorted((v for v in values if v), key=len, reverse=True):
        data = data.replace(value.encode(), b"***")
    if len(data) > _OUTPUT_LIMIT:
        data = b"[... output truncated ...]\n" + data[-_OUTPUT_LIMIT:]
    return data.decode("utf-8", errors="replace")


def _child_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in _WITHHELD}
    env.update(extra)
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_KILL_GRACE)
    # Whatever is left in the group (the leader, or children that ignored
    # SIGTERM) goes now.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """Linux: the command gets SIGTERM when gitvault dies (SIGKILL, OOM).

    A command in its own session would otherwise go on installing a value after
    the journal stopped tracking it, and race with ``gitvault recover``. The
    journal also records its process group (see :mod:`gitvault.journal`) for a
    command that ignores SIGTERM.
    """
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def run_command(
    phase: str,
    command: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    secrets_to_mask: tuple[str, ...],
    timeout: float,
    on_start: Callable[[int], None] | None = None,
) -> CommandRun:
    """Run ``sh -c command`` in its own process group; capture and redact output.

    ``on_start`` gets the process (and group) id as soon as it runs: the
    journal records it, so recovery can tell that a command outlived us.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        ["sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group, so a timeout kills all of it
        preexec_fn=_die_with_parent(os.getpid()),
    )
    try:
        if on_start is not None:
            on_start(proc.pid)
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            # A grandchild that escaped the group may still hold the pipe open.
            out, _ = proc.communicate(timeout=_KILL_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            out = b""
        code = None
    except BaseException:
        # Ctrl-C or SIGTERM while a command runs: do not leave it behind.
        _kill_group(proc)
        raise
    return CommandRun(
        phase=phase,
        command=command,
        returncode=code,
        seconds=time.monotonic() - started,
        output=redact(out or b"", secrets_to_mask),
    )


def check_passable(file: str, key: str, new_value: str, old_value: str | None) -> None:
    """Refuse values an apply/verify command's environment cannot carry (a NUL byte)."""
    for name, value in (("new value", new_value), ("old value", old_value or "")):
        if "\x00" in value:
            raise BadInput(f"{name} of {file}:{key} contains a NUL byte and cannot be passed on")


def run_rotation(
    *,
    file: str,
    key: str,
    new_value: str,
    old_value: str | None,
    apply: str | None,
    verify: str | None,
    cwd: Path,
    timeout: float = DEFAULT_TIMEOUT,
    base_env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RotationOutcome:
    """Install ``new_value`` with ``apply`` and prove it with ``verify``.

    Returns a :class:`RotationOutcome` when every given command succeeded (no
    commands at all is a success with nothing applied). Raises
    :class:`CommandFailed` (a :class:`RotationFailed`, exit 7) otherwise, after
    rolling back a failed verify by running ``apply`` with the old value.
    """
    if apply or verify:
        check_passable(file, key, new_value, old_value)
    if timeout <= 0:
        raise BadInput("rotation command timeout must be positive")
    masks = (new_value, old_value or "")
    base = os.environ if base_env is None else base_env
    where = f"{file}:{key}"

    def env_for(phase: str, new: str, old: str | None) -> dict[str, str]:
        return _child_env(
            base,
            {
                "GITVAULT_NEW_VALUE": new,
                "GITVAULT_OLD_VALUE": old or "",
                "GITVAULT_HAS_OLD_VALUE": "1" if old is not None else "0",
                "GITVAULT_FILE": file,
                "GITVAULT_KEY": key,
                "GITVAULT_PHASE": phase,
            },
        )

    def run(phase: str, command: str, new: str, old: str | None) -> CommandRun:
        return run_command(
            phase,
            command,
            cwd=cwd,
            env=env_for(phase, new, old),
            secrets_to_mask=masks,
            timeout=timeout,
            on_start=on_start,
        )

    runs: list[CommandRun] = []
    if apply:
        applied = run("apply", apply, new_value, old_value)
        runs.append(applied)
        if not applied.ok:
            raise CommandFailed(
                f"{applied.describe()} for {where}; nothing was changed",
                runs=tuple(runs),
                hint="the command's output (values masked) is shown above",
            )
    if verify:
        verified = run("verify", verify, new_value, old_value)
        runs.append(verified)
        if not verified.ok:
            _roll_back(where, apply, old_value, new_value, runs, run)
    return RotationOutcome(
        file=file, key=key, applied=bool(apply), verified=bool(verify), runs=tuple(runs)
    )


def _roll_back(
    where: str,
    apply: str | None,
    old_value: str | None,
    new_value: str,
    runs: list[CommandRun],
    run: _Runner,
) -> None:
    """Undo a verified-bad apply; always raises."""
    failed = runs[-1].describe()
    if not apply:
        raise CommandFailed(
            f"{failed} for {where}; no apply command ran, nothing was changed",
            runs=tuple(runs),
        )
    if old_value is None:
        raise CommandFailed(
            f"{failed} for {where}; ROLLBACK IMPOSSIBLE: there is no previous value, "
            "the system may now hold the new value, which was not committed",
            runs=tuple(runs),
            rollback_failed=True,
            hint="check the system by hand before retrying",
        )
    rollback = run("rollback", apply, old_value, new_value)
    runs.append(rollback)
    if rollback.ok:
        raise CommandFailed(
            f"{failed} for {where}; rolled back: apply ran again with the previous value, "
            "nothing was committed",
            runs=tuple(runs),
        )
    raise CommandFailed(
        f"{failed} for {where}; ROLLBACK FAILED ({rollback.describe()}): the system may "
        "now hold the new value, which was not committed",
        runs=tuple(runs),
        rollback_failed=True,
        hint="check the system by hand before retrying",
    )
