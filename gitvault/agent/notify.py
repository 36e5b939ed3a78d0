"""Tell services their output changed, and prove they still work.

Three ways to notify (one per output, config ``notify``): a signal to a
process (``pid`` or ``pidfile``), a reload command, or the child the agent
supervises (``agent -- CMD``: a signal, or ``restart``). Each waits
``delay`` plus a random ``splay`` first, so a fleet of agents following the
same branch does not reload every replica in the same second.

Then the optional health command runs (``attempts`` tries, ``interval``
apart, each under ``timeout``). Commands get the agent's environment without
the identity variables (``GITVAULT_AGE_KEY`` …) and no secret: they read the
outputs like the service does. Their output is discarded — a reload script
that prints a value must not put it in the agent's log.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal as signals
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import BadInput

if TYPE_CHECKING:
    from gitvault.agent.config import Health, Notify

MAX_PIDFILE_BYTES = 64


class NotifyFailed(BadInput):
    """A notification or health check failed (the caller restores and reports)."""


def clean_env() -> dict[str, str]:
    """The agent's environment without any identity variable."""
    from gitvault.identities import IDENTITY_VARIABLES

    env = dict(os.environ)
    for name in IDENTITY_VARIABLES:
        env.pop(name, None)
    return env


def read_pidfile(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_PIDFILE_BYTES + 1)
    except OSError as exc:
        raise NotifyFailed(f"pidfile {path}: {exc.strerror}") from None
    token = text.decode("ascii", "replace").strip()
    if len(text) > MAX_PIDFILE_BYTES or not token.isdigit() or int(token) <= 1:
        raise NotifyFailed(f"pidfile {path}: does not hold a process id")
    return int(token)


def run_command(argv: Sequence[str], timeout: float) -> str | None:
    """Run ``argv``; None on exit 0, else why it failed (no output is kept)."""
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g}s"
    except FileNotFoundError:
        return "command not found"
    except PermissionError:
        return "command not executable"
    if proc.returncode < 0:
        return f"killed by signal {-proc.returncode}"
    return None if proc.returncode == 0 else f"exit status {proc.returncode}"


class Child:
    """The process ``agent -- CMD`` supervises: started once, signalled or restarted on change."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, env=clean_env())

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def poll(self) -> int | None:
        """The child's exit status once it has exited on its own (else None)."""
        if self.proc is None:
            return None
        return self.proc.poll()

    def signal(self, sig: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise NotifyFailed("the supervised command is not running")
        self.proc.send_signal(sig)

    def stop(self, sig: int = signals.SIGTERM, window: float = 10.0) -> int | None:
        """Signal the child, wait up to ``window`` seconds, then kill it."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=window)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def restart(self, window: float) -> None:
        self.stop(window=window)
        self.restarts += 1
        self.start()


def wait_splay(spec: Notify) -> None:
    pause = spec.delay + (random.uniform(0, spec.splay) if spec.splay else 0.0)  # noqa: S311
    if pause > 0:
        time.sleep(pause)


def notify(spec: Notify, child: Child | None) -> None:
    """Send one notification (after its delay and splay); :class:`NotifyFailed` on failure."""
    from gitvault.agent.fields import signal_number

    wait_splay(spec)
    if spec.signal is not None:
        pid = spec.pid if spec.pid is not None else read_pidfile(spec.pidfile)  # type: ignore[arg-type]
        try:
            os.kill(pid, spec.signal)
        except ProcessLookupError:
            raise NotifyFailed(f"process {pid} is not running") from None
        except PermissionError:
            raise NotifyFailed(f"not allowed to signal process {pid}") from None
        return
    if spec.command:
        why = run_command(spec.command, spec.timeout)
        if why is not None:
            raise NotifyFailed(f"reload command {spec.command[0]}: {why}")
        return
    if spec.child is not None:
        if child is None:
            raise NotifyFailed("notify: child needs `gitvault agent … -- CMD`")
        if child.proc is None:
            return  # not started yet: it reads the outputs when it starts
        if spec.child.lower() == "restart":
            child.restart(spec.timeout)
        else:
            child.signal(signal_number(spec.child, "notify.child"))


def healthy(spec: Health) -> str | None:
    """Run the health command until it passes; None when healthy, else the last reason."""
    why: str | None = "not run"
    for attempt in range(spec.attempts):
        if attempt:
            time.sleep(spec.interval)
        why = run_command(spec.command, spec.timeout)
        if why is None:
            return None
    return f"health command {spec.command[0]}: {why} ({spec.attempts} attempt(s))"
