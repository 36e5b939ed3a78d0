"""Secret scanning: rules, prefilter, vault values, sources and reports.

Public entry points (everything else in this package may change):

- :func:`scan_paths`, :func:`scan_staged`, :func:`scan_history`, :func:`scan_units`
  return a :class:`ScanResult`;
- :class:`ScanOptions` carries excludes, baseline fingerprints and vault values;
- :func:`render_text`, :func:`render_json`, :func:`render_sarif` format a result.

The package never prints, never imports click, and never stores or returns a
secret: findings hold redacted previews and fingerprints only.
"""

from __future__ import annotations

from gitvault.scan.model import Finding, ScanResult, Skipped, Unit
from gitvault.scan.report import render_json, render_sarif, render_text
from gitvault.scan.scanner import (
    ScanOptions,
    load_baseline,
    merge_baseline,
    scan_history,
    scan_paths,
    scan_staged,
    scan_units,
)

__all__ = [
    "Finding",
    "ScanOptions",
    "ScanResult",
    "Skipped",
    "Unit",
    "load_baseline",
    "merge_baseline",
    "render_json",
    "render_sarif",
    "render_text",
    "scan_history",
    "scan_paths",
    "scan_staged",
    "scan_units",
]
