"""One vault file during a rotation: its old plaintext, the new values, any mix of them.

:class:`RotatingFile` renders the file with the new value of any subset of its
rotating keys and the old value of the others, reusing the IVs of both
versions, so a key that did not rotate keeps its old ciphertext byte for byte.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault import keypath
from gitvault.errors import BadInput
from gitvault.rotate.model import Secret

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.sops.document import IvStash, Plain


@dataclass
class RotatingFile:
    """One vault file during a run: its old plaintext and the bytes to write."""

    relpath: str
    path: Path
    original: bytes
    plain: Plain
    parts: dict[str, list[str | int]] = field(default_factory=dict)
    old: dict[str, Secret | None] = field(default_factory=dict)  # None: no previous value
    new: dict[str, Secret] = field(default_factory=dict)
    stash: IvStash | None = None  # None: the old version's IVs only

    def render(self, use_new: Callable[[str], bool]) -> bytes:
        """The file with new values for the keys ``use_new`` accepts, old ones elsewhere."""
        from gitvault.sops.file import reencrypt

        if not any(use_new(k) for k in self.new):
            return self.original
        docs = copy.deepcopy(self.plain.documents)
        for key, secret in self.new.items():
            if use_new(key):
                keypath.set_value(docs[0], self.parts[key], secret.reveal())
        from gitvault.sopsconfig import indent_for

        indent = indent_for(self.plain.format, self.path)
        return reencrypt(docs, self.plain, stash=self.stash, indent=indent)

    def values(self) -> tuple[str, ...]:
        """Every old and new value, to mask in command and hook output."""
        olds = [s.reveal() for s in self.old.values() if s is not None]
        return tuple(olds + [s.reveal() for s in self.new.values()])


def scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = getattr(value, "text", None)  # timestamps keep their text
    return text if isinstance(text, str) else str(value)


def load_file(
    root: Path, relpath: str, keys: Sequence[str], identities: Identities, original: bytes
) -> RotatingFile:
    """Decrypt ``original`` (the file's bytes) and look up ``keys`` in it."""
    from gitvault.model import Mapping as DocMapping
    from gitvault.sops.file import open_file, parse_vault

    vault = parse_vault(original, relpath)
    plain = open_file(vault, identities.keys, identities.describe_tried(), record_ivs=True)
    state = RotatingFile(relpath, root / relpath, original, plain)
    if len(plain.documents) != 1:
        raise BadInput(
            f"{relpath}: rotating keys in a file with several YAML documents is not supported"
        )
    for key in keys:
        parts = keypath.parse(key)
        try:
            node = keypath.get(plain.documents[0], parts)
        except BadInput:
            raise BadInput(f"no key {key!r} in {relpath}") from None
        if isinstance(node, DocMapping | list):
            raise BadInput(f"{relpath}:{key} is not a single value: name a key that holds one")
        state.parts[key] = parts
        old = scalar_text(node)
        state.old[key] = None if old is None else Secret(old)
    return state


def merged_stash(state: RotatingFile, all_new: bytes, identities: Identities) -> IvStash:
    """IVs of the old and the new version, so any mix keeps both sides' ciphertexts."""
    from gitvault.sops.file import open_file, parse_vault

    reopened = open_file(parse_vault(all_new, state.relpath), identities.keys, record_ivs=True)
    # Unchanged values have the same entry on both sides; the old IV wins by design.
    return {**reopened.stash, **state.plain.stash}
