"""Gitignore-like path globs for excludes: ``*``, ``?``, ``**`` and directory prefixes.

Pure functions over POSIX-style relative paths. A pattern without a slash
matches the file name anywhere (``*.min.js``); a pattern with one is anchored
at the repository root (``vendor/**``); a trailing slash means a directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from gitvault.errors import BadInput
from gitvault.policy.glob import Glob, compile_glob


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Glob | None:
    """The pattern as a linear-time glob (see :mod:`gitvault.policy.glob`); None if unusable.

    Excludes come from the policy a branch can change, so they are never turned
    into a backtracking regex. ``[`` is literal here, as it always was for excludes.
    """
    pat = pattern.strip()
    anchored = "/" in pat.rstrip("/")
    if pat.endswith("/"):
        pat += "**"
    pat = pat.lstrip("/")
    if not anchored:
        pat = "**/" + pat
    try:
        # A pattern naming a directory also covers everything below it.
        return compile_glob(pat, classes=False, dir_prefix=True)
    except BadInput:
        return None  # too long to be a real exclude: it excludes nothing


def matches(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` (relative, POSIX separators) matches any pattern."""
    for p in patterns:
        if p.strip():
            glob = _compile(p)
            if glob is not None and glob.fullmatch(path):
                return True
    return False
