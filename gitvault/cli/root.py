"""The click root group: lazy subcommand loading and the top-level help text.

Kept apart from :mod:`gitvault.cli` so the entry point can answer the plainest
``decrypt`` calls without importing click at all.
"""

from __future__ import annotations

import importlib

import click

from gitvault import __version__
from gitvault.cli import COMMANDS


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Like click's, plus a "did you mean" for a mistyped command (still exit 2)."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            if name and name not in COMMANDS and "Did you mean" not in exc.message:
                import difflib

                close = difflib.get_close_matches(name, list(COMMANDS), n=2, cutoff=0.6)
                if close:
                    exc.message += " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
            raise


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="gitvault")
@click.option("--debug", is_flag=True, envvar="GITVAULT_DEBUG", help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Keep a team's secrets in its own git repository.

    \b
    Vault files are SOPS-compatible YAML, encrypted per value to age/SSH recipients
    named in .gitvault.yaml. Typical first steps:
      gitvault keygen                      # make your identity
      gitvault init                        # policy, .gitattributes, hooks
      gitvault edit secrets/dev/app.yaml   # create or edit a vault file
      gitvault decrypt secrets/dev/app.yaml --extract db.password

    Exit codes: 0 ok, 1 check found problems, 2 usage, 3 access denied,
    4 integrity failure, 5 bad input, 6 git error, 7 rotation rolled back,
    130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
