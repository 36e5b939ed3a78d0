"""Command-line entry point: the root group, lazy command loading, error mapping.

The CLI parses arguments, calls one core function and renders its result. It is
the only package that imports click, and this module is the only place where a
:class:`~gitvault.errors.GitvaultError` becomes a ``gitvault: error: …`` line and
an exit code. Commands are imported only when invoked so that ``gitvault
decrypt`` does not pay for pygit2, jsonschema or the scanner.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import click

from gitvault import __version__
from gitvault.errors import ExitCode, GitvaultError

# name -> "module:attribute". Keep one line per command so parallel work on
# different commands never touches the same line.
COMMANDS: dict[str, str] = {
    "keygen": "gitvault.cli.keys:keygen",
    "whoami": "gitvault.cli.keys:whoami",
    "init": "gitvault.cli.init:init",
    "encrypt": "gitvault.cli.files:encrypt",
    "decrypt": "gitvault.cli.files:decrypt",
    "edit": "gitvault.cli.files:edit",
    "set": "gitvault.cli.files:set_",
    "unset": "gitvault.cli.files:unset",
    "verify": "gitvault.cli.verify:verify",
    "scan": "gitvault.cli.scan:scan",
    "hooks": "gitvault.cli.hooks:hooks",
    "hook": "gitvault.cli.hooks:hook",
    "export": "gitvault.cli.export:export",
    "exec": "gitvault.cli.export:exec_",
}


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


def _print_error(err: GitvaultError) -> None:
    click.echo(f"gitvault: error: {err.message}", err=True)
    if err.hint:
        click.echo(f"gitvault: hint: {err.hint}", err=True)


def _on_sigterm(signum: int, frame: Any) -> None:
    # Turn SIGTERM into KeyboardInterrupt so every `finally` (temp-file cleanup
    # above all) runs exactly as it does for Ctrl-C.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with a code from :class:`ExitCode`."""
    debug = os.environ.get("GITVAULT_DEBUG") == "1" or "--debug" in (argv or sys.argv[1:])
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rv = cli.main(args=argv, prog_name="gitvault", standalone_mode=False)
        if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
            # click returns ctx.exit(n)'s code instead of raising when not standalone
            sys.exit(rv)
    except GitvaultError as err:
        if debug:
            raise
        _print_error(err)
        sys.exit(int(err.exit_code))
    except click.exceptions.Abort:
        click.echo("gitvault: error: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:
        click.echo("gitvault: error: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # Usage errors keep click's helpful "Usage:" context line.
        exc.show()
        sys.exit(int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else exc.exit_code)
    except BrokenPipeError:
        # `gitvault decrypt … | head`: the reader went away; nothing to report.
        sys.stderr.close()
        sys.exit(int(ExitCode.OK))
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(int(ExitCode.OK))
