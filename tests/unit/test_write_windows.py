"""The gateway's write windows for journal entries (gateway/windows.py) under each institution's preset: RULES.md §5,
entry deadlines and the teacher's self-correction window, counted from the session and from the value's own entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway import windows
from kernel.errors import Conflict, Locked, WindowClosed
from kernel.policy import load_preset

KG = ZoneInfo("Asia/Bishkek")
KZ = ZoneInfo("Asia/Qostanay")
MONDAY_KG = datetime(2026, 10, 5, 9, 0, tzinfo=KG)  # a session at 09:00 (no public holiday that week)
MONDAY_KZ = datetime(2026, 10, 5, 9, 0, tzinfo=KZ)


def write(preset: str, now: datetime, *, starts: datetime = MONDAY_KG, window: str = "attendance_entry",
          first: datetime | None = None, locked: bool = False) -> str:
    return windows.journal_write(load_preset(preset), window, starts, first, now, locked)


def test_nothing_is_recorded_before_the_session_starts() -> None:
    for preset in ("oshtu", "jagu", "oshsu"):
        with pytest.raises(Conflict):
            write(preset, MONDAY_KG - timedelta(minutes=1))


@pytest.mark.parametrize("preset", ["oshtu", "jagu", "oshsu", "kostanay"])
def test_a_posted_statement_locks_the_data_it_rests_on_at_every_institution(preset: str) -> None:
    """jagu 002 §4.3, oshsu 001 §4.3, oshtu 003 §4.4.3, kostanay 004 §4: after posting, the correction chain."""
    with pytest.raises(Locked):
        write(preset, MONDAY_KG + timedelta(hours=1), locked=True)


def test_oshtu_attendance_within_24_hours_is_on_time_then_late_inside_3_days_of_the_entry_4_2_1_4_4_1() -> None:
    assert write("oshtu", MONDAY_KG + timedelta(hours=23)) == "on_time"
    first = MONDAY_KG + timedelta(hours=2)
    assert write("oshtu", MONDAY_KG + timedelta(hours=30), first=first) == "late"
    assert write("oshtu", datetime(2026, 10, 8, 23, 59, tzinfo=KG), first=first) == "late"  # 3 calendar days
    with pytest.raises(WindowClosed):
        write("oshtu", datetime(2026, 10, 9, 0, 1, tzinfo=KG), first=first)


def test_oshtu_a_current_grade_goes_in_within_5_calendar_days_of_the_work_4_3_1() -> None:
    """003 §4.3.1; a change of one already entered is timed from its own entry by grading (test_grading_rules)."""
    work = datetime(2026, 10, 5, 0, 0, tzinfo=KG)
    assert write("oshtu", datetime(2026, 10, 10, 23, 0, tzinfo=KG), starts=work, window="grade_entry") == "on_time"
    with pytest.raises(WindowClosed):  # later: the correction chain
        write("oshtu", datetime(2026, 10, 11, 9, 0, tzinfo=KG), starts=work, window="grade_entry")


def test_oshtu_module_grades_go_in_during_the_module_week_4_3_2() -> None:
    """003 §4.3.2: module grades go in during the module week (the week of the module test: the academic calendar
    is not in the system); a missed first entry goes through the correction chain."""
    test_day = datetime(2026, 10, 5, 0, 0, tzinfo=KG)  # Monday
    sunday = datetime(2026, 10, 11, 23, 0, tzinfo=KG)
    assert write("oshtu", sunday, starts=test_day, window="module_grade_entry") == "on_time"
    with pytest.raises(WindowClosed):
        write("oshtu", datetime(2026, 10, 12, 9, 0, tzinfo=KG), starts=test_day, window="module_grade_entry")


@pytest.mark.parametrize("preset", ["jagu", "oshsu"])
def test_jagu_and_oshsu_late_entries_and_changes_are_accepted_until_the_statement_is_posted(preset: str) -> None:
    """jagu 002 §4.3, oshsu 001 §4.3: on the class day; afterwards flagged late, no change after posting."""
    assert write(preset, MONDAY_KG + timedelta(hours=8)) == "on_time"
    weeks_later = MONDAY_KG + timedelta(days=30)
    assert write(preset, weeks_later, first=MONDAY_KG + timedelta(hours=1)) == "late"


def test_kostanay_attendance_within_2_days_and_no_self_correction_004_17_4_13() -> None:
    """004 §17: within 2 days of the class; §4, §13: an error in entered data goes by an act to the faculty head."""
    entered = MONDAY_KZ + timedelta(hours=2)
    assert write("kostanay", MONDAY_KZ + timedelta(days=1), starts=MONDAY_KZ, first=entered) == "on_time"
    with pytest.raises(WindowClosed):
        write("kostanay", MONDAY_KZ + timedelta(days=3), starts=MONDAY_KZ, first=entered)
