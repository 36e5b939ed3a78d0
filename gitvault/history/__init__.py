"""History as the audit trail: per-key events from commits, and what is due.

``audit`` builds per-key events (added, rotated, removed, re-keyed, recipients)
from git history, comparing each change in ``events``; ``due`` is a pure
function of now, periods and last changes; ``schedule`` joins the policy's
periods with history. The trust checks (rollback, substitution, authorship)
live in :mod:`gitvault.trust`; ``freshness``, ``policies`` and ``sources`` here
are compatibility names. Nothing here prints, writes, or returns a secret value.
"""
