"""Rotation: generate new values, install and prove them elsewhere, roll back on failure.

Submodules: ``generators`` (specs such as ``password:32``), ``commands`` (apply and
verify commands with timeout and rollback). The orchestration that decrypts,
writes and commits lives with the core (``engine``), not here.

Nothing in this package prints or logs a value.
"""
