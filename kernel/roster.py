"""Who is in a group on a date, from identity's `enrolment.changed` (RULES.md §2: the student list is built from
orders). Every service that checks a roster keeps its own copy of the periods and asks these functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

IMPORTED = "import"  # identity's basis of a period created by the contingent import, not by an order


@dataclass(frozen=True)
class Period:
    group: str
    subgroup: str | None
    starts: date
    ends: date | None  # exclusive; None = current


def enrolment_periods(wire: Iterable[Mapping[str, Any]]) -> list[Period]:
    """A student's periods from `enrolment.changed` (ISO dates, `ends` exclusive or null). A first period created
    by the contingent import covers the dates before it too: the portal's list says who is in a group, not since
    when (identity already dates such periods from before the journal's records; older events did not)."""
    pairs = sorted(((Period(p["group"], p.get("subgroup"), date.fromisoformat(p["starts"]),
                            date.fromisoformat(p["ends"]) if p.get("ends") else None), p.get("basis"))
                    for p in wire), key=lambda pair: pair[0].starts)
    return [replace(period, starts=date.min) if i == 0 and basis == IMPORTED else period
            for i, (period, basis) in enumerate(pairs)]


def enrolled_on(periods: Iterable[Period], day: date) -> Period | None:
    return next((p for p in periods if p.starts <= day and (p.ends is None or day < p.ends)), None)
