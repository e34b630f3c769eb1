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
                  now: datetime, locked: bool) -> str:
    """"on_time" or "late" for a journal entry (mark, topic, grade) written at `now`, else the refusal.

    - the statement resting on the data is posted and the preset locks on post (jagu 002 §4.3, oshsu 001 §4.3):
      `locked`;
    - before the session starts there is nothing to record yet;
    - inside the entry deadline (oshtu 24 h, kostanay 2 days, class day elsewhere): on time;
    - a later first entry is accepted inside the self-correction window counted from the session, flagged late;
    - corrections are accepted inside the self-correction window counted from the first entry (oshtu 3 calendar
      days, 003 §4.4.1; until the statement is posted at jagu/oshsu); after it the correction chain is the way.
      Each value's own window (a mark's, a grade's, counted from its own first entry) is the owning service's
      check, where the stored values are (attendance and grading `decide_marks` / `refuse_late_changes`).
    """
    if locked and policy.statements.lock_on_post:
        raise Locked("the statement resting on this session is posted; a correction request is the way forward")
    if now < starts_at:
        raise Conflict("the session or work has not taken place yet")
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
