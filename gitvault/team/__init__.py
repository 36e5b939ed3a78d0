"""Team workflows: who can read what, and changing it.

- :mod:`~gitvault.team.recipients` edits the policy's recipients and groups;
- :mod:`~gitvault.team.rekey` re-wraps vault files to the recipients the policy
  names now, with a new data key (or the same one, ``--recipients-only``);
- :mod:`~gitvault.team.offboard` removes a person everywhere, re-keys what they
  could read and lists (and rotates) every key they ever could read;
- :mod:`~gitvault.team.access` reports who can read what, now and in history;
- :mod:`~gitvault.team.exposure` reads the recipients recorded in past versions.

Like the rest of the core, these modules return dataclasses and raise
:mod:`gitvault.errors` classes; they never print, and no value ever reaches a
message or a report (reports name files, key paths and people).
"""
