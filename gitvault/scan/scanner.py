"""The scanner's entry points: files on disk, the staged change, a history range.

Each function builds one :class:`~gitvault.scan.detector.Detector`, feeds it
units from a source and returns a :class:`~gitvault.scan.model.ScanResult`.
Vault values, baseline fingerprints and path excludes are passed in by the
caller (the CLI or the hook runner), so this module never decrypts, never
reads the policy and never prints.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitvault.scan import baseline as baseline_mod
from gitvault.scan import gitdiff, nature, pathmatch, sources
from gitvault.scan.detector import Detector, fingerprint
from gitvault.scan.known import matcher_for
from gitvault.scan.model import Finding, ScanResult, Skipped, Unit

# Never scan our own bookkeeping.
ALWAYS_EXCLUDED = (baseline_mod.DEFAULT_NAME,)


@dataclass(frozen=True)
class ScanOptions:
    """What the caller decided: excludes, accepted fingerprints, vault values, engine."""

    excludes: tuple[str, ...] = ()
    baseline: frozenset[str] = frozenset()
    known_values: tuple[tuple[str, str], ...] = ()
    engine: str = "auto"
    check_file_names: bool = True


def _detector(options: ScanOptions) -> Detector:
    # Built once per process for the same values (a hook scans several sources).
    known = matcher_for(options.known_values, options.engine) if options.known_values else None
    return Detector(known_values=known, engine=options.engine, baseline=options.baseline)


def _excluded(path: str, options: ScanOptions) -> bool:
    return pathmatch.matches(path, (*ALWAYS_EXCLUDED, *options.excludes))


def _file_findings(
    files: Iterable[gitdiff.ChangedFile], options: ScanOptions, detector: Detector
) -> list[Finding]:
    """Plaintext-by-nature files among the changed files (once per path)."""
    out: list[Finding] = []
    seen: set[str] = set()
    for changed in files:
        if changed.path in seen or _excluded(changed.path, options):
            continue
        seen.add(changed.path)
        verdict = nature.plaintext_by_nature(changed.path)
        if verdict is None:
            continue
        fp = fingerprint(nature.RULE_ID, changed.path, b"")
        if fp in options.baseline:
            detector.suppressed += 1
            continue
        what, fix = verdict
        out.append(
            Finding(
                rule=nature.RULE_ID,
                description=what,
                path=changed.path,
                line=0,
                column=0,
                fingerprint=fp,
                preview="",
                severity="high",
                commit=changed.commit,
                fix=fix,
            )
        )
    return out


class _Run:
    """Accumulates units through one detector into a result."""

    def __init__(self, options: ScanOptions) -> None:
        self.options = options
        self.detector = _detector(options)
        self.findings: list[Finding] = []
        self.skipped: list[Skipped] = []
        self.files = 0
        self.bytes = 0
        self.allowed = 0

    def unit(self, unit: Unit) -> None:
        if _excluded(unit.path, self.options):
            return
        self.files += 1
        self.bytes += len(unit.data)
        report = self.detector.scan(unit)
        self.findings.extend(report.findings)
        self.allowed += report.allowed

    def result(self, source: str) -> ScanResult:
        ordered = sorted(
            self.findings, key=lambda f: (f.path, f.line, f.column, f.commit or "", f.rule)
        )
        return ScanResult(
            findings=tuple(ordered),
            files_scanned=self.files,
            bytes_scanned=self.bytes,
            skipped=tuple(self.skipped),
            suppressed_by_baseline=self.detector.suppressed,
            allowed_inline=self.allowed,
            engine=self.detector.engine,
            source=source,
        )


def scan_units(units: Iterable[Unit], options: ScanOptions = ScanOptions()) -> ScanResult:
    """Scan in-memory units (used by tests, benchmarks and other tools)."""
    run = _Run(options)
    for unit in units:
        run.unit(unit)
    return run.result("units")


def scan_paths(
    paths: Sequence[Path], options: ScanOptions = ScanOptions(), *, base: Path | None = None
) -> ScanResult:
    """Scan whole files and directory trees; paths are reported relative to ``base``."""
    run = _Run(options)
    for item in sources.file_units(paths, base):
        if isinstance(item, Skipped):
            if not _excluded(item.path, options):
                run.skipped.append(item)
            continue
        run.unit(item)
    return run.result("paths")


def scan_staged(root: Path, options: ScanOptions = ScanOptions()) -> ScanResult:
    """Scan the lines the staged change adds, plus plaintext-by-nature file names."""
    run = _Run(options)
    parsed = gitdiff.staged_changes(root)
    for unit in parsed.units:
        run.unit(unit)
    if options.check_file_names:
        run.findings.extend(_file_findings(parsed.files, options, run.detector))
    run.skipped.extend(Skipped(f.path, "binary") for f in parsed.files if f.binary)
    return run.result("staged")


def scan_history(
    root: Path, revs: Sequence[str] = ("--all",), options: ScanOptions = ScanOptions()
) -> ScanResult:
    """Scan the lines each commit of ``revs`` adds (each blob once)."""
    run = _Run(options)
    files: list[gitdiff.ChangedFile] = []
    for parser in gitdiff.history_changes(root, revs):
        for unit in parser.units:
            run.unit(unit)
        parser.units.clear()
        files.extend(parser.files)
        parser.files.clear()
    if options.check_file_names:
        run.findings.extend(_file_findings(files, options, run.detector))
    return run.result("history")


def load_baseline(path: Path | None) -> frozenset[str]:
    """Fingerprints from a baseline file (empty when ``path`` is None or absent)."""
    return frozenset(baseline_mod.load(path)) if path is not None else frozenset()


def merge_baseline(path: Path, findings: Collection[Finding]) -> int:
    """Add ``findings`` to the baseline at ``path``; return how many were new."""
    return baseline_mod.update(path, findings)
