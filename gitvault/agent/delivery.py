"""The render-and-switch half of an agent cycle: outputs, notifications, health checks.

:class:`Delivery` holds an agent's configuration, state and status and
renders every switch group of outputs at a commit, writes the groups whose
bytes changed in one switch, notifies and health-checks them, and restores
the previous rendering when a check fails. :class:`gitvault.agent.cycle.Agent`
adds fetching and gating on top.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.agent import follow
from gitvault.agent.config import Config, Output
from gitvault.agent.cyclereport import CycleReport, OutputResult
from gitvault.agent.outputs import Change, read_current, switch
from gitvault.agent.status import Log, State, Status, now_iso
from gitvault.errors import ExitCode, GitvaultError

if TYPE_CHECKING:
    from gitvault.agent.notify import Child
    from gitvault.identities import Identities


def _stat_sig(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Delivery:
    """Rendering and switching of one configuration's outputs (the base of ``Agent``)."""

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
        # name -> (commit, stat of the file we left) : lets an idle cycle skip rendering
        self._memo: dict[str, tuple[str | None, tuple[int, int, int] | None]] = {}
        self._has_previous = True  # until a rendering shows no NAME_PREVIOUS

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
