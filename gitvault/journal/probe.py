"""Finding interrupted operations cheaply: for every command's start-up hint and refusals.

Reads journal headers only (no key needed, no value in them); see
:mod:`gitvault.journal.record` for the format.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from gitvault.errors import BadInput
from gitvault.journal.record import SUFFIX, Journal, JournalError, journal_dir
from gitvault.tempfiles import process_alive


def pending(git_dir: Path) -> list[Journal]:
    """Journals of operations whose process is gone (interrupted, or waiting for a human)."""
    directory = journal_dir(git_dir)
    if not directory.is_dir():
        return []
    _sweep(directory)
    found = []
    for path in sorted(directory.glob("*" + SUFFIX)):
        try:
            journal = Journal.read(path)
        except JournalError:
            continue
        if not journal.alive:
            found.append(journal)
    return found


def pending_for(git_dir: Path, relpaths: Iterable[str]) -> list[Journal]:
    """Pending journals that name any of ``relpaths``."""
    wanted = set(relpaths)
    return [j for j in pending(git_dir) if wanted & set(j.files)]


def find_git_dir(start: Path) -> Path | None:
    """The git directory of the work tree containing ``start``, found without git or pygit2.

    Cheap enough for every command's start-up: a few ``stat`` calls.
    """
    current = start.absolute()
    for candidate in (current, *current.parents):
        dotgit = candidate / ".git"
        if dotgit.is_dir():
            return dotgit
        if dotgit.is_file():
            try:
                text = dotgit.read_text(errors="replace")[:4096]
            except OSError:
                return None
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (candidate / target).resolve()
            return None
    return None


def hint_line(start: Path) -> str | None:
    """The start-up hint about an interrupted operation in this repository, or None."""
    try:
        git_dir = find_git_dir(start)
        if git_dir is None or not journal_dir(git_dir).is_dir():
            return None
        found = pending(git_dir)
    except OSError:
        return None
    if not found:
        return None
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (
        f"gitvault: hint: an interrupted {first.describe()}{more} is pending: "
        "see `gitvault recover`, then `gitvault recover --finish` or `--undo`"
    )


def refuse_if_pending(git_dir: Path, relpaths: Iterable[str]) -> None:
    """Raise when an interrupted operation still owns any of ``relpaths``."""
    from gitvault.errors import GitError

    found = pending_for(git_dir, relpaths)
    if found:
        files = sorted({f for j in found for f in j.files} & set(relpaths))
        raise GitError(
            f"an interrupted {found[0].op} of {', '.join(files[:3])} is pending: "
            "its values may be held by an external system",
            hint="run `gitvault recover` to see it, then `gitvault recover --finish` "
            "(commit what was applied) or `gitvault recover --undo`",
        )


def recipients_of(datas: Iterable[bytes]) -> list[str]:
    """The union of the age recipients named in vault files' bytes (public keys)."""
    from gitvault.sops.file import parse_vault
    from gitvault.sops.formats import sniff

    seen: dict[str, None] = {}
    for data in datas:
        try:
            vault = parse_vault(data, "journal", sniff(data))
        except BadInput:
            continue
        for recipient in vault.recipients:
            seen[recipient] = None
    return list(seen)


def _sweep(directory: Path) -> None:
    """Remove temp files of journal writers that died mid-write."""
    for tmp in directory.glob(".*.tmp"):
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
        except (ValueError, IndexError):
            continue
        if not process_alive(pid):
            with contextlib.suppress(OSError):
                tmp.unlink()
