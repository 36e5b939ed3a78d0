"""``textconv`` and ``merge-driver``: the commands git runs (hidden from ``--help``).

``gitvault init`` configures them; people do not run them by hand. Both keep
git working whatever happens: textconv never fails a diff, and the merge driver
either writes a valid encrypted file or leaves ours as it was, with one
``gitvault: …`` line per problem on stderr. Neither writes plaintext to disk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gitvault.drivers.merge import RuleView
    from gitvault.identities import Identities
    from gitvault.policy import Policy


def _ids() -> Identities | None:
    from gitvault.errors import GitvaultError
    from gitvault.identities import load_identities

    try:
        return load_identities(None)
    except GitvaultError:
        return None


def _say(text: str) -> None:
    """One ``gitvault: …`` line on stderr; text from files is escaped for the terminal."""
    from gitvault.safetext import printable

    click.echo(f"gitvault: {printable(text)}", err=True)


@click.command(hidden=True)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def textconv(file: Path) -> None:
    """Print a vault file decrypted for git diff (or unchanged without a key).

    git runs it as the textconv of the `gitvault` diff driver; it never fails
    a diff, and nothing is written to disk. Under GitHub Actions
    (GITHUB_ACTIONS=true) every value, and each spelling the output gives it, is
    registered with ::add-mask:: on stderr before any plaintext is printed (git
    passes textconv's stderr to the job log as it is; its stdout becomes diff
    lines, where the runner would not see a command).

    \b
    Example:
      git config diff.gitvault.textconv "gitvault textconv"
      gitvault textconv secrets/dev/app.yaml
    """
    from gitvault.drivers.textconv import run

    run(file)


def _rules(path: str) -> tuple[RuleView, RuleView | None]:
    """(ours's rule view, theirs's rule view or None) from committed policies.

    Ours: the policy committed at HEAD. Theirs: the policy committed at the
    commit git is merging (MERGE_HEAD, or the commit being picked/rebased).
    """
    from gitvault.drivers.committed import policy_at, resolve, theirs_commit
    from gitvault.drivers.merge import RuleView
    from gitvault.errors import BadInput

    cwd = Path.cwd()
    head = resolve(cwd, "HEAD")
    found = policy_at(cwd, head, path) if head else None
    if found is None:
        raise BadInput(f"no policy committed at HEAD covers {path}")

    def view(label: str, pol_rel: tuple[Policy, str] | None) -> RuleView | None:
        if pol_rel is None:
            return None
        pol, rel = pol_rel
        rule = pol.rule_for(rel)
        if rule is None:
            return None
        keys = tuple(pol.reader_keys(rule))
        return RuleView(label, keys, dict(rule.selection))

    ours = view("the policy at HEAD", found)
    if ours is None:
        raise BadInput(f"no rule of the policy committed at HEAD covers {path}")
    theirs_id = theirs_commit(cwd)
    theirs = None
    if theirs_id is not None:
        theirs = view(f"the policy at {theirs_id[:12]}", policy_at(cwd, theirs_id, path))
    return ours, theirs


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

    The readers of the result come from committed policy only: the rule of the
    policy at HEAD, minus anyone the merged commit's policy no longer names.
    A side whose recipients or selection metadata differ from its committed
    policy is refused (exit 1, ours left as it was): a branch cannot make the
    merge wrap a data key for someone by editing a file's sops.age list.

    \b
    Example:
      git config merge.gitvault.driver "gitvault merge-driver %O %A %B %P"
      # then resolve a reported conflict with: gitvault edit PATH && git add PATH
    """
    from gitvault import fsutil
    from gitvault.drivers import merge as merge_core
    from gitvault.drivers import records
    from gitvault.errors import GitvaultError

    def fail(message: str) -> None:
        _say(message)
        _say(
            f"hint: {path} is left as our version; resolve it by hand "
            f"(git checkout --theirs {path}, or gitvault edit {path}) and git add it"
        )
        sys.exit(1)

    try:
        data = [fsutil.read_input(p) for p in (base, ours, theirs)]
    except GitvaultError as exc:
        fail(f"cannot read a version of {path} ({exc.message})")
        return
    if not any(records.is_vault_bytes(d) for d in data):
        sys.exit(records.merge_text(base, ours, theirs, path))  # plain text: git's own merge
    ids = _ids()
    if ids is None:
        fail(f"cannot merge {path} per key: no usable identity")
        return
    try:
        ours_rule, theirs_rule = _rules(path)
        outcome = merge_core.merge(
            data[0],
            data[1],
            data[2],
            path,
            ids,
            ours_rule,
            theirs_rule,
        )
    except GitvaultError as exc:
        fail(f"cannot merge {path} per key: {exc.message}")
        return
    if outcome.status == merge_core.REFUSED:
        for problem in outcome.problems:
            _say(f"refusing to merge {path}: {problem}")
        fail(f"{path}: a side is not what the committed policy says; nothing was re-encrypted")
        return
    if outcome.status == merge_core.FALLBACK:
        fail(outcome.message)
        return
    if outcome.data is not None:
        fsutil.atomic_write(ours, outcome.data)
    for note in outcome.notes:
        _say(f"{path}: {note}")
    cwd = Path.cwd()
    if outcome.status == merge_core.CLEAN:
        records.clear_record(cwd, path)
        sys.exit(0)
    for c in outcome.conflicts:
        _say(f"conflict in {path}: {c.describe()}; run gitvault edit {path}")
    try:
        record = records.write_record(cwd, path, outcome.conflicts, outcome.data or data[1])
        _say(f"hint: conflicting keys are listed in {record}")
    except (GitvaultError, OSError):
        pass
    _say(
        f"hint: {path} holds our value of each conflicting key; theirs: "
        f"gitvault decrypt {path} --rev MERGE_HEAD --extract KEY"
    )
    sys.exit(1)
