"""One agent cycle: fetch, gate, render, switch, notify, prove, report.

:class:`Agent` owns the clone, the state and the status; :meth:`Agent.cycle`
runs one cycle and returns a :class:`~gitvault.agent.cyclereport.CycleReport`
(what ``--once`` prints and exits with); rendering, switching and notifying
live in its base, :class:`gitvault.agent.delivery.Delivery`. The outcome of
a cycle, in order of what is worst:

* the fetch failed (exit 6): nothing changes, outputs keep being served;
* the new tip was refused by the gate (exit 1): the work tree goes back to
  the applied commit, outputs keep being served, the status says why; the
  same tip is not judged again until the branch moves;
* an output could not be rendered (exit 3/4/5, the error's own code): its
  switch group writes nothing;
* a notification or health check failed (exit 7): the group's previous
  outputs are restored and notified again; that commit is not retried for
  that group until a newer one arrives;
* otherwise exit 0: applied, or already current.

Outputs are re-rendered every cycle in which something may have changed (a
new commit, a grace period that may have ended, an output file that changed
on disk) and written only when their bytes differ.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

from gitvault.agent import follow
from gitvault.agent.config import Config
from gitvault.agent.cyclereport import CycleReport
from gitvault.agent.delivery import Delivery
from gitvault.agent.gate import Refused
from gitvault.agent.outputs import recover, stray_temps
from gitvault.agent.status import Log, State, now_iso
from gitvault.errors import BadInput, ExitCode, GitError, GitvaultError

if TYPE_CHECKING:
    from gitvault.agent.notify import Child
    from gitvault.identities import Identities


class Agent(Delivery):
    """The agent for one configuration (one clone, one state, one status file)."""

    def __init__(
        self, cfg: Config, log: Log, *, dry_run: bool = False, child: Child | None = None
    ) -> None:
        super().__init__(cfg, log, dry_run=dry_run, child=child)
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Create or open the clone, lock it, finish an interrupted switch."""
        follow.ensure_clone(self.cfg.checkout, self.cfg.remote)
        self._lock()
        # We hold the lock: a leftover index.lock is a killed git of ours.
        with contextlib.suppress(FileNotFoundError):
            (self.cfg.checkout / ".git" / "index.lock").unlink()
        if not self.dry_run:
            done = recover(self.state_dir)
            if done:
                self.log.warn("recovered", done)
            prefixes = tuple(f".{o.path.name}.gvagent-" for o in self.cfg.outputs)
            for tmp in stray_temps([o.path for o in self.cfg.outputs]):
                if tmp.name.startswith(prefixes):
                    with contextlib.suppress(OSError):
                        tmp.unlink()
        self.state = State.load(self.state_dir / "state.json")
        if self.state.applied is not None and follow.head(self.cfg.checkout) != self.state.applied:
            with contextlib.suppress(GitError):
                follow.checkout_commit(self.cfg.checkout, self.state.applied)

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise GitError(
                f"{self.cfg.checkout}: another gitvault agent is using this checkout"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------ cycle

    def cycle(self) -> CycleReport:
        """One fetch/verify/render/notify cycle (never raises a GitvaultError)."""
        from gitvault.identities import load_identities

        started = time.monotonic()
        self.status.checked_at = now_iso()
        report = CycleReport("current", 0, dry_run=self.dry_run, applied=self.state.applied)
        try:
            ids = load_identities(self.cfg.identity)
            report.tip = follow.fetch(
                self.cfg.checkout, self.cfg.branch, timeout=self.cfg.fetch_timeout
            )
        except GitvaultError as err:
            return self._failed(report, err)
        applied = self.state.applied
        target = applied
        old_vars: dict[str, dict[str, Any]] | None = None
        if report.tip != applied:
            target, old_vars = self._consider(report, applied, report.tip, ids)
        if target is None:
            report.message = report.message or "no commit applied yet"
            return self._finish(report, started)
        if target == applied and self._idle(target):
            return self._finish(report, started)
        try:
            self._render_all(report, target, ids, old_vars)
        except OSError as exc:  # an output directory we may not write, a full disk
            self._failed(report, BadInput(f"cannot write the outputs: {exc.strerror}"))
            return self._finish(report, started)
        finally:
            if self.dry_run and applied is not None and target != applied:
                follow.checkout_commit(self.cfg.checkout, applied)
        if target != applied and not self.dry_run:
            self.state.applied = target
            self.state.refused, self.state.refused_reason = None, ""
            self.status.applied_commit, self.status.applied_at = target, now_iso()
            report.applied = target
            self._save_state()
            if report.outcome == "current":
                report.outcome = "applied"
        if self.dry_run and target != applied and report.outcome == "current":
            report.outcome = "applied"
        return self._finish(report, started)

    def _consider(
        self, report: CycleReport, applied: str | None, tip: str, ids: Identities
    ) -> tuple[str | None, dict[str, dict[str, Any]] | None]:
        """Gate the new tip; returns (commit to render, variables before) — applied if refused."""
        from gitvault.agent import gate

        if self.state.refused == tip and not self.dry_run:
            self._refused(report, self.state.refused_reason or f"update to {tip[:12]} refused")
            return applied, None
        old_vars = self._variables_now(ids) if applied is not None else None
        try:
            gate.fast_forward(self.cfg.checkout, applied, tip)
            follow.checkout_commit(self.cfg.checkout, tip)
            verdict = gate.judge(self.cfg, applied, tip, ids)
            report.warnings.extend(verdict.warnings)
            verdict.refuse()
        except Refused as err:
            self._back_to(applied)
            self._refused(report, err.message)
            if not self.dry_run:
                self.state.refused, self.state.refused_reason = tip, err.message
                self._save_state()
            return applied, None
        except GitvaultError as err:
            self._back_to(applied)
            self._failed(report, err)
            return None, None
        for w in verdict.warnings:
            self.log.warn("verify-warning", w, commit=tip)
        self.log.info(
            "accepted",
            f"update to {tip[:12]} passed the gate",
            commit=tip,
            previous=applied,
            commits=verdict.commits,
        )
        return tip, old_vars

    def _back_to(self, applied: str | None) -> None:
        if applied is not None:
            with contextlib.suppress(GitError):
                follow.checkout_commit(self.cfg.checkout, applied)

    def _refused(self, report: CycleReport, message: str) -> None:
        report.outcome, report.exit_code, report.message = (
            "refused",
            int(ExitCode.CHECK_FAILED),
            message,
        )
        self.status.state, self.status.last_error = "error", message
        self.log.error("refused", message, tip=report.tip, applied=self.state.applied)

    def _failed(self, report: CycleReport, err: GitvaultError) -> CycleReport:
        report.outcome, report.exit_code, report.message = "error", int(err.exit_code), err.message
        self.status.state, self.status.last_error = "error", err.message
        self.log.error("cycle-failed", err.message, code=int(err.exit_code))
        if not self.dry_run:
            self._save_status()
        return report

    def _finish(self, report: CycleReport, started: float) -> CycleReport:
        if not self.dry_run:
            errors = [s.last_error for s in self.status.outputs.values() if s.state == "error"]
            if report.exit_code:
                self.status.state = "error"
                self.status.last_error = report.message or (errors[0] if errors else None)
            else:
                self.status.state = "error" if errors else "ok"
                self.status.last_error = errors[0] if errors else None
        if not self.dry_run:
            self._save_status()
        self.log.event(
            "info" if report.exit_code == 0 else "error",
            "cycle",
            report.message or report.outcome,
            outcome=report.outcome,
            tip=report.tip,
            applied=report.applied,
            seconds=round(time.monotonic() - started, 3),
            dry_run=self.dry_run,
        )
        return report
