"""The long-running agent: cycles on an interval with jitter, on SIGHUP, on the trigger.

Signals: SIGHUP wakes the loop for a cycle now; SIGTERM and SIGINT stop it
after the current cycle (a switch is never left half-done by a polite stop)
and are passed on to the supervised child. With ``-- CMD`` the child starts
once every output exists, and when it exits on its own the agent exits with
its status (128+N when a signal N killed it), as a supervisor should.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitvault.agent.cycle import Agent
    from gitvault.agent.notify import Child

POLL = 0.25  # seconds: how often the wait looks at the child


def next_delay(interval: float, jitter: float) -> float:
    """The interval, moved by up to ``jitter`` of itself either way (spreads a fleet)."""
    return max(0.05, interval * (1 + random.uniform(-jitter, jitter)))  # noqa: S311


def run(agent: Agent, child: Child | None) -> int:
    """Cycle until stopped; returns the process exit code."""
    cfg = agent.cfg
    wake = threading.Event()
    stop = threading.Event()
    got: list[int] = []
    hups: list[int] = []

    # Handlers only set flags: logging from a handler could interrupt a log write.
    def on_hup(signum: int, frame: Any) -> None:
        hups.append(signum)
        wake.set()

    def on_stop(signum: int, frame: Any) -> None:
        got.append(signum)
        stop.set()
        wake.set()

    previous = {
        signal.SIGHUP: signal.signal(signal.SIGHUP, on_hup),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_stop),
        signal.SIGINT: signal.signal(signal.SIGINT, on_stop),
    }
    server = _start_trigger(agent, wake)
    agent.log.info(
        "started",
        "agent following " + cfg.branch,
        branch=cfg.branch,
        interval=cfg.interval,
        outputs=[o.name for o in cfg.outputs],
        trigger=f"{cfg.trigger.host}:{cfg.trigger.port}" if cfg.trigger else None,
    )
    code = 0
    try:
        while not stop.is_set():
            wake.clear()
            if hups:
                hups.clear()
                agent.log.info("sighup", "fetch requested by SIGHUP")
            try:
                agent.cycle()
            except Exception as exc:  # a bug or an OS error must not end the delivery loop
                # The type only: an exception's text is not ours to vouch for (no value in logs).
                agent.log.error("internal-error", f"cycle failed: {type(exc).__name__}")
            ready = all(o.path.exists() for o in cfg.outputs)
            if child is not None and child.proc is None and not stop.is_set() and ready:
                try:
                    child.start()
                except OSError as exc:
                    agent.log.error("child-failed", f"cannot start the command: {exc.strerror}")
                    code = 127 if isinstance(exc, FileNotFoundError) else 126
                    break
                agent.log.info("child-started", "supervised command started", pid=child.pid)
            deadline = time.monotonic() + next_delay(cfg.interval, cfg.jitter)
            while not stop.is_set() and not wake.is_set():
                exited = child.poll() if child is not None else None
                if exited is not None:
                    code = exited if exited >= 0 else 128 - exited
                    agent.log.info("child-exited", "supervised command exited", status=exited)
                    stop.set()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wake.wait(min(POLL, remaining))
    finally:
        if server is not None:
            server.stop()
        if child is not None and child.proc is not None and child.poll() is None:
            sig = got[0] if got else signal.SIGTERM
            status = child.stop(sig)
            if status is not None:
                code = status if status >= 0 else 128 - status
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        agent.log.info("stopped", "agent stopped", code=code)
    return code


def _start_trigger(agent: Agent, wake: threading.Event) -> Any:
    cfg = agent.cfg
    if cfg.trigger is None:
        return None
    from gitvault.agent.trigger import TriggerServer, read_token

    def on_event(event: str, client: str) -> None:
        if event == "trigger":
            agent.log.info("trigger", "fetch requested over HTTP", client=client)
        else:
            agent.log.warn(
                "trigger-refused", "trigger with a wrong or missing token", client=client
            )

    token = read_token(cfg.trigger.token_file)
    try:
        server = TriggerServer(cfg.trigger.host, cfg.trigger.port, token, wake.set, on_event)
    except OSError as exc:
        from gitvault.errors import BadInput

        raise BadInput(
            f"trigger: cannot listen on {cfg.trigger.host}:{cfg.trigger.port} ({exc.strerror})"
        ) from None
    server.start()
    return server
