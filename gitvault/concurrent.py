"""Saving an edit made on a version of a vault file that may no longer be the current one.

``edit`` cannot hold the file's lock while the editor is open (that may be
minutes, and every other writer would time out), so it reads the file, lets
the user edit, and only then takes the lock (:func:`gitvault.locking.file_lock`)
and calls :func:`rebase_edit`, which re-reads the file:

- unchanged since it was read: the edit is saved as it is;
- changed by someone else (a ``set``, another ``edit``, a ``rekey``): the edit
  is merged per key onto the current version, exactly as the git merge driver
  merges two branches (:func:`gitvault.drivers.merge`: base = what the editor
  started from, ours = the edit, theirs = the file now). Keys only one side
  changed merge cleanly; a re-key on their side is kept (the result uses their
  data key and recipients);
- the same key changed on both sides, the file deleted, or a merge that is
  not possible: :class:`ConcurrentChange` (exit 6) naming the keys, and the
  file is left as the other writer left it. Never overwritten silently.

No value reaches a message: conflicts are named by key path only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitError

if TYPE_CHECKING:
    from gitvault.identities import Identities


class ConcurrentChange(GitError):
    """The file changed under an edit in a way that cannot be merged (exit 6)."""


def rebase_edit(
    path: Path, original: bytes | None, edited: bytes, ids: Identities, *, label: str = ""
) -> bytes:
    """The bytes to write for ``edited`` (made from ``original``) given the file as it is now.

    ``original`` is None when the editor started a new file. Call it while
    holding the file's lock, so nobody writes between this read and the write.
    """
    name = label or str(path)
    try:
        current: bytes | None = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current == original:
        return edited
    if current is None:
        raise ConcurrentChange(
            f"{name} was deleted while you edited it; your changes were not saved",
            hint="restore it (git checkout) and edit again",
        )
    from gitvault import drivers

    outcome = drivers.merge(original or b"", edited, current, name, ids)
    if outcome.status == drivers.CLEAN and outcome.data is not None:
        return outcome.data
    if outcome.status == drivers.CONFLICT and outcome.conflicts:
        keys = ", ".join(c.key for c in outcome.conflicts[:5])
        more = len(outcome.conflicts) - 5
        raise ConcurrentChange(
            f"{name} was changed by someone else while you edited it, on the same key(s) "
            f"you changed: {keys}"
            + (f" and {more} more" if more > 0 else "")
            + "; your changes were not saved",
            hint=f"edit again: `gitvault edit {name}` starts from their version",
        )
    raise ConcurrentChange(
        f"{name} was changed by someone else while you edited it and the two cannot be "
        "merged per key; your changes were not saved",
        hint=f"edit again: `gitvault edit {name}` starts from their version",
    )
