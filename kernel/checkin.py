"""The check-in's rules, which both ends of the check-in burst apply (RULES.md §2, §9; preset `checkin`): the
gateway refuses at the edge, from the access token and its read model, what the attendance service would refuse,
so a refused scan never queues; the attendance service judges every queued scan again against the enrolment
orders and its own archived years (attendance.domain.judge_checkins). One definition, two callers.

The archived-year lock lives here for the same reason: the check-in is refused in an archived year at both ends."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kernel.errors import Forbidden, WindowClosed
from kernel.policy import CHECKIN, Policy
from kernel.roster import Period, enrolled_on

PRESENT = "present"
COMMISSION = "commission"  # an appeal decision (003 §6.3): the one writer an archived year admits


def on_roster(periods: Iterable[Period], group: str, subgroup: str | None, day: date) -> bool:
    """Whether a student with these enrolment periods belongs to a session of `group`/`subgroup` on `day`."""
    period = enrolled_on([p for p in periods if p.group == group], day)
    return period is not None and (subgroup is None or period.subgroup == subgroup)


def session_day(policy: Policy, starts_at: datetime) -> date:
    """A session belongs to the local date of its start, in the institution's timezone."""
    return policy.local(starts_at).date()


@dataclass(frozen=True)
class ClosedYear:
    year: str
    starts: date
    ends: date  # inclusive


def year_lock(closed: Iterable[ClosedYear], first: date, last: date | None = None,
              role: str | None = None) -> str | None:
    """Why a change to sessions dated in [first, last] (one day when `last` is None) is refused (409 locked),
    or None: a closed academic year admits only an appeal decision (role commission)."""
    if role == COMMISSION:
        return None
    last = first if last is None else last
    for y in sorted(closed, key=lambda y: y.starts):
        if y.starts <= last and first <= y.ends:
            return f"the academic year {y.year} is archived: only an appeal decision changes it (RULES.md §9)"
    return None


def checkin_window(policy: Policy, starts_at: datetime) -> tuple[datetime, datetime]:
    c = policy.checkin
    return (starts_at - timedelta(minutes=c.opens_minutes_before_start),
            starts_at + timedelta(minutes=c.closes_minutes_after_start))


def checkin_open(policy: Policy, starts_at: datetime, now: datetime) -> bool:
    """Both edges belong to the window."""
    opens, closes = checkin_window(policy, starts_at)
    return opens <= now <= closes


def address_allowed(policy: Policy, address: str | None) -> bool:
    subnets = policy.checkin.allowed_subnets
    if not subnets:
        return True
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in subnets)


def check_checkin(policy: Policy, periods: Iterable[Period], group: str, subgroup: str | None,
                  starts_at: datetime, now: datetime, address: str | None) -> None:
    """Raise unless this student may check in to this session now, from this address."""
    if not policy.checkin.enabled or not policy.may_set(CHECKIN, PRESENT):
        raise Forbidden("QR check-in is not used at this institution")
    if not on_roster(periods, group, subgroup, session_day(policy, starts_at)):
        raise Forbidden("not on the roster of this session")
    if not checkin_open(policy, starts_at, now):
        opens, closes = checkin_window(policy, starts_at)
        raise WindowClosed(f"check-in is open from {policy.local(opens).isoformat()} "
                           f"to {policy.local(closes).isoformat()}")
    if not address_allowed(policy, address):
        raise Forbidden("check-in is accepted only from the institution's network")
