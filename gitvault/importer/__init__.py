"""``gitvault import``: bring existing secrets into vault files, many at a time.

The programmatic surface (the CLI and ``migrate`` use only these):

- :func:`plan_import` (``sources``, :class:`ImportOptions`) → :class:`ImportPlan`:
  reads and checks every source and destination, writes nothing;
- :func:`plan_units` (already-read :class:`Unit` objects, e.g. values held in
  memory by ``migrate``) → :class:`ImportPlan`, with the same checks;
- :func:`apply_import` (plan, ``commit=``:class:`CommitOptions` | None) →
  :class:`ImportResult`: encrypts every file and writes them all or none.

``ImportPlan.to_json()`` is the dry-run report (paths, keys, origins,
recipients; never a value). Sources, name mapping and the write guarantee are
documented in docs/import.md. Nothing in this package prints.
"""

from __future__ import annotations

from gitvault.importer.apply import CommitOptions, ImportResult, apply_import, encrypt_file
from gitvault.importer.plan import (
    ImportOptions,
    ImportPlan,
    PlannedFile,
    PlannedKey,
    plan_import,
    plan_units,
)
from gitvault.importer.sources import Unit

__all__ = [
    "CommitOptions",
    "ImportOptions",
    "ImportPlan",
    "ImportResult",
    "PlannedFile",
    "PlannedKey",
    "Unit",
    "apply_import",
    "encrypt_file",
    "plan_import",
    "plan_units",
]
