"""due: periods, statuses and ordering, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gitvault.errors import BadInput
from gitvault.history.due import (
    DUE_SOON,
    OK,
    OVERDUE,
    UNKNOWN,
    due_report,
    format_period,
    parse_period,
)

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("1y", timedelta(days=365)),
        ("1w3d", timedelta(days=10)),
        (" 30D ", timedelta(days=30)),
    ],
)
def test_parse_period(text: str, expected: timedelta) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "3x", "-1d", "1.5d", "90 d"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(BadInput):
        parse_period(text)


def test_statuses_and_order() -> None:
    periods = [
        ("a.yaml", "fresh", "90d"),
        ("a.yaml", "soon", "30d"),
        ("a.yaml", "late", "30d"),
        ("b.yaml", "never", "30d"),
        ("b.yaml", "exact", timedelta(days=10)),
    ]
    last = {
        ("a.yaml", "fresh"): NOW - timedelta(days=1),
        ("a.yaml", "soon"): NOW - timedelta(days=25),
        ("a.yaml", "late"): int((NOW - timedelta(days=45)).timestamp()),
        ("b.yaml", "exact"): NOW - timedelta(days=10),
    }
    report = due_report(NOW, periods, last, within=timedelta(days=7))
    assert [(i.key, i.status) for i in report.items] == [
        ("late", OVERDUE),
        ("exact", OVERDUE),
        ("soon", DUE_SOON),
        ("never", UNKNOWN),
        ("fresh", OK),
    ]
    late = report.items[0]
    assert late.age == timedelta(days=45) and late.due_at == NOW - timedelta(days=15)
    assert [i.key for i in report.overdue] == ["late", "exact"]
    assert [i.key for i in report.due_soon] == ["soon"]
    data = report.to_json()
    assert data["schema"] == "gitvault.due/v1" and data["items"][0]["status"] == "overdue"
    assert data["items"][3]["last_change"] is None


def test_within_zero_and_errors() -> None:
    last = {("a", "k"): NOW - timedelta(days=29)}
    assert due_report(NOW, [("a", "k", "30d")], last, within=timedelta()).items[0].status == OK
    with pytest.raises(BadInput):
        due_report(NOW.replace(tzinfo=None), [], {})
    with pytest.raises(BadInput):
        due_report(NOW, [], {}, within=timedelta(days=-1))


def test_format_period() -> None:
    assert format_period(timedelta(days=3, hours=5)) == "3d"
    assert format_period(timedelta(hours=5)) == "5h"
    assert format_period(-timedelta(days=2)) == "-2d"
