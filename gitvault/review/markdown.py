"""Markdown building blocks of the review comment: escaping, tables and marks.

:func:`escape` makes anything from the repository inert Markdown; the other
helpers format commits, dates, durations, check marks and capped tables for
:mod:`gitvault.review.render_markdown` and :mod:`gitvault.review.sections`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

MAX_ROWS = 100
_SPECIAL = re.compile(r"([\\`*_{}\[\]!|~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def escape(text: object) -> str:
    """``text`` as inert Markdown: no formatting, links, HTML, mentions or table breaks."""
    s = _CONTROL.sub(" ", str(text))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    # A zero-width space after "@" keeps GitHub from mentioning (and notifying) anyone.
    return s.replace("@", "@\u200b")


def short(commit: str | None) -> str:
    """A commit id as 12 characters of code (``-`` for none)."""
    return f"`{commit[:12]}`" if commit else "-"


def date(epoch: int | None) -> str:
    """A UTC date (``-`` for none)."""
    return "-" if epoch is None else time.strftime("%Y-%m-%d", time.gmtime(epoch))


def span(seconds: int | None) -> str:
    """A duration in days, or hours under a day (``-`` for none)."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 86400}d" if seconds >= 86400 else f"{sign}{seconds // 3600}h"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table of at most :data:`MAX_ROWS` rows (cells already escaped)."""
    rows = list(rows)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        out.append(f"\n_… and {len(rows) - MAX_ROWS} more rows (see `--format json`)._")
    return out


def ok(good: bool, text: str, bad_mark: str = "❌") -> str:
    """``text`` after a check mark, or after ``bad_mark``."""
    return f"{'✅' if good else bad_mark} {text}"


def signature(state: str, signer: str | None) -> str:
    """A commit's signature state as a table cell."""
    if state == "verified":
        return f"✅ verified: {escape(signer)}"
    return {
        "unsigned": "⚠️ unsigned",
        "foreign": "❌ key not in policy",
        "bad": "❌ bad signature",
    }.get(state, f"❌ {escape(state)}")


def change(kind: str, value_changed: bool | None) -> str:
    """A key's change kind; a re-key says whether the value changed too."""
    if kind != "rekeyed":
        return kind
    return {True: "re-keyed, value changed", False: "re-keyed, value unchanged"}.get(
        value_changed,  # type: ignore[arg-type]
        "re-keyed (value unknown)",
    )
