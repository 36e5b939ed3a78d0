"""Command-line entry point: the root group, lazy command loading, error mapping.

The CLI parses arguments, calls one core function and renders its result. It is
the only package that imports click, and this module is the only place where a
:class:`~gitvault.errors.GitvaultError` becomes a ``gitvault: error: …`` line and
an exit code. Commands are imported only when invoked so that ``gitvault
decrypt`` does not pay for pygit2, jsonschema or the scanner.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

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
    "rotate": "gitvault.cli.rotate:rotate",
    "log": "gitvault.cli.history:log",
    "due": "gitvault.cli.history:due",
    "recipients": "gitvault.cli.team:recipients",
    "rekey": "gitvault.cli.team:rekey",
    "offboard": "gitvault.cli.team:offboard",
    "access": "gitvault.cli.team:access",
    "textconv": "gitvault.cli.drivers:textconv",
    "merge-driver": "gitvault.cli.drivers:merge_driver",
    "review": "gitvault.cli.review:review",
    "recover": "gitvault.cli.recover:recover",
    "sops-config": "gitvault.cli.sopsconfig:sops_config",
    "import": "gitvault.cli.importer:import_",
    "agent": "gitvault.cli.agent:agent",
    "migrate": "gitvault.cli.migrate:migrate",
}


def __getattr__(name: str) -> Any:
    """``gitvault.cli.cli`` is the click group, imported on first use."""
    if name == "cli":
        from gitvault.cli.root import cli

        return cli
    raise AttributeError(name)


def _print_error(err: GitvaultError) -> None:
    # Messages name files, keys and recipients a branch controls: a terminal
    # escape or carriage return in one of them must not reach the terminal.
    from gitvault.safetext import printable

    sys.stderr.write(f"gitvault: error: {printable(err.message)}\n")
    if err.hint:
        sys.stderr.write(f"gitvault: hint: {printable(err.hint)}\n")
    sys.stderr.flush()


def _on_sigterm(signum: int, frame: Any) -> None:
    # Turn termination signals into KeyboardInterrupt so every `finally`
    # (temp-file cleanup above all) runs exactly as it does for Ctrl-C.
    raise KeyboardInterrupt


def _fast_decrypt(args: list[str]) -> bool:
    """Run the plainest ``decrypt`` forms without building the click command tree.

    ``gitvault decrypt PATH [--extract KEY] [--format yaml|json]`` is what CI
    runs most, and click's import is a fifth of its start-up. Anything else
    (other options, ``--help``, odd spellings) returns False and goes through
    click, so behaviour and errors are the same either way.
    """
    if len(args) < 2 or args[0] != "decrypt" or os.environ.get("GITHUB_ACTIONS") == "true":
        return False
    path: str | None = None
    extract: str | None = None
    fmt: str | None = None  # None: the file's own format, as `sops decrypt` prints it
    rest = args[1:]
    while rest:
        arg = rest.pop(0)
        if arg in ("--extract", "--format") and rest and not rest[0].startswith("-"):
            value = rest.pop(0)
            if arg == "--extract":
                extract = value
            elif value in ("yaml", "json"):
                fmt = value
            else:
                return False
        elif not arg.startswith("-") and path is None:
            path = arg
        else:
            return False
    if path is None:
        return False
    from pathlib import Path

    from gitvault.identities import load_identities

    target = Path(path)
    if target.is_dir():
        return False  # click reports that usage error
    loaded: list[Any] = []  # identities, loaded once, when first needed

    def ids() -> Any:
        if not loaded:
            loaded.append(load_identities(None))
        return loaded[0]

    if extract is None and fmt is None:
        # One pass from the file's lines to the output (issue 15); None: the general path.
        from gitvault.sops.fused.decrypt import decrypt_path

        fused = decrypt_path(target, lambda: ids().keys)
        if fused is not None:
            sys.stdout.write(fused)
            sys.stdout.flush()
            return True
    from gitvault import vault

    vf = vault.read_vault(target)
    plain = vault.decrypt(vf, ids())
    if extract:
        text = vault.extract(plain, extract)
    elif fmt is not None:
        text = vault.render(plain, fmt)
    elif plain.format == "yaml":
        text = vault.render(plain, "yaml")
    else:
        # JSON, dotenv or a binary file's own bytes (which need not be UTF-8).
        sys.stdout.flush()
        sys.stdout.buffer.write(vault.render_native(plain))
        sys.stdout.buffer.flush()
        return True
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def _fast_textconv(args: list[str]) -> bool:
    """``gitvault textconv FILE`` without click: git runs it once per file in every diff.

    Only that exact form; anything else (``--help``, ``--``, more arguments, a
    directory, which click refuses) goes through click, so the outcome is the same.
    """
    if len(args) != 2 or args[0] != "textconv" or args[1].startswith("-") or not args[1]:
        return False
    from pathlib import Path

    target = Path(args[1])
    if target.is_dir():
        return False
    from gitvault.drivers.textconv import run

    run(target)
    return True


def _fast_verify(args: list[str]) -> bool:
    """``gitvault verify [--json] [--structure-only] [PATH...]`` without click.

    Hooks and CI jobs run it per change; click is a fifth of its start-up.
    Only those flags, each at most once, and paths that do not start with
    ``-``; anything else goes through click, which calls the same body.
    """
    if not args or args[0] != "verify":
        return False
    flags = [a for a in args[1:] if a.startswith("-")]
    if any(f not in ("--json", "--structure-only") for f in flags) or len(set(flags)) != len(flags):
        return False
    paths = [a for a in args[1:] if not a.startswith("-")]
    if any(not p for p in paths):
        return False
    from pathlib import Path

    from gitvault.cli.verifyrun import run_verify

    run_verify(
        tuple(Path(p) for p in paths),
        None,
        "--json" in flags,
        None,
        False,
        None,
        "--structure-only" in flags,
    )
    return True


def _fast_write(args: list[str]) -> bool:
    """``set PATH KEY VALUE`` and ``encrypt PATH`` without click (scripts run these in loops).

    Only those exact shapes, no argument starting with ``-`` or empty, PATH not
    a directory; they call the same bodies the click commands call
    (:mod:`gitvault.cli.writes`) with the options' defaults. Anything else goes
    through click.
    """
    if not args or any(not a or a.startswith("-") for a in args[1:]):
        return False
    if not ((args[0] == "set" and len(args) == 4) or (args[0] == "encrypt" and len(args) == 2)):
        return False
    from pathlib import Path

    path = Path(args[1])
    if path.is_dir():
        return False  # click reports that usage error
    from gitvault.cli import writes

    if args[0] == "encrypt":
        writes.run_encrypt(path, None, False, None, None)
        return True
    from gitvault.locking import hold_file_lock

    hold_file_lock("set")(writes.run_set)(
        path=path,
        key=args[2],
        value=args[3],
        from_stdin=False,
        generator=None,
        type_="str",
        input_type=None,
        identity=None,
        do_commit=False,
        message=None,
        allow_staged=False,
    )
    return True


def main(argv: list[str] | None = None, *, exit_now: bool = False) -> None:
    """Run the CLI and exit with a code from :class:`ExitCode`.

    ``exit_now`` (the console entry point only, never an in-process caller)
    ends a finished fast-path command without the interpreter's teardown.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("GITVAULT_DEBUG") == "1" or "--debug" in args
    # SIGTERM, SIGHUP (terminal closed, ssh dropped) and SIGQUIT all unwind like
    # Ctrl-C, so every `finally` (plaintext temp files above all) runs.
    handled = [s for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT) if s is not None]
    previous = {s: signal.signal(s, _on_sigterm) for s in handled}
    try:
        if getattr(signal.getsignal(signal.SIGINT), "__name__", "") == "_early_interrupt":
            signal.signal(signal.SIGINT, signal.default_int_handler)  # see gitvault.__main__
        _clean_dead_private_dirs()  # a killed edit's plaintext, wherever it was
        if args[:1] != ["recover"]:
            _journal_hint()
        if _fast_decrypt(args) or _fast_textconv(args) or _fast_write(args) or _fast_verify(args):
            if exit_now:
                _exit_now()
            sys.exit(int(ExitCode.OK))
        sys.exit(_run_click(args))
    except GitvaultError as err:
        if debug:
            raise
        _print_error(err)
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback
        sys.stderr.write("gitvault: error: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # `gitvault decrypt … | head`: the reader went away; nothing to report.
        sys.stderr.close()
        sys.exit(int(ExitCode.OK))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_now() -> None:
    """End a finished fast-path command at once, skipping the interpreter's teardown.

    Tearing down ~100 modules (the cryptography binding above all) takes about
    6 ms, as much as a small file's whole decryption. Nothing is left to
    clean up here: the fast paths leave no temp file behind, hold no lock past
    their return, start no thread and register no exit handler. The output is
    flushed first; a reader that went away is handled as for any command.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(ExitCode.OK))


def _journal_hint() -> None:
    """One line when an interrupted rotate/offboard waits for `gitvault recover`."""
    from pathlib import Path

    if not _may_have_journal(Path.cwd()):
        return  # the common case, without importing the journal (every command pays this)
    from gitvault.journal import hint_line

    line = hint_line(Path.cwd())
    if line:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _may_have_journal(start: Path) -> bool:
    """False only when the nearest ``.git`` is a directory with no journal entry in it."""
    for directory in (start, *start.parents):
        git = directory / ".git"
        if git.is_dir():
            try:
                return any(True for _ in (git / "gitvault" / "journal").iterdir())
            except OSError:
                return False
        if git.exists():
            return True  # a worktree's or submodule's .git file: let the journal find its dir
    return False


def _clean_dead_private_dirs() -> None:
    from gitvault.fsutil import clean_dead_private_dirs

    clean_dead_private_dirs()


def _run_click(args: list[str]) -> int:
    """The full command line through click; returns the exit code."""
    import click

    from gitvault.cli.root import cli

    try:
        rv = cli.main(args=args, prog_name="gitvault", standalone_mode=False)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        # Usage errors keep click's helpful "Usage:" context line.
        exc.show()
        return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else int(exc.exit_code)
    # click returns ctx.exit(n)'s code instead of raising when not standalone
    if isinstance(rv, int) and not isinstance(rv, bool):
        return rv
    return int(ExitCode.OK)
