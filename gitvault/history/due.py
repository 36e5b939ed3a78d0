"""Which keys are due for rotation: a pure function of now, periods and last changes.

Inputs come from elsewhere: the policy gives each key its period (``90d``,
``12h``, ``2w``, ``1y``), the audit gives each key's last value change
(:func:`gitvault.history.audit.last_changes`), and the caller passes ``now``,
so results replay exactly in tests.

Statuses: ``overdue`` (now is past last change + period), ``due-soon`` (within
``within`` of that), ``ok``, and ``unknown`` for a key with no change in
history (for example a file that was never committed): nothing to measure.

This module does no I/O, reads no clock and never sees a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitvault.errors import BadInput

SCHEMA = "gitvault.due/v1"
OK, DUE_SOON, OVERDUE, UNKNOWN = "ok", "due-soon", "overdue", "unknown"
_ORDER = {OVERDUE: 0, DUE_SOON: 1, UNKNOWN: 2, OK: 3}
_UNITS = {
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}
_PERIOD = re.compile(r"(\d+)([hdwy])")


def parse_period(text: str) -> timedelta:
    """``90d`` -> 90 days; also ``12h``, ``2w``, ``1y`` and sums like ``1w3d``."""
    spec = text.strip().lower()
    if not spec or _PERIOD.sub("", spec) != "":
        raise BadInput(
            f"invalid period {text[:40]!r}: use a number and a unit h, d, w or y, e.g. 90d"
        )
    total = sum((int(n) * _UNITS[unit] for n, unit in _PERIOD.findall(spec)), timedelta())
    if total <= timedelta():
        raise BadInput(f"invalid period {text[:40]!r}: must be longer than zero")
    return total


def format_period(delta: timedelta) -> str:
    """A short human form: ``3d``, ``5h``, ``0h``; negative durations get a minus."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 86400:
        return f"{sign}{seconds // 86400}d"
    return f"{sign}{seconds // 3600}h"


@dataclass(frozen=True)
class DueItem:
    """One key with a rotation period."""

    file: str
    key: str
    period: timedelta
    last_change: datetime | None
    due_at: datetime | None
    age: timedelta | None
    status: str
    # The commit whose ``Gitvault-Exposed`` trailer marks this value as leaked:
    # overdue, whatever its age, until a later commit changes the value.
    exposed: str | None = None


@dataclass(frozen=True)
class DueReport:
    """Every key with a period, most urgent first."""

    now: datetime
    within: timedelta
    items: tuple[DueItem, ...]
    schema: str = SCHEMA

    @property
    def overdue(self) -> tuple[DueItem, ...]:
        return tuple(i for i in self.items if i.status == OVERDUE)

    @property
    def due_soon(self) -> tuple[DueItem, ...]:
        return tuple(i for i in self.items if i.status == DUE_SOON)

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(UTC).isoformat()

        return {
            "schema": self.schema,
            "now": when(self.now),
            "within_seconds": int(self.within.total_seconds()),
            "items": [
                {
                    "file": i.file,
                    "key": i.key,
                    "status": i.status,
                    "period_seconds": int(i.period.total_seconds()),
                    "last_change": when(i.last_change),
                    "due_at": when(i.due_at),
                    "age_seconds": None if i.age is None else int(i.age.total_seconds()),
                    "exposed": i.exposed,
                }
                for i in self.items
            ],
        }


def _as_datetime(value: datetime | int | float) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BadInput("times must carry a time zone")
        return value
    return datetime.fromtimestamp(value, tz=UTC)


def due_report(
    now: datetime,
    periods: Iterable[tuple[str, str, timedelta | str]],
    last_changes: Mapping[tuple[str, str], datetime | int | float],
    *,
    within: timedelta = timedelta(days=7),
    exposed: Mapping[tuple[str, str], str] | None = None,
) -> DueReport:
    """Status of every ``(file, key, period)`` at ``now``.

    ``last_changes`` maps ``(file, key)`` to the time the value last changed
    (a datetime with a zone, or epoch seconds). ``within`` is the due-soon window.
    ``exposed`` maps keys still exposed (see :mod:`gitvault.history.exposed`) to
    the commit that recorded it: they are overdue whatever their age, and listed
    even without a period (period 0).
    """
    exposed = dict(exposed or {})
    now = _as_datetime(now)
    if within < timedelta():
        raise BadInput("the due-soon window must not be negative")
    items = []
    listed = [(f, k, p) for f, k, p in periods]
    named = {(f, k) for f, k, _ in listed}
    listed += [(f, k, timedelta()) for f, k in sorted(exposed) if (f, k) not in named]
    for file, key, period in listed:
        span = parse_period(period) if isinstance(period, str) else period
        changed = last_changes.get((file, key))
        leak = exposed.get((file, key))
        if leak is not None:
            last = _as_datetime(changed) if changed is not None else None
            age = now - last if last is not None else None
            items.append(DueItem(file, key, span, last, last, age, OVERDUE, leak))
            continue
        if changed is None:
            items.append(DueItem(file, key, span, None, None, None, UNKNOWN))
            continue
        last = _as_datetime(changed)
        due_at = last + span
        if now >= due_at:
            status = OVERDUE
        elif now >= due_at - within:
            status = DUE_SOON
        else:
            status = OK
        items.append(DueItem(file, key, span, last, due_at, now - last, status))
    items.sort(key=lambda i: (_ORDER[i.status], i.due_at or now, i.file, i.key))
    return DueReport(now=now, within=within, items=tuple(items))
