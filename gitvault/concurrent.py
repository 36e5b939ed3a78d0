"""Saving an edit made on a version of a vault file that may no longer be the current one.

``edit`` cannot hold the file's lock while the editor is open (that may be
minutes, and every other writer would time out), so it reads the file, lets
the user edit, and only then takes the lock (:func:`gitvault.locking.file_lock`)
and calls :func:`rebase_edit`, which re-reads the file:

- unchanged since it was read: the edit is saved as it is;
- changed by someone else (a ``set``, another ``edit``, a ``rekey``): the edit
  is merged per key onto the current version with the merge driver's pure
  three-way merge (:func:`gitvault.drivers.merge_document`: base = what the
  editor started from, ours = the edit, theirs = the file now). Keys only one
  side changed merge cleanly. The result is encrypted like the file *now*
  (its data key, recipients and unchanged ciphertexts), so a re-key made
  while the editor was open is kept;
- the same key changed on both sides, the file deleted, or a file that can no
  longer be opened: :class:`ConcurrentChange` (exit 6) naming the keys, and
  the file is left as the other writer left it. Never overwritten silently.

No value reaches a message: conflicts are named by key path only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitError, GitvaultError

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.model import Mapping


class ConcurrentChange(GitError):
    """The file changed under an edit in a way that cannot be merged (exit 6)."""


def rebase_edit(
    path: Path,
    original: bytes | None,
    edited: bytes,
    base_docs: list[Mapping] | None,
    edited_docs: list[Mapping],
    ids: Identities,
    *,
    label: str = "",
) -> bytes:
    """The bytes to write for an edit, given the file as it is now.

    ``original`` is the file the editor started from (None: a new file) and
    ``base_docs`` its decrypted documents; ``edited``/``edited_docs`` are the
    edit, encrypted like ``original`` and as plaintext. Call it while holding
    the file's lock, so nobody writes between this read and the write.
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
    from gitvault.drivers.treemerge import merge_document
    from gitvault.model import Mapping as DocMapping
    from gitvault.sops.file import open_file, parse_vault, reencrypt

    try:
        now = open_file(parse_vault(current, name), ids.keys, record_ivs=True)
    except GitvaultError as exc:
        raise ConcurrentChange(
            f"{name} was changed by someone else while you edited it and cannot be opened "
            f"now ({exc.message}); your changes were not saved",
            hint=_AGAIN.format(name=name),
        ) from None
    base = base_docs if base_docs is not None else [DocMapping() for _ in edited_docs]
    if not (len(base) == len(edited_docs) == len(now.documents)):
        raise _conflict(name, ["(documents)"])
    merged: list[Mapping] = []
    conflicts: list[str] = []
    many = len(edited_docs) > 1
    for i, (b, o, t) in enumerate(zip(base, edited_docs, now.documents, strict=True)):
        doc, found, _taken = merge_document(b, o, t, f"[{i}]" if many else "")
        merged.append(doc)
        conflicts += [c.key for c in found]
    if conflicts:
        raise _conflict(name, conflicts)
    from gitvault.sopsconfig import indent_for

    return reencrypt(merged, now, name=name, indent=indent_for(now.format, path))


_AGAIN = "edit again: `gitvault edit {name}` starts from their version"


def _conflict(name: str, keys: list[str]) -> ConcurrentChange:
    shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return ConcurrentChange(
        f"{name} was changed by someone else while you edited it, on key(s) you changed "
        f"too: {shown}; your changes were not saved",
        hint=_AGAIN.format(name=name),
    )
