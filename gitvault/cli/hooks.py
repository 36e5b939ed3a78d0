"""``gitvault hooks install|uninstall|status`` and
``gitvault hook pre-commit|pre-push|pre-receive``.

The hook runners decide; this module only parses arguments and prints problems.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitvault.cli.common import echo, emit_json, json_option
from gitvault.errors import CheckFailed

_HOOK_CHOICE = click.Choice(["pre-commit", "pre-push", "pre-receive"])


def _repo(cwd: Path) -> Path:
    from gitvault.scan.gitdiff import repo_root, run_git

    # A bare repository (server side) has no work tree: use its git directory.
    bare = run_git(["rev-parse", "--is-bare-repository"], cwd).strip() == b"true"
    if bare:
        return Path(run_git(["rev-parse", "--absolute-git-dir"], cwd).decode().strip())
    return repo_root(cwd)


@click.group()
def hooks() -> None:
    """Install, remove or inspect gitvault's git hooks.

    \b
    Examples:
      gitvault hooks install                       # pre-commit only
      gitvault hooks install pre-commit pre-push
      gitvault hooks status --json
    """


@hooks.command("install")
@click.argument("which", nargs=-1, type=_HOOK_CHOICE)
def install(which: tuple[str, ...]) -> None:
    """Install hooks (default: pre-commit). Existing hooks are kept and run first.

    Respects core.hooksPath and is safe to run again.

    \b
    Example:
      gitvault hooks install pre-commit pre-push
    """
    from gitvault.hooks.install import install_hooks

    for line in install_hooks(_repo(Path.cwd()), which or ("pre-commit",)):
        echo(line)


@hooks.command("uninstall")
@click.argument("which", nargs=-1, type=_HOOK_CHOICE)
def uninstall(which: tuple[str, ...]) -> None:
    """Remove gitvault's hooks (default: all) and restore the hooks they chained.

    \b
    Example:
      gitvault hooks uninstall
    """
    from gitvault.hooks.install import HOOK_TYPES, uninstall_hooks

    for line in uninstall_hooks(_repo(Path.cwd()), which or HOOK_TYPES):
        echo(line)


@hooks.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show which hooks are installed, foreign or absent.

    \b
    Example:
      gitvault hooks status
    """
    from gitvault.hooks.install import hook_status

    states = hook_status(_repo(Path.cwd()))
    if as_json:
        emit_json(
            [
                {"hook": s.hook, "path": str(s.path), "state": s.state, "chained": s.chained}
                for s in states
            ]
        )
        return
    for s in states:
        chain = " (runs the previous hook first)" if s.chained and s.state == "installed" else ""
        echo(f"{s.hook:12} {s.state}{chain}  {s.path}")


@click.group()
def hook() -> None:
    """Run a hook's checks (git calls these through the installed scripts).

    \b
    Example:
      gitvault hook pre-commit
    """


def _block(problems: list[str], what: str, hint: str) -> None:
    """Print every problem, then fail with a message that names the first one.

    The final error line carries a reason of its own: a caller that shows only
    the last line of the hook's output (a commit made by another command, a
    GUI) still tells the user what is wrong. Text from files is escaped.
    """
    from gitvault.safetext import printable

    lines = [printable(line) for line in problems]
    for line in lines:
        click.echo(f"gitvault: blocked: {line}", err=True)
    # The hint goes before the error, so the very last line is the reason (tools
    # that run `git commit` for the user often show only the last line).
    click.echo(f"gitvault: hint: {hint}", err=True)
    first = lines[0] if lines else "no details"
    more = f" (and {len(lines) - 1} more listed above)" if len(lines) > 1 else ""
    raise CheckFailed(f"{what} blocked: {first}{more}")


@hook.command("pre-commit")
@click.option("--no-vault-values", is_flag=True, help="Do not look for the vault's own values.")
def pre_commit(no_vault_values: bool) -> None:
    """Block plaintext secret files, leaked secrets and invalid vault files in the staged change.

    \b
    Example:
      gitvault hook pre-commit
    """
    from gitvault.hooks.run import pre_commit as run

    report = run(_repo(Path.cwd()), vault_values=not no_vault_values)
    if report.blocked:
        _block(
            [p.line() for p in report.problems],
            "commit",
            "fix what the `gitvault: blocked:` lines name, `git add` it, and commit again; "
            "to commit anyway on purpose: git commit --no-verify",
        )


@hook.command("pre-push")
@click.argument("remote", required=False, default="")
@click.argument("url", required=False, default="")
@click.option("--no-vault-values", is_flag=True, help="Do not look for the vault's own values.")
def pre_push(remote: str, url: str, no_vault_values: bool) -> None:
    """Scan the commits a push would send (ref lines on standard input, as git gives them).

    \b
    Example:
      echo "refs/heads/main $(git rev-parse HEAD) refs/heads/main $(git rev-parse origin/main)" \\
        | gitvault hook pre-push origin
    """
    from gitvault.hooks.run import pre_push as run

    lines = [] if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read().splitlines()
    report = run(_repo(Path.cwd()), remote, lines, vault_values=not no_vault_values)
    if report.blocked:
        _block(
            [p.line() for p in report.problems],
            "push",
            "remove the secret from those commits (git rebase -i, or git commit --amend) and "
            "rotate it; to push anyway on purpose: git push --no-verify",
        )


@hook.command("pre-receive")
def pre_receive() -> None:
    """Server side: refuse pushes whose new commits add secrets or invalid vault files.

    Every vault file a pushed commit adds or changes must parse, be encrypted to
    exactly the recipients of the policy in that commit, carry that rule's
    selection metadata and hold only ENC[...] values where the rule says so.

    \b
    Example (in a bare repository's hooks/pre-receive):
      exec gitvault hook pre-receive
    """
    from gitvault.hooks.run import pre_receive as run

    lines = [] if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read().splitlines()
    report = run(_repo(Path.cwd()), lines)
    if report.blocked:
        _block(
            [p.line() for p in report.problems],
            "push",
            "the server refuses commits that add secrets: rewrite them without the secret "
            "(git rebase -i), rotate it, and push again",
        )
