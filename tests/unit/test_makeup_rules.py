"""Make-up, dispute and appeal rules without a database (RULES.md §5-§7; 003 §5, §6): the make-up deadline with
its two-step extension, the task per session kind, the register's consistency check, the dispute and appeal
windows in working days over weekends and Kyrgyz public holidays, and the commission's membership."""

from datetime import date, datetime, timedelta

import pytest

from kernel.errors import Conflict, DeadlinePassed, Forbidden, ValidationFailed
from kernel.policy import load_preset
from makeup import domain
from makeup.domain import ExtensionStep, RegisterMakeup

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")
KOSTANAY = load_preset("kostanay")


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


ABSENCE = at("2026-10-01")  # a Thursday class missed


def step(role: str, day: str, until: str = "2026-10-30") -> ExtensionStep:
    return ExtensionStep(role=role, actor=role.upper(), at=at(day), until=OSHTU.end_of_day(date.fromisoformat(until)),
                         reason="long illness")


# -- make-up deadline (003 §5.3) ------------------------------------------------------------------------------


def test_oshtu_makeup_requested_on_day_13_is_accepted_003_5_3_1():
    deadline = domain.base_deadline(OSHTU, ABSENCE)
    assert deadline == OSHTU.end_of_day(date(2026, 10, 15))  # 14 calendar days, to 24:00 of the last day
    domain.check_deadline(deadline, ABSENCE + timedelta(days=13))
    domain.check_deadline(deadline, at("2026-10-15", "23:59"))


def test_oshtu_makeup_requested_on_day_15_is_refused_deadline_passed_003_5_3_1():
    deadline = domain.base_deadline(OSHTU, ABSENCE)
    with pytest.raises(DeadlinePassed) as exc:
        domain.check_deadline(deadline, ABSENCE + timedelta(days=15))
    assert exc.value.code == "deadline_passed"
    assert domain.shown_state("requested", deadline, ABSENCE + timedelta(days=15)) == "expired"


def test_oshtu_makeup_accepted_after_department_head_then_directorate_extend_003_5_3_2():
    base = domain.base_deadline(OSHTU, ABSENCE)
    day15 = ABSENCE + timedelta(days=15)
    steps = domain.add_extension_step(OSHTU, [], step("department_head", "2026-10-16"), base)
    # one step is not enough: the extension counts only when both decided
    assert domain.effective_deadline(OSHTU, base, steps) == base
    with pytest.raises(DeadlinePassed):
        domain.check_deadline(domain.effective_deadline(OSHTU, base, steps), day15)
    assert domain.next_extension_role(OSHTU, steps) == "directorate"
    steps = domain.add_extension_step(OSHTU, steps, step("directorate", "2026-10-16"), base)
    deadline = domain.effective_deadline(OSHTU, base, steps)
    assert deadline == OSHTU.end_of_day(date(2026, 10, 30))
    domain.check_deadline(deadline, day15)
    assert domain.shown_state("requested", deadline, day15) == "requested"


def test_oshtu_extension_in_the_wrong_order_is_refused_003_5_3_2():
    base = domain.base_deadline(OSHTU, ABSENCE)
    with pytest.raises(Conflict) as exc:
        domain.add_extension_step(OSHTU, [], step("directorate", "2026-10-16"), base)
    assert exc.value.code == "conflict"
    steps = domain.add_extension_step(OSHTU, [], step("department_head", "2026-10-16"), base)
    with pytest.raises(Conflict):  # the same step twice
        domain.add_extension_step(OSHTU, steps, step("department_head", "2026-10-16"), base)
    with pytest.raises(Forbidden):  # a role outside the chain
        domain.add_extension_step(OSHTU, [], step("teacher", "2026-10-16"), base)
    with pytest.raises(ValidationFailed):  # an extension that does not extend
        domain.add_extension_step(OSHTU, [], step("department_head", "2026-10-16", until="2026-10-10"), base)


def test_due_date_inside_the_deadline_in_force_003_5_3():
    base = domain.base_deadline(OSHTU, ABSENCE)
    domain.check_due(OSHTU.end_of_day(date(2026, 10, 15)), base, at("2026-10-05"))
    with pytest.raises(DeadlinePassed):
        domain.check_due(OSHTU.end_of_day(date(2026, 10, 16)), base, at("2026-10-05"))
    with pytest.raises(DeadlinePassed):  # assigning after the deadline
        domain.check_due(OSHTU.end_of_day(date(2026, 10, 20)), base, at("2026-10-17"))


# -- eligibility, state machine, task kind (003 §5, RULES.md §6) ------------------------------------------------


def test_only_an_absence_of_the_presets_kinds_can_be_made_up_003_5_2():
    for status in ("absent", "excused", "sick"):
        domain.check_absence(OSHTU, status)
    for status in ("present", "made_up", None):
        with pytest.raises(Conflict):
            domain.check_absence(OSHTU, status)


def test_make_up_disabled_where_the_preset_has_none_rules_6():
    assert not JAGU.makeup.enabled
    with pytest.raises(Conflict):
        domain.check_enabled(JAGU)


def test_kostanay_two_weeks_and_one_approver_004_19():
    absence = at("2026-10-01")
    base = domain.base_deadline(KOSTANAY, absence)
    assert base == KOSTANAY.end_of_day(date(2026, 10, 15))
    extension = ExtensionStep("directorate", "D1", at("2026-10-16"), KOSTANAY.end_of_day(date(2026, 10, 25)), "x")
    steps = domain.add_extension_step(KOSTANAY, [], extension, base)
    assert domain.effective_deadline(KOSTANAY, base, steps) == KOSTANAY.end_of_day(date(2026, 10, 25))


@pytest.mark.parametrize(("session_kind", "allowed", "refused"), [
    ("lecture", ("summary_oral", "test", "essay"), ("redo_lab", "practical_task", "project")),
    ("practice", ("practical_task", "test"), ("essay", "redo_lab")),
    ("lab", ("redo_lab", "project"), ("test", "essay")),
    ("srs", ("essay", "project"), ("test", "redo_lab")),
])
def test_task_kind_suits_the_session_kind_rules_6(session_kind, allowed, refused):
    for task in allowed:
        domain.check_task_kind(session_kind, task)
    for task in refused:
        with pytest.raises(ValidationFailed) as exc:
            domain.check_task_kind(session_kind, task)
        assert "task_kind" in exc.value.errors


def test_makeup_states_requested_assigned_completed_rules_6():
    assert domain.check_move("requested", "assign") == "assigned"
    assert domain.check_move("assigned", "complete") == "completed"
    with pytest.raises(Conflict):
        domain.check_move("requested", "complete")
    with pytest.raises(Conflict):
        domain.check_move("completed", "assign")
    assert domain.shown_state("completed", at("2026-10-01"), at("2026-12-01")) == "completed"


def test_result_in_points_on_the_scale_or_a_grade_003_5_5():
    assert domain.check_result(OSHTU, 8) == 8
    assert domain.check_result(OSHTU, "зачтено") == "зачтено"
    for bad in (101, -1, True, None, "", float("nan")):
        with pytest.raises(ValidationFailed):
            domain.check_result(OSHTU, bad)


# -- the make-up register (003 §5.6) ---------------------------------------------------------------------------


def test_register_consistent_when_marks_and_makeups_agree_003_5_6():
    now = at("2026-10-20")
    marks = {(1, "S1"): "made_up", (1, "S2"): "absent", (2, "S1"): "present"}
    makeups = [RegisterMakeup(10, 1, "S1", "completed", at("2026-10-10")),
               RegisterMakeup(11, 1, "S2", "requested", None)]
    assert domain.register_mismatches(marks, makeups, now) == ([], [])


def test_register_detects_made_up_mark_without_completed_makeup_003_5_6():
    now = at("2026-10-20")
    marks = {(1, "S1"): "made_up", (1, "S2"): "made_up"}
    makeups = [RegisterMakeup(10, 1, "S1", "completed", at("2026-10-10")),
               RegisterMakeup(11, 1, "S2", "assigned", None)]
    mismatches, pending = domain.register_mismatches(marks, makeups, now)
    assert [(m["kind"], m["student"]) for m in mismatches] == [("made_up_without_completed_makeup", "S2")]
    assert pending == []


def test_register_detects_completed_makeup_whose_mark_is_not_made_up_after_a_grace_003_5_6():
    completed_at = at("2026-10-10")
    marks = {(1, "S1"): "absent"}
    makeups = [RegisterMakeup(10, 1, "S1", "completed", completed_at)]
    # right after completion attendance's event may still be on its way: pending, not a mismatch
    mismatches, pending = domain.register_mismatches(marks, makeups, completed_at + timedelta(seconds=5))
    assert mismatches == [] and [p["makeup"] for p in pending] == [10]
    mismatches, pending = domain.register_mismatches(marks, makeups, completed_at + timedelta(minutes=10))
    assert [(m["kind"], m["makeup"], m["status"]) for m in mismatches] == [
        ("completed_makeup_mark_not_made_up", 10, "absent")]
    # a completed make-up whose mark the register does not know at all is a mismatch too
    mismatches, _ = domain.register_mismatches({}, makeups, completed_at + timedelta(minutes=10))
    assert mismatches[0]["status"] is None


# -- disputes (003 §6.2) -----------------------------------------------------------------------------------------


def test_dispute_within_3_working_days_of_publication_003_6_2():
    published = at("2026-10-08", "15:00")  # a Thursday: Fri, Mon, Tue are the 3 working days
    assert domain.dispute_deadline(OSHTU, published) == OSHTU.end_of_day(date(2026, 10, 13))
    domain.check_dispute_window(OSHTU, published, at("2026-10-13", "18:00"))
    with pytest.raises(DeadlinePassed):
        domain.check_dispute_window(OSHTU, published, at("2026-10-14", "09:00"))


def test_dispute_states_open_resolved_escalated_003_6_2():
    assert domain.dispute_move("open", "resolve") == "resolved"
    assert domain.dispute_move("open", "escalate") == "escalated"
    assert domain.dispute_move("resolved", "escalate") == "escalated"  # the student does not accept the answer
    assert domain.dispute_move("escalated", "resolve") == "resolved"
    with pytest.raises(Conflict):
        domain.dispute_move("escalated", "escalate")


# -- appeals and commissions (003 §6.3) ------------------------------------------------------------------------


def test_appeal_after_a_friday_posting_is_accepted_on_monday_refused_on_tuesday_003_6_3():
    posted = at("2026-10-09", "16:00")  # Friday
    assert date(2026, 10, 9).isoweekday() == 5
    domain.check_statement_appealable("posted")
    domain.check_appeal_window(OSHTU, posted, at("2026-10-10", "10:00"))  # Saturday: still inside
    domain.check_appeal_window(OSHTU, posted, at("2026-10-12", "17:00"))  # Monday, the next working day
    with pytest.raises(DeadlinePassed) as exc:
        domain.check_appeal_window(OSHTU, posted, at("2026-10-13", "09:00"))  # two working days later
    assert exc.value.code == "deadline_passed"


def test_appeal_window_skips_a_kyrgyz_public_holiday_003_6_3_rules_5():
    # 2026-08-31 (Monday) is Independence Day in Kyrgyzstan: from a Friday posting the next working day is Tuesday
    assert "Independence" in OSHTU.public_holidays(2026)[date(2026, 8, 31)]
    posted = at("2026-08-28", "12:00")
    assert domain.appeal_deadline(OSHTU, posted) == OSHTU.end_of_day(date(2026, 9, 1))
    domain.check_appeal_window(OSHTU, posted, at("2026-09-01", "16:00"))
    with pytest.raises(DeadlinePassed):
        domain.check_appeal_window(OSHTU, posted, at("2026-09-02", "09:00"))


def test_appeal_window_skips_eid_and_nooruz_2026_003_6_3_rules_5():
    # Thursday 2026-03-19 posting: Fri 03-20 is Eid al-Fitr, Sat 03-21 Nooruz, so Monday 03-23 is the working day
    holidays = OSHTU.public_holidays(2026)
    assert date(2026, 3, 20) in holidays and date(2026, 3, 21) in holidays
    posted = at("2026-03-19", "11:00")
    assert domain.appeal_deadline(OSHTU, posted) == OSHTU.end_of_day(date(2026, 3, 23))


def test_appeal_only_against_a_posted_or_closed_statement_003_6_3():
    domain.check_statement_appealable("closed")
    for state in ("open", None):
        with pytest.raises(Conflict):
            domain.check_statement_appealable(state)


def test_only_a_member_of_an_active_commission_decides_003_6_3():
    commissions = [(1, ["T01", "T02", "T03"], date(2026, 10, 1), date(2026, 10, 31)),
                   (2, ["T09"], date(2026, 1, 1), date(2026, 1, 31))]
    assert domain.check_decider("T02", commissions, date(2026, 10, 12)) == 1
    with pytest.raises(Forbidden):
        domain.check_decider("T04", commissions, date(2026, 10, 12))  # not a member
    with pytest.raises(Forbidden):
        domain.check_decider("T09", commissions, date(2026, 10, 12))  # the commission's term is over


def test_a_decision_needs_a_protocol_and_is_taken_once_003_6_3():
    domain.check_decision("filed", True, "P-7")
    with pytest.raises(ValidationFailed):
        domain.check_decision("filed", True, "")
    with pytest.raises(ValidationFailed):
        domain.check_decision("filed", "yes", "P-7")
    with pytest.raises(Conflict):
        domain.check_decision("decided", True, "P-7")


def test_commission_by_order_with_distinct_members_and_a_period_003_6_3():
    assert domain.check_commission(["T01", "T02"], date(2026, 10, 1), date(2026, 10, 31)) == ["T01", "T02"]
    for members in ([], ["T01", "T01"], "T01", [""]):
        with pytest.raises(ValidationFailed):
            domain.check_commission(members, date(2026, 10, 1), date(2026, 10, 31))
    with pytest.raises(ValidationFailed):
        domain.check_commission(["T01"], date(2026, 10, 31), date(2026, 10, 1))
