"""``gitvault export`` and ``gitvault exec``: deploy-time decryption for CI.

Both commands read many files and directories in one process and follow one
order, so that a failure anywhere means *no output at all*:

1. find the repository of the first path and its policy, the files
   (directories: every vault file a rule covers), the identities;
2. decrypt every file with the MAC verified (``api.decrypt_bytes``: exit 4
   when tampered, 3 when no identity opens it, naming who can), then check
   every file against its policy rule (``api.verify_for_export``: recipients,
   schema; exit 1) — any error stops here, before output;
3. name the variables (collisions are errors) and render the whole output;
4. append the read-audit lines (a failing audit log stops the deploy);
5. under GitHub Actions, print every ``::add-mask::`` line to stdout;
6. only then write the output, or start the child.

This module must never print a value except as the requested output on stdout
or ``-o FILE``; stderr only ever gets ``gitvault: error: …`` (and ``warning:``) lines naming
files and keys. Steps 1-4 live in :mod:`gitvault.cli.export_read`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from gitvault.cli.export_read import audit, check_env_names, load, parse_labels
from gitvault.errors import BadInput, UsageError

FORMAT_NAMES = ("env", "dotenv", "json", "yaml", "k8s", "github-env")
# Formats whose names become environment variables (k8s through envFrom), so the
# names that change how programs load or run are refused there, as in exec.
ENV_FORMATS = frozenset({"env", "dotenv", "github-env", "k8s"})


def emit_masks(variables: Sequence[Any]) -> None:
    """Under GitHub Actions print every mask to stdout, before anything else."""
    from gitvault.export.github import mask_commands, under_github_actions

    if not under_github_actions(os.environ):
        return
    text = mask_commands(v.text for v in variables)
    sys.stdout.write(text)
    sys.stdout.flush()


def write_output(text: str, output: Path | None, *, append: bool) -> None:
    """Write to stdout, or to ``output``: appended (``$GITHUB_ENV``) or replaced atomically."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from gitvault.fsutil import atomic_write

    data = text.encode("utf-8", "surrogatepass")
    try:
        if append:
            fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        else:
            # Same directory, 0600 from the start, fsync, rename: never torn, never readable by all.
            atomic_write(output, data, mode=0o600)
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from None


# ---------------------------------------------------------------------- commands

_common = [
    click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path)),
    click.option(
        "--prefix",
        "prefixes",
        multiple=True,
        metavar="[FILE=]PREFIX",
        help="Prefix variable names: for every file, or FILE=PREFIX for one. Repeatable.",
    ),
    click.option(
        "--identity", "-i", type=click.Path(path_type=Path, dir_okay=False), help="Identity file."
    ),
    click.option(
        "--audit-log",
        metavar="FILE",
        help="Append one JSON line per file read (default: $GITVAULT_AUDIT_LOG).",
    ),
    click.option(
        "--allow-env",
        "allow_env",
        multiple=True,
        metavar="NAME",
        help="Allow this variable name although it changes how programs run "
        "(PATH, LD_PRELOAD, NODE_OPTIONS, …). Repeatable.",
    ),
    click.option(
        "--previous/--no-previous",
        default=True,
        help="Expose NAME_PREVIOUS during a rotation's grace period (default: on).",
    ),
]


def _with_common(func: Any) -> Any:
    for decorator in reversed(_common):
        func = decorator(func)
    return func


@click.command("export")
@_with_common
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    default="env",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here (0600, atomic; appended for github-env) instead of stdout.",
)
@click.option(
    "--k8s-name", metavar="NAME", help="k8s: Secret name (prefix per file unless --merge)."
)
@click.option("--namespace", metavar="NS", help="k8s: metadata.namespace.")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="k8s: a label. Repeatable.")
@click.option("--merge", is_flag=True, help="k8s: one Secret for all files.")
@click.option("--string-data", is_flag=True, help="k8s: stringData instead of base64 data.")
@click.option(
    "--k8s-output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="k8s: manifest syntax.",
)
@click.option(
    "--dotenv-dialect",
    type=click.Choice(["portable", "python-dotenv"]),
    default="portable",
    show_default=True,
    help="dotenv: quoting every reader agrees on (shell, python-dotenv, node dotenv, "
    "docker compose), or python-dotenv's rules alone (carries more values).",
)
def export(
    paths: tuple[Path, ...],
    prefixes: tuple[str, ...],
    identity: Path | None,
    audit_log: str | None,
    allow_env: tuple[str, ...],
    previous: bool,
    fmt: str,
    output: Path | None,
    k8s_name: str | None,
    namespace: str | None,
    labels: tuple[str, ...],
    merge: bool,
    string_data: bool,
    k8s_output: str,
    dotenv_dialect: str,
) -> None:
    """Decrypt vault files and print their values in one format.

    \b
    Nested keys become variable names: db.password -> DB_PASSWORD, list items by
    index, an optional --prefix first; a name produced twice is an error (exit 5).
    Every file is verified first; on any failure nothing is written.
    Empty and null values (outside the MAC) are left out, with a warning.
    env, dotenv, github-env and k8s refuse names that change how programs run
    (PATH, LD_*, BASH_ENV, NODE_OPTIONS, …; exit 5) unless --allow-env NAME or
    the policy's export.allow_env allows them. k8s: one Secret per file, so
    files may share key names. Under GitHub Actions every printed spelling of
    every value is masked (::add-mask::) before any output; there, write data
    with -o so the masks and the data stay apart. dotenv quotes each value so a
    shell, python-dotenv, Node's dotenv and docker compose all read it back
    exactly, and refuses (exit 5, by key) a value no such form carries.

    \b
    Examples:
      eval "$(gitvault export secrets/production --format env)"
      gitvault export secrets/production -f dotenv -o .env
      gitvault export secrets/production -f github-env -o "$GITHUB_ENV"
      gitvault export secrets/production -f k8s --namespace web --merge \\
          --k8s-name web-secrets | kubectl apply -f -
    """
    from gitvault.export.base import RenderOptions, get_format

    options = RenderOptions(
        k8s_name=k8s_name,
        namespace=namespace,
        labels=parse_labels(labels),
        merge=merge,
        string_data=string_data,
        output=k8s_output,
        dotenv_dialect=dotenv_dialect,
    )
    per_file = fmt == "k8s" and not merge  # one Secret per file: names collide only within one
    loaded = load(
        paths, identity=identity, prefixes=prefixes, with_previous=previous, per_file=per_file
    )
    if fmt in ENV_FORMATS:
        check_env_names(loaded, allow_env)
    text = get_format(fmt).render(loaded.variables, options)
    audit(loaded, audit_log, "export")
    emit_masks(loaded.variables)
    write_output(text, output, append=fmt == "github-env")


class _ExecCommand(click.Command):
    """A command whose arguments after the first ``--`` are the child's argv, untouched."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_CHILD_ARGV] = args[cut + 1 :]
            args = args[:cut]
        return super().parse_args(ctx, args)


_CHILD_ARGV = "gitvault.exec.argv"


@click.command("exec", cls=_ExecCommand)
@_with_common
@click.option(
    "--files",
    is_flag=True,
    help="Also write each value to a 0600 file in a private tmpfs dir; pass NAME_FILE paths.",
)
@click.pass_context
def exec_(
    ctx: click.Context,
    paths: tuple[Path, ...],
    prefixes: tuple[str, ...],
    identity: Path | None,
    audit_log: str | None,
    allow_env: tuple[str, ...],
    previous: bool,
    files: bool,
) -> None:
    """Run a command with the decrypted values in its environment only.

    \b
    Everything after -- is the command. Its exit code is gitvault's (128+N when
    it died of signal N); SIGTERM, SIGINT and SIGHUP are forwarded to it. The
    identity variables (GITVAULT_AGE_KEY, SOPS_AGE_KEY, …) are not passed on.
    Refused with exit 5 before the child starts: names that change how programs
    run (PATH, LD_*, BASH_ENV, NODE_OPTIONS, …) unless --allow-env NAME or the
    policy allows them; a value over 128 KiB or an environment over ARG_MAX.
    Empty and null values (outside the MAC) are left out, with a warning.

    \b
    Examples:
      gitvault exec secrets/production -- ./deploy.sh
      gitvault exec --files secrets/production/tls.yaml -- nginx -g 'daemon off;'
    """
    from gitvault.export import exec as runner
    from gitvault.export.model import require_env_safe

    command: list[str] = ctx.meta.get(_CHILD_ARGV, [])
    if not command:
        raise UsageError("no command given", hint="gitvault exec PATH… -- CMD…")
    loaded = load(paths, identity=identity, prefixes=prefixes, with_previous=previous)
    require_env_safe(loaded.variables)
    check_env_names(loaded, allow_env, extra=(runner.FILE_SUFFIX,) if files else ())
    if files:
        runner.check_file_names(loaded.variables)
    runner.check_sizes(command, loaded.variables, os.environ)
    audit(loaded, audit_log, "exec")
    emit_masks(loaded.variables)
    try:
        status = runner.run(command, loaded.variables, files=files)
    except FileNotFoundError:
        click.echo(f"gitvault: error: command not found: {command[0]}", err=True)
        status = 127
    except PermissionError:
        click.echo(f"gitvault: error: command not executable: {command[0]}", err=True)
        status = 126
    # sys.exit, not ctx.exit: with standalone_mode=False click returns ctx.exit's
    # code from main() instead of exiting, and the child's status must be ours.
    sys.exit(status)
