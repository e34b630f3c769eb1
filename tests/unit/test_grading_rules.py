"""Grading rules without a database (RULES.md §4, §5, §9; API.md "Grades, statements, corrections"): scales,
the rating formula as preset data with a hand calculation, letters, admission, statements, the late-correction
chain and the academic year archive."""

from datetime import date, datetime, timedelta

import pytest

from grading import domain
from grading.domain import AssessmentFact, SessionFact, StatementFact, Step
from kernel.errors import Conflict, Forbidden, WindowClosed
from kernel.policy import load_preset

JAGU = load_preset("jagu")
KOSTANAY = load_preset("kostanay")
OSHTU = load_preset("oshtu")


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


# -- scales (RULES.md §4) ------------------------------------------------------------------------------------


def test_kostanay_whole_points_100_accepted_101_and_7_5_refused_naming_the_student_004_6():
    ok = domain.check_grades(KOSTANAY, 100, ["S1"], [{"student": "S1", "value": 100}])
    assert not ok
    bad = domain.check_grades(KOSTANAY, 100, ["S1", "S2"],
                              [{"student": "S1", "value": 101}, {"student": "S2", "value": 7.5}])
    assert set(bad.by_field) == {"grades[0].value", "grades[1].value"}
    assert "S1" in bad.by_field["grades[0].value"][0]
    assert "S2" in bad.by_field["grades[1].value"][0]


def test_jagu_marks_are_0_to_5_only_002_3_5():
    assert not domain.check_grades(JAGU, 5, ["S1"], [{"student": "S1", "value": 5}])
    for value in (6, 4.5, -1, "5", None, True):
        errors = domain.check_grades(JAGU, 5, ["S1"], [{"student": "S1", "value": value}])
        assert "grades[0].value" in errors.by_field, value


def test_grade_above_the_assessments_max_is_refused_rules_4():
    errors = domain.check_grades(KOSTANAY, 20, ["S1"], [{"student": "S1", "value": 21}])
    assert "above the assessment's maximum" in errors.by_field["grades[0].value"][0]


def test_student_off_the_roster_is_refused_naming_the_row_rules_2():
    errors = domain.check_grades(KOSTANAY, 100, ["S1"], [{"student": "S9", "value": 50}])
    assert "grades[0].student" in errors.by_field


def test_assessment_max_must_be_positive_and_on_the_scale_rules_4():
    assert not domain.check_assessment(JAGU, {"kind": "current", "max": 5})
    assert "max" in domain.check_assessment(JAGU, {"kind": "current", "max": 10}).by_field
    assert "max" in domain.check_assessment(KOSTANAY, {"kind": "current", "max": 0}).by_field
    assert "kind" in domain.check_assessment(KOSTANAY, {"kind": "quiz", "max": 10}).by_field


def test_only_changed_values_are_changes():
    changes = domain.grade_changes({"S1": 4.0, "S2": 3.0}, [{"student": "S1", "value": 4},
                                                            {"student": "S2", "value": 5},
                                                            {"student": "S3", "value": 2}])
    assert [(c.student, c.old, c.new) for c in changes] == [("S2", 3.0, 5.0), ("S3", None, 2.0)]


def test_oshtu_current_grade_late_after_5_calendar_days_003_4_3_1():
    day = date(2026, 10, 5)
    assert not domain.grade_late(OSHTU, "current", day, at("2026-10-10", "23:59"))
    assert domain.grade_late(OSHTU, "current", day, at("2026-10-11", "00:01"))


def test_jagu_grade_late_after_the_class_day_002_4_3():
    assert not domain.grade_late(JAGU, "current", date(2026, 10, 5), at("2026-10-05", "23:00"))
    assert domain.grade_late(JAGU, "current", date(2026, 10, 5), at("2026-10-06", "08:00"))


# -- the rating: a hand calculation (RULES.md §4; 002 §3.5) ----------------------------------------------------


def jagu_group():
    """Student S1, 0-5 marks (each assessment out of 5), module 1 control on 2026-10-20.
    Module 1: 8 sessions before the control, S1 present at 6, absent at 2; current marks 4 and 5; control 4.
    Module 2: 4 sessions after it, all present; current mark 3; control 5. Final exam 4."""
    days1 = [f"2026-09-{d:02d}" for d in (7, 9, 14, 16, 21, 23, 28, 30)]
    days2 = ["2026-11-02", "2026-11-04", "2026-11-09", "2026-11-11"]
    statuses1 = ["present"] * 6 + ["absent"] * 2
    sessions = [SessionFact(i, at(d), {"S1": s}) for i, (d, s) in enumerate(zip(days1, statuses1, strict=True))]
    sessions += [SessionFact(100 + i, at(d), {"S1": "present"}) for i, d in enumerate(days2)]
    assessments = [
        AssessmentFact(1, "current", "quiz 1", date(2026, 9, 14), 5, {"S1": 4}),
        AssessmentFact(2, "current", "quiz 2", date(2026, 10, 1), 5, {"S1": 5}),
        AssessmentFact(3, "module1", "module 1", date(2026, 10, 20), 5, {"S1": 4}),
        AssessmentFact(4, "current", "quiz 3", date(2026, 11, 4), 5, {"S1": 3}),
        AssessmentFact(5, "module2", "module 2", date(2026, 12, 1), 5, {"S1": 5}),
        AssessmentFact(6, "final", "exam", date(2026, 12, 20), 5, {"S1": 4}),
    ]
    return sessions, assessments


def test_jagu_exam_discipline_uses_8_and_10_hand_calculation_002_3_5():
    sessions, assessments = jagu_group()
    r = domain.student_result(JAGU, "exam", "S1", sessions, assessments)
    c = {k: v["points"] for k, v in r["components"].items()}
    # by hand: attendance 8 × 6/8 = 6; performance 10 × mean(4/5, 5/5) = 10 × 0.9 = 9; module control 12 × 4/5 =
    # 9.6; module 2: attendance 8 × 4/4 = 8, performance 10 × 3/5 = 6, control 12 × 5/5 = 12; exam 40 × 4/5 = 32
    assert c == {"m1_attendance": 6, "m1_current": 9, "m1_control": 9.6,
                 "m2_attendance": 8, "m2_current": 6, "m2_control": 12, "final": 32}
    assert r["rating"] == 82.6  # 6 + 9 + 9.6 + 8 + 6 + 12 + 32
    assert (r["letter"], r["grade5"]) == ("B", 4)  # 82.6 rounds to 83: B (80-86), 4
    assert r["components"]["m1_attendance"]["from"] == "8 × 6/8 sessions attended = 6"
    assert r["components"]["m1_attendance"]["max"] == 8
    assert r["attendance"] == {"held": 12, "present": 10, "absent": 2, "excused": 0, "made_up": 0, "rate": 83.33}


def test_jagu_credit_discipline_uses_16_and_20_002_3_5():
    sessions, assessments = jagu_group()
    r = domain.student_result(JAGU, "credit", "S1", sessions, assessments)
    c = {k: v["points"] for k, v in r["components"].items()}
    # by hand: 16 × 6/8 = 12; 20 × 0.9 = 18; 14 × 4/5 = 11.2; 16 × 4/4 = 16; 20 × 3/5 = 12; 14 × 5/5 = 14; no exam
    assert c == {"m1_attendance": 12, "m1_current": 18, "m1_control": 11.2,
                 "m2_attendance": 16, "m2_current": 12, "m2_control": 14}
    assert r["rating"] == 83.2
    assert r["components"]["m1_current"]["max"] == 20


def test_missing_grade_counts_zero_and_says_so_rules_4():
    a = [AssessmentFact(1, "current", "q", date(2026, 9, 14), 5, {"S2": 5})]
    r = domain.student_result(JAGU, "exam", "S1", [], a)
    assert r["components"]["m1_current"]["points"] == 0
    assert "no grade counts 0" in r["components"]["m1_current"]["from"]


def test_oshtu_excused_is_not_counted_and_made_up_counts_as_present_003_1_4_3():
    sessions = [SessionFact(i, at(f"2026-09-{7 + i:02d}"), {"S1": s})
                for i, s in enumerate(["present", "excused", "made_up", "absent"])]
    summary = domain.attendance_summary(OSHTU, [s.marks["S1"] for s in sessions])
    assert summary["held"] == 4 and summary["excused"] == 1 and summary["made_up"] == 1
    # share = present-equivalent (present + made_up) / held less excused = 2/3
    assert summary["earned"] == 2 and summary["counted"] == 3
    r = domain.student_result(OSHTU, "exam", "S1", sessions, [])
    assert r["components"]["m1_attendance"]["points"] == 5.33  # 8 × 2/3
    assert "1 excused not counted" in r["components"]["m1_attendance"]["from"]


# -- letters and admission (RULES.md §4) ----------------------------------------------------------------------


@pytest.mark.parametrize(("points", "letter", "grade5"), [
    (0, "F", 2), (30, "F", 2), (31, "FX", 2), (60, "FX", 2), (60.4, "FX", 2), (60.5, "E", 3), (61, "E", 3),
    (79, "C", 4), (80, "B", 4), (86, "B", 4), (87, "A", 5), (100, "A", 5)])
def test_jagu_letters_at_the_boundaries_rules_4(points, letter, grade5):
    row = JAGU.letter_for(points)
    assert (row.letter, row.grade5) == (letter, grade5)


@pytest.mark.parametrize(("points", "letter"), [(49, "FX"), (50, "D"), (94, "A-"), (95, "A")])
def test_kostanay_letters_at_the_boundaries_rules_4(points, letter):
    assert KOSTANAY.letter_for(points).letter == letter


def test_admission_needs_min_points_and_attendance_rules_4():
    sessions, assessments = jagu_group()
    r = domain.student_result(JAGU, "exam", "S1", sessions, assessments)
    assert r["admitted"] and r["before_final"] == 50.6
    poor = [SessionFact(i, at(f"2026-09-{7 + i:02d}"), {"S1": "present" if i < 5 else "absent"}) for i in range(10)]
    r = domain.student_result(JAGU, "exam", "S1", poor, [])
    assert not r["admitted"]
    assert len(r["admission_reasons"]) == 2  # 4 points < 30, attendance 50% < 70%


# -- statements (003 §1.5, §7.6; 002 §4.3) -------------------------------------------------------------------


def test_statement_moves_open_posted_closed_and_nothing_else_003_7_6():
    assert domain.statement_move("open", "post") == "posted"
    assert domain.statement_move("posted", "close") == "closed"
    for state, action in (("open", "close"), ("posted", "post"), ("closed", "post"), ("closed", "close")):
        with pytest.raises(Conflict):
            domain.statement_move(state, action)


def test_posted_statement_locks_the_teacher_closed_locks_everyone_but_the_commission_002_4_3():
    posted = [StatementFact(1, "module1", "posted")]
    closed = [StatementFact(1, "module1", "closed")]
    assert domain.lock_reason(JAGU, "teacher", [], "2026-2027", False) is None
    assert "posted" in domain.lock_reason(JAGU, "teacher", posted, "2026-2027", False)
    assert domain.lock_reason(JAGU, "correction", posted, "2026-2027", False) is None
    assert "closed" in domain.lock_reason(JAGU, "correction", closed, "2026-2027", False)
    assert domain.lock_reason(JAGU, "commission", closed, "2026-2027", False) is None


def test_module_statement_covers_its_module_only():
    _, assessments = jagu_group()
    boundary = domain.module_boundary(assessments)
    covered = [a.id for a in assessments if domain.statement_covers("module1", a, boundary)]
    assert covered == [1, 2, 3]
    assert [a.id for a in assessments if domain.statement_covers("final", a, boundary)] == [1, 2, 3, 4, 5, 6]


def test_module_statement_row_sums_its_components():
    sessions, assessments = jagu_group()
    r = domain.student_result(JAGU, "exam", "S1", sessions, assessments)
    row = domain.statement_row(JAGU, "module1", r)
    assert row["points"] == 24.6 and row["max"] == 30  # 6 + 9 + 9.6 of 8 + 10 + 12
    assert set(row["components"]) == {"m1_attendance", "m1_current", "m1_control"}
    assert domain.statement_row(JAGU, "final", r)["points"] == 82.6


# -- late corrections (003 §4.4.2; 004 §10, §13) -----------------------------------------------------------------


def requested(policy, when=None):
    return [Step("request", "teacher", "T1", when or at("2026-10-05"), None)]


def test_oshtu_correction_walks_reason_visa_approve_execute_003_4_4_2():
    steps = requested(OSHTU)
    assert domain.next_step(OSHTU, steps) == ("visa", "department_head")
    steps.append(domain.take_step(OSHTU, steps, "visa", "H1", {"department_head"}, at("2026-10-06")))
    assert domain.next_step(OSHTU, steps) == ("approve", "academic_office")
    steps.append(domain.take_step(OSHTU, steps, "approve", "AO", {"academic_office"}, at("2026-10-07")))
    assert domain.next_step(OSHTU, steps) == ("execute", "it_admin")
    assert domain.execution_due(OSHTU, steps) is None  # 003 §4.4.2 gives no term
    steps.append(domain.take_step(OSHTU, steps, "execute", "IT", {"it_admin"}, at("2026-10-08")))
    assert domain.correction_state(OSHTU, steps) == "executed"
    assert domain.next_step(OSHTU, steps) is None
    with pytest.raises(Conflict):
        domain.take_step(OSHTU, steps, "execute", "IT", {"it_admin"}, at("2026-10-09"))


def test_oshtu_correction_step_by_the_wrong_role_is_refused_003_4_4_2():
    with pytest.raises(Forbidden):
        domain.take_step(OSHTU, requested(OSHTU), "visa", "AO", {"academic_office", "teacher"}, at("2026-10-06"))


def test_oshtu_correction_skipping_a_step_is_refused_003_4_4_2():
    with pytest.raises(Conflict):
        domain.take_step(OSHTU, requested(OSHTU), "approve", "AO", {"academic_office"}, at("2026-10-06"))
    with pytest.raises(Conflict):
        domain.take_step(OSHTU, requested(OSHTU), "execute", "IT", {"it_admin"}, at("2026-10-06"))


def test_oshtu_reject_by_an_approver_ends_the_chain_003_4_4_2():
    steps = requested(OSHTU)
    with pytest.raises(Forbidden):
        domain.take_step(OSHTU, steps, "reject", "T2", {"teacher"}, at("2026-10-06"))
    steps.append(domain.take_step(OSHTU, steps, "reject", "AO", {"academic_office"}, at("2026-10-06"), "no basis"))
    assert domain.correction_state(OSHTU, steps) == "rejected"
    assert domain.next_step(OSHTU, steps) is None
    with pytest.raises(Conflict):
        domain.take_step(OSHTU, steps, "visa", "H1", {"department_head"}, at("2026-10-07"))


def test_kostanay_it_executes_within_3_working_days_of_the_approval_004_10():
    steps = requested(KOSTANAY)
    assert domain.next_step(KOSTANAY, steps) == ("visa", "department_head")
    steps.append(domain.take_step(KOSTANAY, steps, "visa", "M1", {"department_head"}, at("2026-10-07")))
    steps.append(domain.take_step(KOSTANAY, steps, "approve", "D1", {"directorate"}, at("2026-10-08")))  # Thursday
    due = domain.execution_due(KOSTANAY, steps)
    # Thu 8 Oct 2026 + 3 working days: Fri 9, Mon 12, Tue 13 -> end of Tuesday 13 October
    assert due is not None and due.date() == date(2026, 10, 13)
    assert not domain.overdue(KOSTANAY, steps, at("2026-10-13", "18:00"))
    assert domain.overdue(KOSTANAY, steps, at("2026-10-14", "09:00"))
    steps.append(domain.take_step(KOSTANAY, steps, "execute", "IT", {"it_admin"}, at("2026-10-12")))
    assert not domain.overdue(KOSTANAY, steps, at("2026-10-20"))


# -- the academic year archive (RULES.md §9; 003 §7.4) -------------------------------------------------------


def test_academic_year_runs_1_september_to_31_august_003_7_4():
    assert domain.academic_year(date(2026, 9, 1)) == "2026-2027"
    assert domain.academic_year(date(2027, 8, 31)) == "2026-2027"
    assert domain.academic_year(date(2026, 8, 31)) == "2025-2026"
    assert domain.year_bounds("2026-2027") == (date(2026, 9, 1), date(2027, 8, 31))
    for bad in ("2026", "2026-2028", "26-27", "abcd-efgh"):
        with pytest.raises(ValueError):
            domain.year_bounds(bad)


def test_archived_year_locks_everyone_but_the_commission_003_7_4():
    assert "archived" in domain.lock_reason(JAGU, "teacher", [], "2026-2027", True)
    assert "archived" in domain.lock_reason(JAGU, "correction", [], "2026-2027", True)
    assert domain.lock_reason(JAGU, "commission", [], "2026-2027", True) is None


def test_import_period_covers_dates_before_the_import():
    periods = domain.enrolment_periods([{"group": "G1", "subgroup": None, "starts": "2026-10-01", "ends": None,
                                         "basis": "import"}])
    assert domain.on_roster(periods, "G1", date(2026, 9, 1))
    moved = domain.enrolment_periods([{"group": "G1", "starts": "2026-09-01", "ends": "2026-10-01", "basis": "A1"},
                                      {"group": "G2", "starts": "2026-10-01", "ends": None, "basis": "T1"}])
    assert domain.on_roster(moved, "G1", date(2026, 9, 30))
    assert not domain.on_roster(moved, "G1", date(2026, 10, 1))
    assert domain.on_roster(moved, "G2", date(2026, 10, 1) + timedelta(days=1))


# -- a teacher's change of an entered grade (003 §4.4.1; 004 §4, §13) -------------------------------------------


def test_oshtu_a_grade_changed_more_than_3_days_after_its_entry_is_refused_inside_the_5_day_window_4_4_1():
    """003 §4.3.1 gives 5 calendar days to enter a current grade; §4.4.1 gives the teacher 3 calendar days to change
    an entered value: a grade entered on the day of the work and changed on day 4 goes through the correction chain,
    a first grade for another student on day 4 is the teacher's; module grades alike (§4.4.3: later, the
    commission's)."""
    entered = {"S1": datetime.fromisoformat("2026-10-05T15:00:00+06:00")}
    change = [domain.Change("S1", 6.0, 7.0)]
    day2, day4 = (datetime.fromisoformat(f"2026-10-0{d}T12:00:00+06:00") for d in (7, 9))
    domain.refuse_late_changes(OSHTU, "teacher", change, entered, day2)
    domain.refuse_late_changes(OSHTU, "teacher", [domain.Change("S2", None, 5.0)], entered, day4)
    with pytest.raises(WindowClosed) as refused:
        domain.refuse_late_changes(OSHTU, "teacher", change, entered, day4)
    assert "S1" in refused.value.errors["grades"][0]
    domain.refuse_late_changes(OSHTU, "correction", change, entered, day4)  # an executed correction passes


def test_jagu_changes_until_posting_and_kostanay_none_without_an_act_002_4_3_004_4_13():
    entered = {"S1": datetime.fromisoformat("2026-10-05T15:00:00+06:00")}
    change = [domain.Change("S1", 6.0, 7.0)]
    domain.refuse_late_changes(JAGU, "teacher", change, entered, entered["S1"] + timedelta(days=30))
    with pytest.raises(WindowClosed):
        domain.refuse_late_changes(KOSTANAY, "teacher", change, entered, entered["S1"] + timedelta(minutes=10))
