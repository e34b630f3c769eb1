"""The institution's time windows for journal writes, decided at the gateway before anything is forwarded
(ARCHITECTURE.md; RULES.md §5). Plain functions over the preset: no nameko, no database."""

from __future__ import annotations

from datetime import datetime

from kernel.errors import Conflict, Locked, WindowClosed
from kernel.policy import Policy


def attendance_write(policy: Policy, starts_at: datetime, first_entry_at: datetime | None, now: datetime,
                     locked: bool) -> str:
    return journal_write(policy, "attendance_entry", starts_at, first_entry_at, now, locked)


def journal_write(policy: Policy, entry_window: str, starts_at: datetime, first_entry_at: datetime | None,
                  now: datetime, locked: bool, corrected_at: datetime | None = None) -> str:
    """"on_time" or "late" for a journal entry (mark, topic, grade) written at `now`, else the refusal.

    - the statement resting on the data is posted and the preset locks on post (jagu 002 §4.3, oshsu 001 §4.3):
      `locked`;
    - before the session starts there is nothing to record yet;
    - a write that changes a value entered before (`corrected_at`: the earliest first entry among the values it
      changes) is a correction: only inside the self-correction window counted from that entry (oshtu 3 calendar
      days, 003 §4.4.1, even while the entry deadline is still open; none at kostanay, 004 §4, §13: an act to the
      faculty head, the correction chain), else `window_closed`;
    - inside the entry deadline (oshtu 24 h, kostanay 2 days, class day elsewhere): on time;
    - a later first entry is accepted inside the self-correction window counted from the session, flagged late;
    - corrections known only per session (`first_entry_at`, the session's first entry) are accepted inside the
      self-correction window counted from it (until the statement is posted at jagu/oshsu); after it the
      correction chain is the way.
    """
    if locked and policy.statements.lock_on_post:
        raise Locked("the statement resting on this session is posted; a correction request is the way forward")
    if now < starts_at:
        raise Conflict("the session or work has not taken place yet")
    if corrected_at is not None and not policy.is_open("self_correction", corrected_at, now):
        raise WindowClosed("a value entered before can no longer be changed by the teacher (the self-correction "
                           "window has passed or the institution has none); request a correction")
    entry_deadline = policy.deadline(entry_window, starts_at)
    if entry_deadline is None or now <= entry_deadline:
        return "on_time"
    correction = policy.window("self_correction")
    if correction.allowed:
        anchor = first_entry_at or starts_at
        until = policy.deadline("self_correction", anchor)
        if until is None or now <= until:
            return "late"
    raise WindowClosed("the self-correction window for this session has passed; request a correction")
