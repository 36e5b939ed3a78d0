"""``textconv`` and ``merge-driver``: the commands git runs (hidden from ``--help``).

``gitvault init`` configures them; people do not run them by hand. Both keep
git working whatever happens: textconv never fails a diff, and the merge driver
either writes a valid encrypted file or leaves ours as it was, with one
``gitvault: …`` line per problem on stderr. Neither writes plaintext to disk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _ids() -> object | None:
    from gitvault.errors import GitvaultError
    from gitvault.identities import load_identities

    try:
        return load_identities(None)
    except GitvaultError:
        return None


@click.command(hidden=True)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def textconv(file: Path) -> None:
    """Print a vault file decrypted for git diff (or unchanged without a key).

    git runs it as the textconv of the `gitvault` diff driver; it never fails
    a diff, and nothing is written to disk.

    \b
    Example:
      git config diff.gitvault.textconv "gitvault textconv"
      gitvault textconv secrets/dev/app.yaml
    """
    from gitvault.drivers import textconv as core

    try:
        data = file.read_bytes()
    except OSError as exc:
        click.echo(f"gitvault: textconv: cannot read {file} ({exc.strerror})", err=True)
        return
    out, warning = core(data, str(file), _ids())  # type: ignore[arg-type]
    if warning:
        click.echo(f"gitvault: textconv: {warning}", err=True)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()


@click.command(name="merge-driver", hidden=True)
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("path")
def merge_driver(base: Path, ours: Path, theirs: Path, path: str) -> None:
    """Merge three versions of a vault file per key (git's %O %A %B %P).

    Writes the merged, re-encrypted file over OURS and exits 0; on a conflict
    keeps our value of each conflicting key, reports each on stderr, records
    the key names in $GIT_DIR/gitvault-conflicts/PATH.json and exits 1.

    \b
    Example:
      git config merge.gitvault.driver "gitvault merge-driver %O %A %B %P"
      # then resolve a reported conflict with: gitvault edit PATH && git add PATH
    """
    from gitvault import drivers, fsutil
    from gitvault.errors import GitvaultError

    def fail(message: str) -> None:
        click.echo(f"gitvault: {message}", err=True)
        click.echo(
            f"gitvault: hint: {path} is left as our version; resolve it by hand "
            f"(git checkout --theirs {path}, or gitvault edit {path}) and git add it",
            err=True,
        )
        sys.exit(1)

    try:
        data = [p.read_bytes() for p in (base, ours, theirs)]
    except OSError as exc:
        fail(f"cannot read a version of {path} ({exc.strerror})")
        return
    if not any(drivers.is_vault_bytes(d) for d in data):
        sys.exit(drivers.merge_text(base, ours, theirs, path))  # plain text: git's own merge
    ids = _ids()
    if ids is None:
        fail(f"cannot merge {path} per key: no usable identity")
        return
    try:
        outcome = drivers.merge(data[0], data[1], data[2], path, ids)  # type: ignore[arg-type]
    except GitvaultError as exc:
        fail(f"cannot merge {path} per key: {exc.message}")
        return
    if outcome.status == drivers.FALLBACK:
        fail(outcome.message)
        return
    if outcome.data is not None:
        fsutil.atomic_write(ours, outcome.data)
    for note in outcome.notes:
        click.echo(f"gitvault: {path}: {note}", err=True)
    cwd = Path.cwd()
    if outcome.status == drivers.CLEAN:
        drivers.clear_record(cwd, path)
        sys.exit(0)
    for c in outcome.conflicts:
        click.echo(
            f"gitvault: conflict in {path}: {c.describe()}; run gitvault edit {path}", err=True
        )
    try:
        record = drivers.write_record(cwd, path, outcome.conflicts, outcome.data or data[1])
        click.echo(f"gitvault: hint: conflicting keys are listed in {record}", err=True)
    except (GitvaultError, OSError):
        pass
    click.echo(
        f"gitvault: hint: {path} holds our value of each conflicting key; theirs: "
        f"gitvault decrypt {path} --rev MERGE_HEAD --extract KEY",
        err=True,
    )
    sys.exit(1)
