"""``encrypt``, ``decrypt``, ``edit``, ``set`` and ``unset``: one vault file at a time."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gitvault.cli.common import hint, identity_option, load_ids, say, write_stdout
from gitvault.cli.writes import _check_commit_flags, _commit, _prepare_commit
from gitvault.errors import UsageError
from gitvault.locking import hold_file_lock

PATH = click.Path(path_type=Path, dir_okay=False)
F = TypeVar("F", bound=Callable[..., Any])


def commit_options(func: F) -> F:
    """``--commit``, ``-m/--message`` and ``--allow-staged`` for the writing commands."""
    func = click.option(
        "--allow-staged",
        is_flag=True,
        help="With --commit: leave other staged changes staged instead of refusing.",
    )(func)
    func = click.option(
        "-m",
        "--message",
        default=None,
        help="With --commit: the commit message (trailers are added).",
    )(func)
    return click.option(
        "--commit", "do_commit", is_flag=True, help="Commit the file with gitvault trailers."
    )(func)


_TYPES = click.Choice(["yaml", "json", "dotenv", "binary", "ini"])


def input_type_option(func: F) -> F:
    """``--input-type``: read the vault file in this sops format, whatever its extension."""
    return click.option(
        "--input-type",
        "input_type",
        type=_TYPES,
        default=None,
        help="Read the file as this format (default: by extension, as sops does).",
    )(func)


def output_type_option(func: F) -> F:
    """``--output-type``: write in this sops format, whatever the extension."""
    return click.option(
        "--output-type",
        "output_type",
        type=_TYPES,
        default=None,
        help="Write this format (default: by the destination's extension, as sops does).",
    )(func)


@click.command()
@click.argument("path", type=PATH)
@click.option("-o", "--output", type=PATH, default=None, help="Write the vault file here.")
@click.option("--in-place", is_flag=True, help="Replace PATH with its encrypted form.")
@input_type_option
@output_type_option
def encrypt(
    path: Path,
    output: Path | None,
    in_place: bool,
    input_type: str | None,
    output_type: str | None,
) -> None:
    """Encrypt a plaintext file to the recipients its policy rule names.

    The rule is chosen by the destination path (OUTPUT, or PATH itself), and
    so is the format, as sops does: .yaml/.yml, .json, .env (dotenv), else
    binary (the whole file as one value; docs/formats.md).

    \b
    Example:
      gitvault encrypt secrets/dev/app.yaml --in-place
      gitvault encrypt plain.yaml -o secrets/dev/app.yaml
      gitvault encrypt secrets/dev/app.env --in-place
      gitvault encrypt tls.key -o secrets/prod/tls.key
    """
    from gitvault.cli.writes import run_encrypt

    run_encrypt(path, output, in_place, input_type, output_type)


def _env_allowances(path: Path, allow_env: tuple[str, ...]) -> tuple[str, list[str]]:
    """The file's label and the names it may set: ``--allow-env`` plus the policy's
    ``export.allow_env`` (top level and the file's rule), as ``export`` allows."""
    from gitvault import vault
    from gitvault.cli.export_read import _allow_env_of

    loc = vault.locate(path)
    allowed = list(allow_env)
    if loc.root is None or loc.relpath is None:
        return str(path), allowed
    pol = vault.load_policy_for(loc)
    raw: Any = getattr(pol, "raw", None) or {}
    allowed += _allow_env_of(raw.get("export"))
    rule = pol.rule_for(loc.relpath)
    rules = raw.get("rules") or []
    index = getattr(rule, "index", None)
    if isinstance(index, int) and index < len(rules) and isinstance(rules[index], dict):
        allowed += _allow_env_of(rules[index].get("export"))
    return loc.relpath, allowed


@click.command()
@click.argument("path", type=PATH)
@click.option(
    "--rev", default=None, help="Read the file as of this git revision (tag, branch, HEAD~3)."
)
@click.option(
    "--extract",
    "extract_key",
    default=None,
    help='Print one value: db.password or ["db"]["password"].',
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json", "dotenv", "env"]),
    default=None,
    help="Export-style output for the whole file (json: 4-space JSON; dotenv/env: "
    "shell-safe variables). Default: the file's own format, as sops prints it.",
)
@input_type_option
@output_type_option
@click.option(
    "-o", "--output", type=PATH, default=None, help="Write plaintext to this file (mode 0600)."
)
@click.option(
    "--allow-env",
    "allow_env",
    multiple=True,
    metavar="NAME",
    help="With --format env/dotenv: allow this variable name even though it changes how "
    "programs load or run (PATH, LD_PRELOAD, …); repeatable.",
)
@identity_option
def decrypt(
    path: Path,
    rev: str | None,
    extract_key: str | None,
    fmt: str,
    output: Path | None,
    allow_env: tuple[str, ...],
    input_type: str | None,
    output_type: str | None,
    identity: Path | None,
) -> None:
    """Verify and decrypt a vault file (MAC checked before anything is printed).

    \b
    Example:
      gitvault decrypt secrets/prod/db.yaml
      gitvault decrypt secrets/prod/db.yaml --extract db.password
      gitvault decrypt secrets/prod/db.yaml --format json -o /dev/shm/db.json
      gitvault decrypt secrets/prod/db.yaml --rev HEAD~1
      gitvault decrypt secrets/prod/app.json --output-type yaml

    Without --format the file is printed in its own format (a binary-format
    file as its original bytes), or in --output-type's, as `sops decrypt` does.

    --format env/dotenv refuses the variable names `export` refuses (PATH,
    LD_*, BASH_ENV, NODE_OPTIONS, …; exit 5) unless --allow-env NAME or the
    policy's export.allow_env allows them.
    """
    from gitvault import fsutil, vault

    data = None
    if rev is not None:
        from gitvault.git.repo import Repository

        repo = Repository.discover(path.absolute().parent)
        data = repo.read_file(rev, repo.relpath(path))
    if fmt is not None and output_type is not None:
        raise UsageError("use either --format or --output-type, not both")
    vf = vault.read_vault(path, data, input_type)
    plain = vault.decrypt(vf, load_ids(identity))
    if extract_key:
        text = vault.extract(plain, extract_key)
    elif fmt in ("env", "dotenv"):
        label, allowed = _env_allowances(path, allow_env)
        text = vault.render(plain, fmt, label=label, allow_env=allowed)
    elif fmt is not None:
        text = vault.render(plain, fmt)
    else:
        text = vault.render_native(plain, output_type).decode("utf-8", "surrogateescape")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Register every value as a log mask before anything else reaches the log
        # (DESIGN §9). The mask lines go to stdout first, as `export` does; use -o
        # or `gitvault exec` when the output must be captured cleanly.
        write_stdout(vault.mask_lines(plain))
    if output is not None:
        fsutil.atomic_write(output, text.encode("utf-8", "surrogateescape"), mode=0o600)
        say(f"wrote plaintext to {output}")
        root = vault.locate(path).root
        if root is not None and output.absolute().resolve().is_relative_to(root.resolve()):
            hint("that file is inside the repository: delete it when done and never commit it")
    else:
        _write_stdout_raw(text)


def _write_stdout_raw(text: str) -> None:
    """Decrypted output byte for byte (a binary file's bytes need not be UTF-8)."""
    data = text.encode("utf-8", "surrogateescape")
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        write_stdout(data.decode("utf-8", "replace"))
        return
    sys.stdout.flush()
    stream.write(data)
    stream.flush()


@click.command()
@click.argument("path", type=PATH)
@input_type_option
@identity_option
@commit_options
def edit(
    path: Path,
    input_type: str | None,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """Edit a vault file in $VISUAL/$EDITOR; create it when PATH does not exist.

    The plaintext lives in a private 0700 directory (tmpfs when available) and
    is removed on exit; vim, neovim, emacs and nano are started so that they
    keep no viminfo, undo, swap or backup copy elsewhere (docs/editing.md).
    Invalid YAML, a schema violation or a failed write reopens the editor
    with the error on top; quit without saving to abort (without a terminal,
    edit gives up after 3 rejected saves). Missing folders inside the vault
    are created. Only values you change get new ciphertext.

    With --commit the file is committed on its own (the repository is checked
    before the editor opens), with trailers naming the keys that changed.

    If someone else changes the file while the editor is open, your edit is
    merged per key onto their version at save; on the same key it is refused
    (exit 6) and their version stays (docs/concurrency.md).

    \b
    Example:
      EDITOR=nano gitvault edit secrets/dev/app.yaml
      gitvault edit secrets/prod/db.yaml --commit -m "add the replica password"
    """
    from gitvault.cli.editing import run_edit

    run_edit(path, input_type, identity, do_commit, message, allow_staged)


@click.command(name="set")
@click.argument("path", type=PATH)
@click.argument("key")
@click.argument("value", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
@click.option(
    "--generate",
    "generator",
    default=None,
    metavar="SPEC",
    help="Generate the value, e.g. password:32, hex:32.",
)
@click.option(
    "--type",
    "type_",
    type=click.Choice(["str", "int", "float", "bool", "json"]),
    default="str",
    show_default=True,
    help="How to read VALUE.",
)
@input_type_option
@identity_option
@commit_options
@hold_file_lock("set")  # read, change and write as one step: no lost update
def set_(
    path: Path,
    key: str,
    value: str | None,
    from_stdin: bool,
    generator: str | None,
    type_: str,
    input_type: str | None,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """Set one value without an editor; other values keep their ciphertext.

    When PATH does not exist, a new vault file is created holding KEY, for the
    recipients of the policy rule that covers PATH (missing folders inside the
    vault are created, as `edit` does).

    A VALUE on the command line can end up in shell history and process
    listings: prefer --stdin or --generate for real secrets. The result must
    satisfy the rule's JSON Schema, or nothing is written (exit 5).

    \b
    Example:
      printf %s "$TOKEN" | gitvault set secrets/prod/app.yaml api.token --stdin
      gitvault set secrets/prod/app.yaml db.password --generate password:32
      gitvault set secrets/dev/app.yaml replicas 3 --type int
      gitvault set secrets/prod/app.yaml api.token --generate hex:32 --commit
    """
    from gitvault.cli.writes import run_set

    run_set(
        path,
        key,
        value,
        from_stdin,
        generator,
        type_,
        input_type,
        identity,
        do_commit,
        message,
        allow_staged,
    )


@click.command()
@click.argument("path", type=PATH)
@click.argument("key")
@input_type_option
@identity_option
@commit_options
@hold_file_lock("unset")  # read, change and write as one step: no lost update
def unset(
    path: Path,
    key: str,
    input_type: str | None,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """Remove one key from a vault file (refused when the rule's schema requires it).

    \b
    Example:
      gitvault unset secrets/dev/app.yaml legacy.token
      gitvault unset secrets/dev/app.yaml legacy.token --commit
    """
    from gitvault import edits, fsutil, vault

    _check_commit_flags(do_commit, message, allow_staged)
    target = _prepare_commit(path, do_commit, allow_staged)
    vf = vault.read_vault(path, None, input_type)
    plain = vault.decrypt(vf, load_ids(identity), record_ivs=True)
    change = edits.unset_key(vf, plain, key, edits.schema_check(path))
    assert change.data is not None
    if target is not None:
        subject = f"gitvault: unset {change.key} in {target.relpath}"
        done = _commit(target, change.data, "unset", message, allow_staged, subject)
        say(f"{path}: {change.key} removed; {done}")
        return
    fsutil.atomic_write(path, change.data)
    say(f"{path}: {change.key} removed")
