"""Gitignore-like path globs for excludes: ``*``, ``?``, ``**`` and directory prefixes.

Pure functions over POSIX-style relative paths. A pattern without a slash
matches the file name anywhere (``*.min.js``); a pattern with one is anchored
at the repository root (``vendor/**``); a trailing slash means a directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    pat = pattern.strip()
    anchored = "/" in pat.rstrip("/")
    if pat.endswith("/"):
        pat += "**"
    pat = pat.lstrip("/")
    out = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    # A pattern naming a directory also covers everything below it.
    return re.compile(f"{prefix}{body}(?:/.*)?")


def matches(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` (relative, POSIX separators) matches any pattern."""
    return any(_compile(p).fullmatch(path) for p in patterns if p.strip())
