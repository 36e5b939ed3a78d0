"""Compatibility names: the policy at each commit lives in :mod:`gitvault.trust.policies`."""

from __future__ import annotations

from gitvault.trust.policies import (
    POLICY_FILE,
    PolicyHistory,
    named_by_email,
    policy_from_bytes,
    policy_prefix,
    readers,
    recipient_names,
    signing_entries,
)

__all__ = [
    "POLICY_FILE",
    "PolicyHistory",
    "named_by_email",
    "policy_from_bytes",
    "policy_prefix",
    "readers",
    "recipient_names",
    "signing_entries",
]
