"""``recipients``, ``rekey``, ``offboard`` and ``access``: who can read what, and changing it.

Each command parses, calls one function of :mod:`gitvault.team`, and renders
its result: reports (lists, tables) on stdout, status lines on stderr as
``gitvault: …``, or one JSON document with ``--json``. No value is ever shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitvault.cli.common import echo, emit_json, hint, identity_option, json_option, load_ids, say
from gitvault.errors import BadInput, UsageError


def _policy(start: Path | None = None) -> Any:
    from gitvault import policy

    root = policy.find_root(start or Path.cwd())
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    return policy.load(root)


# ----------------------------------------------------------------- recipients


@click.group()
def recipients() -> None:
    """List, add and remove the people and machines the policy names.

    Changing recipients changes the policy only; `gitvault rekey` then
    re-wraps the vault files (a removed person needs a new data key, and
    `gitvault offboard` does all of it at once).

    \b
    Example:
      gitvault recipients list
      gitvault recipients add dave age1... --group ops
      gitvault recipients remove bob && gitvault rekey --commit
    """


@recipients.command(name="list")
@json_option
def recipients_list(as_json: bool) -> None:
    """List recipients with their groups and the rules that let them read.

    \b
    Example:
      gitvault recipients list
      gitvault recipients list --json | jq '.recipients[].name'
    """
    from gitvault.team.recipients import describe

    pol = _policy()
    items = describe(pol)
    if as_json:
        emit_json(
            {
                "schema": "gitvault.recipients.list/v1",
                "policy": str(pol.path),
                "recipients": [
                    {"name": r.name, "key": r.key, "groups": list(r.groups), "rules": list(r.rules)}
                    for r in items
                ],
                "groups": {g: list(m) for g, m in pol.groups.items()},
            }
        )
        return
    width = max((len(r.name) for r in items), default=4)
    for r in items:
        echo(f"{r.name:<{width}}  {r.key}")
        extra = []
        if r.groups:
            extra.append("groups: " + ", ".join(r.groups))
        extra.append("reads: " + (", ".join(r.rules) if r.rules else "(no rule)"))
        echo(f"{'':<{width}}  " + "; ".join(extra))


def _render_change(change: Any, as_json: bool) -> None:
    if as_json:
        emit_json(change.to_json())
        return
    where = (
        f" (group {', '.join(change.groups)})" if change.action == "added" and change.groups else ""
    )
    say(f"{change.action} {change.name}{where} in {change.policy.name}")
    if change.action == "removed" and (change.groups or change.rules):
        say("also removed from " + ", ".join([*change.groups, *change.rules]))
    if change.layout == "re-emitted":
        say(f"rewrote {change.policy.name} in sops layout (comments kept)")
    if change.stale:
        n = len(change.stale)
        if change.action == "added":
            hint(
                f"{n} file(s) are not encrypted to them yet: run `gitvault rekey --recipients-only`"
            )
        else:
            hint(f"{n} file(s) are still encrypted to them: run `gitvault rekey` (new data key)")


@recipients.command(name="add")
@click.argument("name")
@click.argument("key")
@click.option(
    "--group", "group", default=None, help="Also add NAME to this group (created if new)."
)
@click.option("--email", default=None, help="NAME's e-mail as their commits carry it.")
@click.option("--signing-key", "signing_keys", multiple=True, help="NAME's SSH signing key.")
@json_option
def recipients_add(
    name: str,
    key: str,
    group: str | None,
    email: str | None,
    signing_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a recipient NAME with public KEY (age1…, ssh-ed25519 …, ssh-rsa …).

    The policy's comments and layout are kept. The vault files are not
    changed: run `gitvault rekey --recipients-only` to give NAME access.
    --email and --signing-key record who NAME is in git history, so the
    history checks recognise their commits (docs/policy.md).

    \b
    Example:
      gitvault recipients add dave age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
      gitvault recipients add ci-staging "$(cat ci.pub)" --group deploy
      gitvault recipients add dave age1... --email dave@example.com --group ops
    """
    from gitvault.locking import file_lock
    from gitvault.team.recipients import add

    path = _policy().path
    with file_lock(path, "recipients add"):  # read-modify-write of the policy
        change = add(_policy(path.parent), name, key, group, email=email, signing_keys=signing_keys)
    _render_change(change, as_json)


@recipients.command(name="remove")
@click.argument("name")
@json_option
def recipients_remove(name: str, as_json: bool) -> None:
    """Remove recipient NAME from the recipients, every group and every rule.

    Refused when a rule would be left with nobody to read it. The vault files
    are not changed: run `gitvault rekey` (a new data key), or use `gitvault
    offboard NAME`, which also lists and rotates what they could read.

    \b
    Example:
      gitvault recipients remove bob
      gitvault rekey --commit -m "remove bob"
    """
    from gitvault.locking import file_lock
    from gitvault.team.recipients import remove

    path = _policy().path
    with file_lock(path, "recipients remove"):  # read-modify-write of the policy
        change = remove(_policy(path.parent), name)
    _render_change(change, as_json)


# ----------------------------------------------------------------- rekey


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--recipients-only",
    is_flag=True,
    help="Keep the data key; only re-wrap it (like `sops updatekeys`).",
)
@click.option("--commit", "do_commit", is_flag=True, help="Commit the files in one commit.")
@click.option("-m", "--message", default=None, help="With --commit: the commit message.")
@click.option("--allow-staged", is_flag=True, help="With --commit: leave other staged changes.")
@identity_option
@json_option
def rekey(
    paths: tuple[Path, ...],
    recipients_only: bool,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
    identity: Path | None,
    as_json: bool,
) -> None:
    """Re-wrap vault files to the recipients the policy names now, with a NEW data key.

    Every value is re-encrypted with a fresh IV (values unchanged) and the MAC
    recomputed, so someone removed from the policy cannot read anything written
    from now on, even if they kept the old data key. Without PATHs, every file a
    rule covers. All files are decrypted (MAC verified) before any is written.

    --recipients-only keeps the data key (like `sops updatekeys`): enough when
    adding people, NOT when removing them.

    --commit makes one commit of the re-keyed files; without PATHs it also
    holds the policy when it differs from HEAD (the change that asked for the
    re-key) and files an earlier `gitvault rekey` left uncommitted. A value
    change not yet committed is refused (exit 6). Concurrent writers wait for
    a re-key (see docs/concurrency.md).

    \b
    Example:
      gitvault rekey --commit
      gitvault rekey secrets/prod/db.yaml secrets/prod/api.yaml
      gitvault recipients add dave age1... && gitvault rekey --recipients-only
    """
    from gitvault import vault
    from gitvault.team.rekey import rekey as core

    if not do_commit and (message is not None or allow_staged):
        raise UsageError("-m/--message and --allow-staged need --commit")
    pol = _policy(paths[0].absolute().parent if paths else None)
    relpaths = []
    for p in paths:
        loc = vault.locate(p, pol.root)
        assert loc.relpath is not None
        relpaths.append(loc.relpath)
    report = core(
        pol,
        relpaths or None,
        load_ids(identity),
        recipients_only=recipients_only,
        commit=do_commit,
        message=message,
        allow_staged=allow_staged,
    )
    if as_json:
        emit_json(report.to_json())
        return
    for r in report.files:
        if not r.changed:
            say(f"{r.file}: recipients unchanged")
            continue
        delta = " ".join([f"+{n}" for n in r.added] + [f"-{n}" for n in r.removed])
        what = "new data key" if r.new_data_key else "same data key"
        say(f"rekeyed {r.file} ({what}, {r.values} value(s)){': ' + delta if delta else ''}")
    if report.commit is not None:
        from gitvault.commits import describe_commit

        say(describe_commit(report.commit))


# ----------------------------------------------------------------- offboard


@click.command()
@click.argument("name")
@click.option(
    "--rotate", "do_rotate", is_flag=True, help="Rotate exposed keys that have a generator."
)
@click.option("--commit", "do_commit", is_flag=True, help="Commit everything in one commit.")
@click.option("-m", "--message", default=None, help="With --commit: the commit message.")
@click.option("--allow-staged", is_flag=True, help="With --commit: leave other staged changes.")
@identity_option
@json_option
def offboard(
    name: str,
    do_rotate: bool,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
    identity: Path | None,
    as_json: bool,
) -> None:
    """Remove NAME everywhere, re-key what they could read, list what they ever could.

    \b
    1. removes NAME from the policy's recipients, groups and rules;
    2. lists every key NAME could ever read, from the recipients recorded in
       every past version of every vault file (a key added after their
       removal is not listed);
    3. gives every file they could read a new data key;
    4. with --rotate, gives new values to the listed keys that have a
       generator in the policy (running their apply/verify commands), and
       lists the rest as needing a human.

    With --commit the policy (also when edited by hand before) and every
    re-keyed file go into one commit. Exit 1 when keys still need a human
    (a working `gitvault rotate` command is printed for each), 7 when a
    rotation failed.

    \b
    Example:
      gitvault offboard bob                     # policy, re-key, list; nothing committed
      gitvault offboard bob --rotate --commit   # the full offboarding, one commit
      gitvault offboard bob --json | jq '.keys[] | select(.status=="needs-human")'
    """
    from gitvault.cli.team_report import offboard_exit, render_offboard
    from gitvault.team.offboard import offboard as core

    if not do_commit and (message is not None or allow_staged):
        raise UsageError("-m/--message and --allow-staged need --commit")
    report = core(
        Path.cwd(),
        name,
        load_ids(identity),
        rotate=do_rotate,
        commit=do_commit,
        message=message,
        allow_staged=allow_staged,
    )
    if as_json:
        emit_json(report.to_json())
    else:
        render_offboard(report)
    offboard_exit(report)


# ----------------------------------------------------------------- access


@click.command()
@click.argument("name", required=False)
@click.option("--history", "with_history", is_flag=True, help="Also who could read in the past.")
@json_option
def access(name: str | None, with_history: bool, as_json: bool) -> None:
    """Who can read which vault file now (and with --history, in the past).

    For each file: the recipients it is actually encrypted to and the readers
    the policy names, with differences flagged (fix them with `gitvault
    rekey`). --history adds, per file and reader, the first and last commit
    whose version they could read. Needs no identity.

    \b
    Example:
      gitvault access
      gitvault access bob --history
      gitvault access --json | jq '.files[] | select(.ok | not)'
    """
    from gitvault.team.access import access as core

    report = core(Path.cwd(), name, history=with_history)
    if as_json:
        emit_json(report.to_json())
        return
    from gitvault.cli.team_report import render_access

    render_access(report, name)
