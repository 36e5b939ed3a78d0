"""A stand-in for ``gitvault.api`` over *plain* JSON files, for the export tests.

The export commands only need ``load_identities``, ``decrypt_file`` and
``load_policy``. Until the core exists (and to test the export flow apart from
the crypto), a "vault file" here is a JSON document (valid YAML) and:

* a file containing ``TAMPERED`` raises IntegrityError (exit 4);
* a file containing ``DENIED`` raises AccessDenied (exit 3).

``install()`` puts it in ``sys.modules`` so ``from gitvault import api`` finds
it. Replacing this with the real API is the ``export_api`` fixture in
tests/export/conftest.py.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitvault.errors import AccessDenied, IntegrityError


@dataclass(frozen=True)
class Decrypted:
    documents: list[Any]
    recipient: str | None = "ci-test"


def load_identities(explicit: Path | None = None) -> object:
    return object()


def decrypt_file(path: Path, identities: object) -> Decrypted:
    text = Path(path).read_text()
    if "TAMPERED" in text:
        raise IntegrityError(f"{path}: mac mismatch")
    if "DENIED" in text:
        raise AccessDenied(f"{path}: no identity can decrypt")
    return Decrypted([json.loads(text)])


def load_policy(root: Path) -> None:
    return None


def install() -> types.ModuleType:
    """Register this module as ``gitvault.api`` and return the module it replaced."""
    previous = sys.modules.get("gitvault.api")
    sys.modules["gitvault.api"] = sys.modules[__name__]
    import gitvault

    gitvault.api = sys.modules[__name__]  # type: ignore[attr-defined]
    return previous  # type: ignore[return-value]


if __name__ == "__main__":
    # `python -m tests.export.fake_api ARGS…` = `gitvault ARGS…` on the fake API.
    install()
    from gitvault.cli import main

    main(sys.argv[1:])
