"""``verify`` as a CI gate, on real vault repositories (the ``vault`` fixture of tests/cli)."""

from __future__ import annotations

from tests.cli.conftest import Vault, vault  # noqa: F401 - fixture re-export

__all__ = ["Vault"]
