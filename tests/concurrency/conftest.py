"""Racing real ``python -m gitvault`` processes against each other.

:func:`race` starts every command as its own process through
:mod:`tests.concurrency.launch`, waits until each has imported everything and
is parked at the barrier, then releases them all at once by creating the start
file. The fixtures of ``tests/team`` (three people, a policy, a real
repository, a ``gitvault`` on PATH for git's drivers) are reused here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.team.conftest import gitvault_on_path, team  # noqa: F401 - fixtures reused

ROOT = Path(__file__).resolve().parents[2]

# How long a writer waits for another one before it gives up (seconds). Long
# enough that, on a loaded two-core machine, every racer normally gets its turn.
LOCK_WAIT = "60"


@dataclass(frozen=True)
class Finished:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def racer_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env["GITVAULT_LOCK_TIMEOUT"] = LOCK_WAIT
    env.update(extra)
    return env


def start(
    commands: Sequence[Sequence[str]],
    *,
    cwd: Path,
    barrier: Path,
    env: Mapping[str, str],
    stdin: Sequence[bytes | None] | None = None,
    delays: Sequence[float] | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Start every command parked at ``barrier``; returns once all of them are ready."""
    procs = []
    for i, args in enumerate(commands):
        data = stdin[i] if stdin is not None else None
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.concurrency.launch",
                str(barrier),
                str(delays[i] if delays is not None else 0),
                *args,
            ],
            cwd=cwd,
            env=racer_env(env),
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if data is not None:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.close()
        procs.append(proc)
    deadline = time.monotonic() + 120
    for proc in procs:
        ready = Path(f"{barrier}.ready.{proc.pid}")
        while not ready.exists():
            if proc.poll() is not None:
                _out, err = proc.communicate()
                raise AssertionError(f"racer died before the barrier: {err.decode()}")
            assert time.monotonic() < deadline, "racers never became ready"
            time.sleep(0.005)
    return procs


def finish(procs: Sequence[subprocess.Popen[bytes]]) -> list[Finished]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(
            Finished(
                tuple(str(a) for a in proc.args[5:]),  # type: ignore[index]
                proc.returncode,
                stdout.decode(errors="replace"),
                stderr.decode(errors="replace"),
            )
        )
    return out


def race(
    commands: Sequence[Sequence[str]],
    *,
    cwd: Path,
    barrier: Path,
    env: Mapping[str, str],
    stdin: Sequence[bytes | None] | None = None,
    delays: Sequence[float] | None = None,
) -> list[Finished]:
    """Run ``commands`` as processes released together (each after its delay, in seconds)."""
    procs = start(commands, cwd=cwd, barrier=barrier, env=env, stdin=stdin, delays=delays)
    barrier.touch()
    try:
        return finish(procs)
    finally:
        barrier.unlink()
        for ready in barrier.parent.glob(barrier.name + ".ready.*"):
            ready.unlink()
