"""One agent cycle: fetch, gate, render, switch, notify, prove, report.

:class:`Agent` owns the clone, the state and the status; :meth:`Agent.cycle`
runs one cycle and returns a :class:`CycleReport` (what ``--once`` prints and
exits with). The outcome of a cycle, in order of what is worst:

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.agent import follow
from gitvault.agent.config import Config, Output
from gitvault.agent.gate import Refused
from gitvault.agent.outputs import Change, read_current, recover, stray_temps, switch
from gitvault.agent.status import Log, State, Status, now_iso
from gitvault.errors import BadInput, ExitCode, GitError, GitvaultError

if TYPE_CHECKING:
    from gitvault.agent.notify import Child
    from gitvault.identities import Identities


@dataclass
class OutputResult:
    name: str
    action: str = "unchanged"  # create | change | unchanged | error | skipped
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "keys": {"added": self.added, "changed": self.changed, "removed": self.removed},
            "error": self.error,
        }


@dataclass
class CycleReport:
    outcome: str  # current | applied | refused | error | dry-run
    exit_code: int
    tip: str | None = None
    applied: str | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    outputs: list[OutputResult] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.agent.cycle/v1",
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "tip": self.tip,
            "applied": self.applied,
            "message": self.message,
            "warnings": self.warnings,
            "outputs": [o.to_json() for o in self.outputs],
        }


def _stat_sig(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Agent:
    """The agent for one configuration (one clone, one state, one status file)."""

    def __init__(
        self, cfg: Config, log: Log, *, dry_run: bool = False, child: Child | None = None
    ) -> None:
        self.cfg = cfg
        self.log = log
        self.dry_run = dry_run
        self.child = child
        self.state_dir = follow.state_dir(cfg.checkout)
        self.state = State(self.state_dir / "state.json")
        self.status = Status.load(cfg.status, [o.name for o in cfg.outputs])
        self._lock_fd: int | None = None
        # name -> (commit, stat of the file we left) : lets an idle cycle skip rendering
        self._memo: dict[str, tuple[str | None, tuple[int, int, int] | None]] = {}
        self._has_previous = True  # until a rendering shows no NAME_PREVIOUS

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

    def _idle(self, target: str) -> bool:
        """Nothing can have changed: same commit, no grace values, output files as we left them."""
        if self._has_previous:
            return False
        for o in self.cfg.outputs:
            memo = self._memo.get(o.name)
            if memo is None or memo != (target, _stat_sig(o.path)):
                return False
        return True

    # ----------------------------------------------------------------- render

    def _reader(self, ids: Identities) -> Any:
        from gitvault.agent.secrets import Reader

        return Reader(self.cfg.checkout, ids)

    def _variables_now(self, ids: Identities) -> dict[str, dict[str, Any]] | None:
        """Each output's variables at the commit the work tree is at (for key diffs)."""
        from gitvault.agent.secrets import variables

        reader = self._reader(ids)
        out: dict[str, dict[str, Any]] = {}
        for o in self.cfg.outputs:
            try:
                out[o.name] = {v.name: v.value for v in variables(reader, o)}
            except GitvaultError:
                continue
        return out

    def _render_all(
        self,
        report: CycleReport,
        target: str,
        ids: Identities,
        old_vars: dict[str, dict[str, Any]] | None,
    ) -> None:
        from gitvault.agent.render import render
        from gitvault.agent.secrets import variables

        reader = self._reader(ids)
        has_previous = False
        for group, outs in self.cfg.groups().items():
            results = {o.name: OutputResult(o.name) for o in outs}
            report.outputs.extend(results.values())
            new: dict[str, bytes] = {}
            failure: GitvaultError | None = None
            for o in outs:
                try:
                    found = variables(reader, o)
                    has_previous = has_previous or any(v.previous for v in found)
                    new[o.name] = render(o, found)
                    _diff(results[o.name], (old_vars or {}).get(o.name), found)
                except GitvaultError as err:
                    failure = failure or err
                    results[o.name].action, results[o.name].error = "error", err.message
            try:
                old = {o.name: read_current(o.path) for o in outs}
            except GitvaultError as err:
                failure = err
            if failure is not None:
                self._group_error(report, outs, results, failure, target)
                continue
            changed = [o for o in outs if old[o.name] != new[o.name]]
            for o in outs:
                r = results[o.name]
                r.action = (
                    "unchanged"
                    if o not in changed
                    else ("create" if old[o.name] is None else "change")
                )
                if o not in changed:
                    r.added, r.changed, r.removed = [], [], []
            pending = group in self.state.pending and not self.dry_run
            if not changed and not pending:
                self._group_ok(outs, target, changed_now=False)
                continue
            if self.dry_run:
                continue
            if not changed:  # switched before a crash, never notified: notify now
                self._switch(report, group, outs, list(outs), old, new, results, target, False)
                continue
            if self.state.failed.get(group) == target:
                msg = (
                    f"the rendering of {target[:12]} failed its health check; "
                    "waiting for a newer commit"
                )
                for o in changed:
                    results[o.name].action, results[o.name].error = "skipped", msg
                    self._out_error(o, msg)
                if report.outcome != "refused":
                    report.outcome = "error"
                report.exit_code = report.exit_code or int(ExitCode.ROTATION_FAILED)
                report.message = report.message or msg
                self._note_memo(outs, target)
                continue
            try:
                self._switch(report, group, outs, changed, old, new, results, target)
            except GitvaultError as err:
                for o in changed:
                    results[o.name].action, results[o.name].error = "error", err.message
                self._group_error(report, outs, results, err, target)
        for what in reader.dropped:
            report.warnings.append(f"{what}, which no MAC covers; not delivered")
        self._has_previous = has_previous
        if not self.dry_run:
            self._save_state()

    def _switch(
        self,
        report: CycleReport,
        group: str,
        outs: Sequence[Output],
        changed: Sequence[Output],
        old: dict[str, bytes | None],
        new: dict[str, bytes],
        results: dict[str, OutputResult],
        target: str,
        write: bool = True,
    ) -> None:
        from gitvault.agent.notify import NotifyFailed, healthy, notify

        # Recorded before the switch: a crash before the notify is notified at the next start.
        if group not in self.state.pending:
            self.state.pending.append(group)
        self._save_state()
        if write:
            try:
                switch([Change(o.path, new[o.name], o.mode) for o in changed], self.state_dir)
            except BaseException:
                self.state.pending.remove(group)  # nothing switched: nothing to notify
                self._save_state()
                raise
        for o in changed if write else ():
            r = results[o.name]
            self.log.info(
                "output-changed",
                f"output {o.name} switched to {target[:12]}",
                output=o.name,
                commit=target,
                added=r.added,
                changed=r.changed,
                removed=r.removed,
            )
        problem: str | None = None
        specs = _distinct([o.notify for o in changed if o.notify is not None])
        try:
            for spec in specs:
                notify(spec, self.child)
        except NotifyFailed as err:
            problem = err.message
        if problem is None:
            for h in _distinct([o.health for o in outs if o.health is not None]):
                problem = healthy(h)
                if problem is not None:
                    break
        self.state.pending.remove(group)
        if problem is None:
            self.state.failed.pop(group, None)
            self._group_ok(outs, target, changed_now=write, changed=changed if write else ())
            if specs:
                self.log.info("notified", f"group {group}: notified and healthy", group=group)
            return
        if not write or all(old[o.name] is None for o in changed):
            # A first rendering has nothing to go back to (and the service may not run yet);
            # a re-notify after a crash has nothing newer to undo. Keep, report, move on.
            self._group_ok(outs, target, changed_now=write, changed=changed if write else ())
            report.warnings.append(f"group {group}: {problem} (outputs kept)")
            self.log.warn("notify-failed", f"{problem}; outputs kept", group=group)
            return
        # Restore the previous rendering (or no file), and tell the service again.
        switch([Change(o.path, old[o.name], o.mode) for o in changed], self.state_dir)
        for spec in specs:
            try:
                notify(spec, self.child)
            except NotifyFailed as err:
                self.log.error("notify-failed", f"after restoring: {err.message}", group=group)
        self.state.failed[group] = target
        msg = f"{problem}; previous output restored"
        for o in changed:
            results[o.name].action, results[o.name].error = "restored", msg
            self._out_error(o, msg)
        self._note_memo(outs, target)
        report.outcome = "error" if report.outcome != "refused" else report.outcome
        report.exit_code = report.exit_code or int(ExitCode.ROTATION_FAILED)
        report.message = report.message or msg
        self.status.state, self.status.last_error = "error", msg
        self.log.error("health-failed", msg, group=group, commit=target)

    def _group_ok(
        self,
        outs: Sequence[Output],
        target: str,
        *,
        changed_now: bool,
        changed: Sequence[Output] = (),
    ) -> None:
        if self.dry_run:
            return
        for o in outs:
            s = self.status.outputs[o.name]
            s.state, s.rendered_commit, s.last_error = "ok", target, None
            if o in changed or (s.changed_at is None and changed_now):
                s.changed_at = now_iso()
        self._note_memo(outs, target)

    def _group_error(
        self,
        report: CycleReport,
        outs: Sequence[Output],
        results: dict[str, OutputResult],
        failure: GitvaultError,
        target: str,
    ) -> None:
        for o in outs:
            r = results[o.name]
            if r.error is None:
                r.action = "skipped"
                r.error = "not switched: another output of its group failed"
            self._out_error(o, r.error)
        if report.outcome not in ("refused",):
            report.outcome = "error"
        if not report.exit_code:
            report.exit_code = int(failure.exit_code)
            report.message = failure.message
        self.status.state, self.status.last_error = "error", failure.message
        self.log.error(
            "render-failed", failure.message, commit=target, outputs=[o.name for o in outs]
        )
        self._note_memo(outs, target)

    def _out_error(self, o: Output, msg: str) -> None:
        if self.dry_run:
            return
        s = self.status.outputs[o.name]
        s.state, s.last_error = "error", msg

    def _note_memo(self, outs: Sequence[Output], target: str) -> None:
        for o in outs:
            self._memo[o.name] = (target, _stat_sig(o.path))

    def _save_state(self) -> None:
        self.state.save()

    def _save_status(self) -> None:
        try:
            self.status.save(self.cfg.status)
        except OSError as exc:  # monitoring loses a beat; delivery goes on
            self.log.error("status-failed", f"cannot write the status file: {exc.strerror}")

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


def _distinct(items: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _diff(result: OutputResult, before: dict[str, Any] | None, found: Sequence[Any]) -> None:
    """Names added, changed and removed (compared in memory; only names are kept)."""
    now = {v.name: v.value for v in found}
    if before is None:
        result.added = sorted(now)
        return
    result.added = sorted(n for n in now if n not in before)
    result.removed = sorted(n for n in before if n not in now)
    result.changed = sorted(n for n in now if n in before and before[n] != now[n])
