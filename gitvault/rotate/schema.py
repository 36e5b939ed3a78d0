"""The rule's JSON Schema, checked on a rotation's new values before anything runs.

``set``, ``unset``, ``edit`` and ``encrypt`` refuse a value the rule's schema
rejects; a rotation must too, and early: once an ``apply`` command has pushed a
new value to the external system, refusing to write it to the vault would leave
the two apart. So the check runs in the engine's first step, on the documents as
they will be written, before the journal, the write and every command.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitvault.rotate.files import RotatingFile


def check_new_values(state: RotatingFile) -> None:
    """Raise ``BadInput`` (exit 5, naming the key and the failed check, never the
    value) when the file with its new values fails its rule's schema."""
    from gitvault import keypath
    from gitvault.edits import schema_check

    check = schema_check(state.path)
    docs = copy.deepcopy(state.plain.documents)
    for key, secret in state.new.items():
        keypath.set_value(docs[0], state.parts[key], secret.reveal())
    check(docs)
