"""Compatibility names: the key-less file view lives in :mod:`gitvault.sops.view`."""

from __future__ import annotations

from gitvault.sops.view import Decryptor, ParsedVault, decryptor_for, parse_for_history

__all__ = ["Decryptor", "ParsedVault", "decryptor_for", "parse_for_history"]
