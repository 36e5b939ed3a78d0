"""History as the audit trail: per-key events from commits, and what is due.

``audit`` builds per-key events (added, rotated, removed, re-keyed, recipients)
from git history; ``due`` is a pure function of now, periods and last changes;
``sources`` bridges the audit to the vault format code. Nothing here prints,
writes, or returns a secret value.
"""
