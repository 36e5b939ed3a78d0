"""The write journal of operations with external effects (``rotate``, ``offboard --rotate``).

:mod:`gitvault.journal.record` is the journal file itself (format, phases,
stages, writing); :mod:`gitvault.journal.probe` finds the journals of
interrupted operations (the start-up hint, the refusals). Everything a caller
needs is re-exported here.
"""

from gitvault.journal.probe import (
    find_git_dir,
    hint_line,
    pending,
    pending_for,
    recipients_of,
    refuse_if_pending,
)
from gitvault.journal.record import (
    APPLYING,
    COMMITTING,
    FAILED,
    KEPT,
    MAY_HOLD_NEW,
    NOT_RUN,
    PLANNED,
    PREPARED,
    ROLLBACK_FAILED,
    ROTATED,
    SCHEMA,
    UNCOMMITTED,
    WRITTEN,
    Journal,
    JournalError,
    KeyPhase,
    decode,
    encode,
    journal_dir,
)

__all__ = [
    "APPLYING",
    "COMMITTING",
    "FAILED",
    "KEPT",
    "MAY_HOLD_NEW",
    "NOT_RUN",
    "PLANNED",
    "PREPARED",
    "ROLLBACK_FAILED",
    "ROTATED",
    "SCHEMA",
    "UNCOMMITTED",
    "WRITTEN",
    "Journal",
    "JournalError",
    "KeyPhase",
    "decode",
    "encode",
    "find_git_dir",
    "hint_line",
    "journal_dir",
    "pending",
    "pending_for",
    "recipients_of",
    "refuse_if_pending",
]
