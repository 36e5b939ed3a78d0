"""The leak scan of the range's added lines (:func:`gitvault.scan.scan_history`).

Scan excludes come from the policy the range is judged by (the base's, see
:attr:`~gitvault.review.context.Collector.trusted_pol`), so a pull request
cannot exclude its own leak. Lines a merge commit adds of its own (neither
parent had them) are scanned too.

The vault's own values (the known-values matcher) cost a decryption of every
vault file, whatever the range: they are read only when the range adds lines
they could appear in — lines outside vault files, or plaintext leaves of the
changed vault files — and once per run. Values stay in memory for the scan.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from gitvault.errors import GitvaultError
from gitvault.git import revrange
from gitvault.git.log import CommitRecord
from gitvault.review.context import Collector
from gitvault.review.model import Leak
from gitvault.sops.value import looks_encrypted


def _excludes(c: Collector) -> tuple[str, ...]:
    pol = c.trusted_pol
    excludes = tuple(pol.scan_exclude) if pol is not None else ()
    prefix = c.policies.prefix
    return tuple(prefix + e for e in excludes) if prefix else excludes


def scan_leaks(c: Collector, changed: list[str], records: Sequence[CommitRecord]) -> list[Leak]:
    """Scanner findings in the lines the range adds; each one is also a ``leak`` finding.

    The range's commits are scanned by their own diffs, and its merge commits
    by the lines they add of their own (:mod:`gitvault.review.mergescan`).
    """
    from gitvault.review.mergescan import merge_units
    from gitvault.scan import ScanOptions, scan_history, scan_units
    from gitvault.scan.pathmatch import matches

    excludes = _excludes(c)
    merged = [u for u in merge_units(c.repo.root, records) if not matches(u.path, excludes)]
    wanted = c.ids is not None and (
        any(not c.covered(u.path) for u in merged) or needs_known_values(c, changed, excludes)
    )
    options = ScanOptions(
        excludes=excludes,
        known_values=known_values(c) if wanted else (),
        check_file_names=True,
    )
    findings = list(scan_history(c.repo.root, [c.rng.spec], options).findings)
    if merged:  # rare: the matcher is compiled a second time only for a merge's own lines
        findings += scan_units(merged, options).findings
    out = []
    for f in findings:
        out.append(
            Leak(
                rule=f.rule,
                description=f.description,
                path=f.path,
                line=f.line,
                commit=f.commit,
                fingerprint=f.fingerprint,
                key_path=f.key_path,
            )
        )
        where = f"{f.path}:{f.line}" if f.line else f.path
        c.find("leak", f"{where}: {f.description}", file=f.path, commit=f.commit)
    return out


def needs_known_values(c: Collector, changed: list[str], excludes: tuple[str, ...]) -> bool:
    """Whether the range adds any line a vault value could be hidden in.

    Added lines of files outside the vault count (one ``git log --numstat``
    over the range); inside a changed vault file only its plaintext leaves can
    hold a value (encrypted ones are ``ENC[…]``; values the rule requires
    encrypted are checked by the file checks).
    """
    from gitvault.scan.pathmatch import matches

    proc = subprocess.run(
        [
            "git",
            "-c",
            "core.quotepath=false",
            "log",
            "--numstat",
            "-z",
            "--format=",
            "--no-renames",
            c.rng.spec,
            "--",
        ],
        cwd=c.repo.root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        return True  # cannot tell: be thorough
    for record in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        added, _, rest = record.strip("\n").partition("\t")
        path = rest.partition("\t")[2]
        if not path or added in ("0", "-") or c.covered(path) or matches(path, excludes):
            continue
        return True
    for path in changed:
        _blob, view = c.view(c.rng.head, path)
        if view is not None and any(v and not looks_encrypted(v) for v in view.leaves.values()):
            return True
    return False


def known_values(c: Collector) -> tuple[tuple[str, str], ...]:
    """Values of the vault files at HEAD the identities can read, for the scanner only."""
    if c.ids is None or c.head_pol is None:
        return ()
    from gitvault.history.sources import decryptor_for

    decrypt = decryptor_for(c.ids)
    pairs: list[tuple[str, str]] = []
    for path in revrange.list_files(c.repo.root, c.rng.head):
        if not c.policies.covers(c.head_pol, path):
            continue
        try:
            values = decrypt(c.repo.read_file(c.rng.head, path), path)
        except GitvaultError:
            continue
        pairs += [
            (f"{path}:{k}", v) for k, v in values.items() if isinstance(v, str) and len(v) >= 6
        ]
    return tuple(pairs)
