"""``gitvault agent``: follow a branch, apply verified updates, render outputs, reload services."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitvault.cli.common import echo, emit_json
from gitvault.errors import ExitCode, UsageError

_CHILD_ARGV = "gitvault.agent.argv"


class _AgentCommand(click.Command):
    """Arguments after the first ``--`` are the supervised command, untouched."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_CHILD_ARGV] = args[cut + 1 :]
            args = args[:cut]
        return super().parse_args(ctx, args)


@click.command("agent", cls=_AgentCommand, options_metavar="[OPTIONS] [-- CMD ARGS…]")
@click.option(
    "--config",
    "-c",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The agent's configuration file (YAML; see docs/agent.md).",
)
@click.option("--once", is_flag=True, help="Run one cycle and exit (cron, CI, deploy scripts).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would change (outputs, key names; never values); write no output, "
    "status or state and notify nothing. Implies --once.",
)
@click.option("--json", "as_json", is_flag=True, help="--once/--dry-run: the cycle report as JSON.")
@click.pass_context
def agent(ctx: click.Context, config_path: Path, once: bool, dry_run: bool, as_json: bool) -> None:
    """Follow a branch of a git remote and deliver verified secrets to services.

    \b
    Each cycle fetches the branch into the agent's own clone and accepts the
    new tip only if it fast-forwards the applied commit and passes `verify`
    and the trust checks (rollback, substitution, and signatures by the
    require_signed_by recipients when configured); otherwise it refuses and
    keeps serving the last good outputs. Outputs (json, dotenv, env, yaml, or
    a sandboxed jinja2 template) are written atomically, 0600, only when they
    change; a group switches together. Then it notifies (signal, reload
    command, or the supervised child) and runs the health command, restoring
    the previous outputs if it fails. Logs are JSON lines on stderr; the
    status file is JSON. No value is ever logged.

    \b
    Long-running: cycles every `interval` (with jitter), on SIGHUP, and on a
    POST to the optional loopback trigger. Everything after -- is a command
    to supervise (signalled or restarted on change).

    \b
    Exit codes (--once): 0 applied or already current; 1 update refused;
    3 the identity cannot open a file; 4 integrity failure; 5 bad config or
    an output cannot be rendered; 6 git (fetch) failed; 7 notify or health
    check failed and the previous outputs were restored.

    \b
    Examples:
      gitvault agent --config /etc/gitvault/agent.yaml
      gitvault agent --config agent.yaml --once
      gitvault agent --config agent.yaml --dry-run --json
      gitvault agent --config agent.yaml -- ./server --port 8080
    """
    from gitvault.agent import config as agent_config
    from gitvault.agent.cycle import Agent
    from gitvault.agent.status import Log

    command: list[str] = ctx.meta.get(_CHILD_ARGV, [])
    if dry_run:
        once = True
    if once and command:
        raise UsageError("--once and --dry-run do not supervise a command", hint="drop the -- CMD")
    if as_json and not once:
        raise UsageError("--json reports one cycle: use it with --once or --dry-run")
    if ctx.meta.get(_CHILD_ARGV) is not None and not command:
        raise UsageError("no command after --")
    cfg = agent_config.load(config_path)
    log = Log(cfg.log)
    child = None
    if command:
        from gitvault.agent.notify import Child

        child = Child(command)
    elif any(o.notify is not None and o.notify.child for o in cfg.outputs):
        raise UsageError("an output notifies `child`, but no command follows --")
    runner = Agent(cfg, log, dry_run=dry_run, child=child)
    try:
        runner.start()
        if not once:
            from gitvault.agent.daemon import run

            sys.exit(run(runner, child))
        report = runner.cycle()
    finally:
        runner.close()
        log.close()
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report)
    if report.exit_code:
        sys.exit(report.exit_code)
    sys.exit(int(ExitCode.OK))


def _print(report: object) -> None:
    from gitvault.agent.cyclereport import CycleReport

    assert isinstance(report, CycleReport)
    head = {
        "current": "already current",
        "applied": "applied",
        "refused": "REFUSED",
        "error": "ERROR",
    }.get(report.outcome, report.outcome)
    tip = (report.tip or "")[:12]
    prefix = "dry run: would be " if report.dry_run and report.outcome == "applied" else ""
    echo(f"{prefix}{head}: {tip}" + (f" ({report.message})" if report.message else ""))
    for w in report.warnings:
        echo(f"  warning: {w}")
    for o in report.outputs:
        keys: list[str] = []
        for word, names in (("+", o.added), ("~", o.changed), ("-", o.removed)):
            keys.extend(word + n for n in names)
        detail = f" [{' '.join(keys)}]" if keys and o.action in ("create", "change") else ""
        error = f": {o.error}" if o.error else ""
        echo(f"  {o.action:9} {o.name}{detail}{error}")
