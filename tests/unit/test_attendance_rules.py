"""Attendance rules without a database (RULES.md §2, §3, §5; API.md "Attendance"): rosters from orders, the
classifier and who may set each code, late first entry, the check-in window, shared devices, excuse filing."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import ValidationError

from attendance import domain
from attendance.domain import Change, Mark, Period
from contracts.attendance import TimetableSchema
from kernel.errors import Conflict, Forbidden, ValidationFailed, WindowClosed
from kernel.policy import load_preset

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")
KOSTANAY = load_preset("kostanay")


def at(day: str, clock: str = "08:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


# -- rosters (003 §2.1: the student list is built from orders) ----------------------------------------------


def history():
    """S1 admitted to G1 on 1 Sep, transferred to G2 on 1 Oct; S2 in G1 subgroup 2, expelled on 15 Oct (the
    order's date is the first day without the student); S3 admitted to G1 on 10 Sep."""
    return [
        ("S1", Period("G1", "1", date(2026, 9, 1), date(2026, 10, 1))),
        ("S1", Period("G2", "1", date(2026, 10, 1), None)),
        ("S2", Period("G1", "2", date(2026, 9, 1), date(2026, 10, 15))),
        ("S3", Period("G1", "1", date(2026, 9, 10), None)),
    ]


def test_expelled_students_disappear_from_rosters_after_the_orders_date_not_before_rules_2():
    assert "S2" in domain.roster(history(), "G1", None, date(2026, 10, 14))
    assert "S2" not in domain.roster(history(), "G1", None, date(2026, 10, 15))
    assert "S2" not in domain.roster(history(), "G1", None, date(2026, 11, 1))


def test_a_transferred_student_is_on_the_old_groups_roster_before_and_the_new_ones_after_rules_2():
    assert domain.roster(history(), "G1", None, date(2026, 9, 30)) == ["S1", "S2", "S3"]
    assert domain.roster(history(), "G1", None, date(2026, 10, 1)) == ["S2", "S3"]
    assert domain.roster(history(), "G2", None, date(2026, 9, 30)) == []
    assert domain.roster(history(), "G2", None, date(2026, 10, 1)) == ["S1"]


def test_an_admitted_student_joins_rosters_from_the_admission_date_rules_2():
    assert "S3" not in domain.roster(history(), "G1", None, date(2026, 9, 9))
    assert "S3" in domain.roster(history(), "G1", None, date(2026, 9, 10))


def test_a_subgroup_session_has_only_that_subgroup_000_2():
    assert domain.roster(history(), "G1", "2", date(2026, 9, 15)) == ["S2"]
    assert domain.roster(history(), "G1", "1", date(2026, 9, 15)) == ["S1", "S3"]


def test_an_imported_students_first_membership_covers_earlier_dates_rules_2():
    # loaded mid-term on 22 Nov: the import date is when the system learned of the student, not an order's date
    periods = domain.enrolment_periods([
        {"group": "G2", "subgroup": None, "starts": "2026-12-01", "ends": None, "basis": "12-к"},
        {"group": "G1", "subgroup": "1", "starts": "2026-11-22", "ends": "2026-12-01", "basis": "import"}])
    assert domain.on_roster(periods, "G1", None, date(2026, 10, 5))
    assert not domain.on_roster(periods, "G1", None, date(2026, 12, 1))
    assert domain.on_roster(periods, "G2", None, date(2026, 12, 1))
    assert not domain.on_roster(periods, "G2", None, date(2026, 11, 30)), "an order's period starts at its date"
    admitted = domain.enrolment_periods([{"group": "G1", "subgroup": None, "starts": "2026-11-22", "ends": None,
                                          "basis": "5-к"}])
    assert not domain.on_roster(admitted, "G1", None, date(2026, 11, 21))


def test_a_session_belongs_to_its_local_date():
    # 00:30 in Bishkek is still the previous day in UTC
    starts = datetime(2026, 10, 14, 18, 30, tzinfo=UTC)
    assert domain.session_day(OSHTU, starts) == date(2026, 10, 15)


# -- marks: the classifier and who may set each code (003 App. 2, §4.2.2-4.2.4, §5.4.2) ----------------------


ROSTER = ["S1", "S2", "S3"]


def test_every_status_must_be_a_key_of_the_presets_classifier_003_app2():
    with pytest.raises(ValidationFailed) as err:
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"},
                                               {"student": "S2", "status": "НБ"}], ROSTER, {})
    assert list(err.value.errors) == ["marks[1].status"]


def test_classifiers_differ_by_institution_rules_3():
    # jagu has no excused code; kostanay has "unexcused" (дс), which oshtu does not
    with pytest.raises(ValidationFailed):
        domain.decide_marks(JAGU, "directorate", [{"student": "S1", "status": "excused"}], ROSTER, {})
    changes = domain.decide_marks(KOSTANAY, "teacher", [{"student": "S1", "status": "unexcused"}], ROSTER, {})
    assert changes == [Change("S1", None, "unexcused")]


def test_teacher_cannot_set_excused_003_4_2_4():
    with pytest.raises(Forbidden) as err:
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "excused"}], ROSTER, {})
    assert "marks[0].status" in err.value.errors


def test_teacher_cannot_set_sick_or_made_up_003_4_2_4_and_5_4_2():
    for status in ("sick", "made_up"):
        with pytest.raises(Forbidden):
            domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": status}], ROSTER, {})


def test_only_a_completed_makeup_sets_made_up_003_5_4_2():
    changes = domain.decide_marks(OSHTU, "makeup", [{"student": "S1", "status": "made_up"}], ROSTER,
                                  {"S1": Mark("excused", "excuse")})
    assert changes == [Change("S1", "excused", "made_up")]
    assert domain.source_for(OSHTU, "makeup", "made_up") == "makeup"


def test_teacher_cannot_undo_a_document_backed_mark_003_4_2_4():
    with pytest.raises(Forbidden):
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"}], ROSTER,
                            {"S1": Mark("excused", "excuse")})
    with pytest.raises(Forbidden):
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "absent"}], ROSTER,
                            {"S1": Mark("made_up", "makeup")})


def test_teacher_overrides_a_self_checkin_and_own_marks_api_attendance():
    changes = domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "absent"},
                                                     {"student": "S2", "status": "present"}], ROSTER,
                                  {"S1": Mark("present", "checkin"), "S2": Mark("absent", "teacher")})
    assert changes == [Change("S1", "present", "absent"), Change("S2", "absent", "present")]


def test_a_teachers_own_mark_changes_only_inside_the_self_correction_window_from_its_entry_003_4_4_1():
    """003 §4.4.1: 3 calendar days from the mark's own entry; a mark entered later in the session's window (another
    student added on day 2) keeps its own three days. A check-in the teacher overrides is not the teacher's entry."""
    entered = at("2026-10-05", "10:00")
    own = {"S1": Mark("absent", "teacher", entered), "S2": Mark("present", "checkin")}
    assert domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"}], ROSTER, own,
                               at("2026-10-08", "23:00")) == [Change("S1", "absent", "present")]
    with pytest.raises(WindowClosed) as err:
        domain.decide_marks(OSHTU, "teacher", [{"student": "S2", "status": "absent"},
                                               {"student": "S1", "status": "present"}], ROSTER, own,
                            at("2026-10-09", "09:00"))
    assert list(err.value.errors) == ["marks[1].status"] and "S1" in err.value.errors["marks[1].status"][0]


def test_kostanay_a_teacher_does_not_change_an_entered_mark_an_act_to_the_faculty_head_does_004_4_13():
    """004 §4, §13: an error in entered data goes by an act to the faculty head (the correction chain), even inside
    the 2-day entry window (§17); a first entry and the override of a student's own check-in stay the teacher's."""
    entered = at("2026-10-05", "10:00")
    marks = {"S1": Mark("absent", "teacher", entered), "S2": Mark("present", "checkin")}
    with pytest.raises(WindowClosed):
        domain.decide_marks(KOSTANAY, "teacher", [{"student": "S1", "status": "present"}], ROSTER, marks,
                            entered + timedelta(minutes=10))
    changes = domain.decide_marks(KOSTANAY, "teacher", [{"student": "S2", "status": "absent"},
                                                        {"student": "S3", "status": "present"}], ROSTER, marks,
                                  entered + timedelta(minutes=10))
    assert changes == [Change("S2", "present", "absent"), Change("S3", None, "present")]
    assert domain.decide_marks(KOSTANAY, domain.CORRECTION, [{"student": "S1", "status": "present"}], ROSTER, marks,
                               entered + timedelta(days=5)) == [Change("S1", "absent", "present")]


def test_a_student_not_on_the_roster_is_refused_naming_the_row_api_attendance():
    with pytest.raises(ValidationFailed) as err:
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"},
                                               {"student": "S9", "status": "absent"}], ROSTER, {})
    assert list(err.value.errors) == ["marks[1].student"]


def test_a_student_repeated_in_one_request_is_refused():
    with pytest.raises(ValidationFailed) as err:
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"},
                                               {"student": "S1", "status": "absent"}], ROSTER, {})
    assert list(err.value.errors) == ["marks[1].student"]


def test_unchanged_marks_make_no_change_and_unsent_marks_stay():
    changes = domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"}], ROSTER,
                                  {"S1": Mark("present", "teacher"), "S2": Mark("absent", "teacher")})
    assert changes == []


# -- late first entry (003 §4.2.1: 24 h; 002 §4.3: the class day) ---------------------------------------------


def test_late_first_entry_oshtu_24_hours_003_4_2_1():
    starts = at("2026-10-05", "14:30")
    assert not domain.entry_late(OSHTU, starts, starts + timedelta(hours=24))
    assert domain.entry_late(OSHTU, starts, starts + timedelta(hours=24, seconds=1))
    # the next morning is still inside the 24 h at OshTU, though not the class day
    assert not domain.entry_late(OSHTU, starts, at("2026-10-06", "09:00"))


def test_late_first_entry_jagu_class_day_002_4_3():
    starts = at("2026-10-05", "14:30")
    assert not domain.entry_late(JAGU, starts, at("2026-10-05", "23:59"))
    assert domain.entry_late(JAGU, starts, at("2026-10-06", "00:01"))


# -- QR check-in (preset `checkin`: oshtu opens 10 min before, closes 15 min after the start) -----------------


def test_checkin_window_edges_belong_to_the_window():
    starts = at("2026-10-05", "09:30")
    assert domain.checkin_open(OSHTU, starts, starts - timedelta(minutes=10))
    assert not domain.checkin_open(OSHTU, starts, starts - timedelta(minutes=10, seconds=1))
    assert domain.checkin_open(OSHTU, starts, starts + timedelta(minutes=15))
    assert not domain.checkin_open(OSHTU, starts, starts + timedelta(minutes=15, seconds=1))


def test_checkin_refuses_off_roster_closed_window_and_foreign_networks():
    starts = at("2026-10-05", "09:30")
    mine = [Period("G1", "1", date(2026, 9, 1), None)]
    domain.check_checkin(OSHTU, mine, "G1", None, starts, starts, "203.0.113.9")
    with pytest.raises(Forbidden, match="roster"):
        domain.check_checkin(OSHTU, mine, "G2", None, starts, starts, None)
    with pytest.raises(Forbidden, match="roster"):
        domain.check_checkin(OSHTU, mine, "G1", "2", starts, starts, None)
    with pytest.raises(WindowClosed):
        domain.check_checkin(OSHTU, mine, "G1", None, starts, starts + timedelta(minutes=16), None)
    campus = replace(OSHTU, checkin=replace(OSHTU.checkin, allowed_subnets=("10.20.0.0/16",)))
    domain.check_checkin(campus, mine, "G1", None, starts, starts, "10.20.3.4")
    for address in ("203.0.113.9", None, "not-an-ip"):
        with pytest.raises(Forbidden, match="network"):
            domain.check_checkin(campus, mine, "G1", None, starts, starts, address)


def test_one_device_checking_in_several_students_is_flagged():
    shared = domain.shared_devices([("S1", "phone-a"), ("S2", "phone-a"), ("S3", "phone-b"), ("S4", None),
                                    ("S5", None)])
    assert shared == {"phone-a": ["S1", "S2"]}


def test_a_checkin_request_crosses_the_queue_unchanged_and_anything_else_is_named():
    request = domain.CheckinRequest("r1", 7, "S1", at("2026-10-05", "09:31"), "10.0.0.1", "phone-a")
    assert domain.CheckinRequest.from_wire(request.to_wire()) == request
    unknown = domain.CheckinRequest.from_wire({**request.to_wire(), "address": "", "device": None})
    assert (unknown.address, unknown.device) == (None, None)
    bad = {"session": {**request.to_wire(), "session": "7"}, "at": {**request.to_wire(), "at": "2026-10-05T09:31"},
           "student": {**request.to_wire(), "student": ""}, "device": {**request.to_wire(), "device": "x" * 201},
           "id": {k: v for k, v in request.to_wire().items() if k != "id"}}
    for field, body in bad.items():
        with pytest.raises(ValueError, match=f"^{field}:"):
            domain.CheckinRequest.from_wire(body)
    with pytest.raises(ValueError):
        domain.CheckinRequest.from_wire(["not", "an", "object"])


def test_a_batch_of_checkins_is_judged_in_order_repeats_are_no_ops_rules_9_archived_years_refuse():
    starts = at("2026-10-05", "09:30")
    session = type("S", (), {"group": "G1", "subgroup": None, "starts_at": starts})
    periods = {"S1": [Period("G1", "1", date(2026, 9, 1), None)], "S2": [Period("G1", "1", date(2026, 9, 1), None)],
               "S3": [Period("G2", None, date(2026, 9, 1), None)]}

    def request(student, session_id=1, minutes=1):
        return domain.CheckinRequest(f"{student}-{minutes}", session_id, student,
                                     starts + timedelta(minutes=minutes), None, None)

    batch = [request("S1"), request("S1", minutes=2), request("S2", minutes=20), request("S3"), request("S1", 9),
             request("S4")]
    verdicts = domain.judge_checkins(OSHTU, batch, {1: session}, periods, done=[], closed=[])
    assert [(v.request.student, v.outcome, v.code) for v in verdicts] == [
        ("S1", "accepted", None), ("S1", "repeat", None), ("S2", "refused", "window_closed"),
        ("S3", "refused", "forbidden"), ("S1", "refused", "not_found"), ("S4", "refused", "forbidden")]
    stored = domain.judge_checkins(OSHTU, [request("S1")], {1: session}, periods, done=[(1, "S1")], closed=[])
    assert stored[0].outcome == "repeat"
    archived = [domain.ClosedYear("2026-2027", date(2026, 9, 1), date(2027, 8, 31))]
    locked = domain.judge_checkins(OSHTU, [request("S2")], {1: session}, periods, done=[], closed=archived)
    assert (locked[0].outcome, locked[0].code) == ("refused", "locked")


# -- excuses (003 §4.2.3: the document within 3 working days of returning) -----------------------------------


def test_excuse_document_due_over_a_weekend_003_4_2_3():
    # absent to Friday 16 Oct 2026, back on Monday 19: Tue 20, Wed 21, Thu 22 are the three working days
    assert domain.document_due(OSHTU, date(2026, 10, 16)) == date(2026, 10, 22)
    assert not domain.late_filing(OSHTU, date(2026, 10, 16), at("2026-10-22", "23:59"))
    assert domain.late_filing(OSHTU, date(2026, 10, 16), at("2026-10-23", "00:01"))
    # absent to Tuesday 13 Oct, back on Wednesday 14: Thu 15, Fri 16, Mon 19
    assert domain.document_due(OSHTU, date(2026, 10, 13)) == date(2026, 10, 19)


def test_excuse_document_due_over_public_holidays_003_4_2_3_rules_5():
    # Kyrgyz May holidays 1-9 May 2026 (Labour Day, Constitution Day, Victory Day and the days between)
    assert all(not OSHTU.is_working_day(date(2026, 5, d)) for d in range(1, 11))
    assert domain.document_due(OSHTU, date(2026, 4, 30)) == date(2026, 5, 14)  # back on Monday 11 May
    assert not domain.late_filing(OSHTU, date(2026, 4, 30), at("2026-05-12", "10:00"))


def test_excuse_kind_must_be_one_of_the_presets_excuse_kinds():
    body = {"student": "S1", "from_": date(2026, 10, 1), "to": date(2026, 10, 2), "kind": "sick",
            "document": "справка 12"}
    domain.check_excuse(OSHTU, body, student_known=True, actor="D1", role="directorate")
    with pytest.raises(ValidationFailed) as err:
        domain.check_excuse(JAGU, body, student_known=True, actor="D1", role="directorate")
    assert "kind" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        domain.check_excuse(OSHTU, {**body, "to": date(2026, 9, 30)}, student_known=False, actor="S1",
                            role="student")
    assert set(err.value.errors) == {"to", "student"}


def test_a_student_files_an_excuse_only_for_themselves():
    body = {"student": "S1", "from_": date(2026, 10, 1), "to": date(2026, 10, 2), "kind": "sick",
            "document": "x"}
    domain.check_excuse(OSHTU, body, student_known=True, actor="S1", role="student")
    with pytest.raises(Forbidden):
        domain.check_excuse(OSHTU, body, student_known=True, actor="S2", role="student")
    with pytest.raises(Forbidden):
        domain.check_excuse(OSHTU, body, student_known=True, actor="T1", role="teacher")


def test_approval_turns_only_the_ranges_absences_into_the_excuse_kind_003_4_2_4():
    marks = [
        (1, date(2026, 9, 30), "S1", Mark("absent", "teacher")),   # before the range
        (2, date(2026, 10, 1), "S1", Mark("absent", "teacher")),
        (3, date(2026, 10, 2), "S1", Mark("present", "checkin")),
        (4, date(2026, 10, 2), "S1", Mark("made_up", "makeup")),
        (5, date(2026, 10, 2), "S1", Mark("absent", "teacher")),
        (6, date(2026, 10, 3), "S1", Mark("absent", "teacher")),   # after the range
    ]
    changes = domain.excused_changes("sick", date(2026, 10, 1), date(2026, 10, 2), marks)
    assert changes == [(2, Change("S1", "absent", "sick")), (5, Change("S1", "absent", "sick"))]


def test_an_excuse_is_decided_once():
    domain.check_decision("pending")
    for state in ("approved", "rejected"):
        with pytest.raises(Conflict):
            domain.check_decision(state)


# -- the timetable (000 §2, 002 §3.5: sessions only from the schedule and the load) ---------------------------


def timetable(*rows):
    base = {"ref": "r0", "discipline": "ALG", "group": "G1", "kind": "lecture", "teacher": "T1",
            "starts_at": "2026-09-07T08:00:00+06:00", "minutes": 80, "room": "101"}
    return TimetableSchema().load({"term": {"code": "2026-1", "starts": "2026-09-01", "ends": "2026-12-31"},
                                   "sessions": [{**base, **r} for r in rows]})


def known(**existing):
    return domain.TimetableKnown(
        groups={"G1": ["1", "2"]},
        assignments={("T1", "ALG", "G1", "lecture", None), ("T2", "ALG", "G1", "lab", "1")},
        existing=existing)


def test_timetable_validation_names_the_row_000_2():
    batch = timetable({"ref": "a"},
                      {"ref": "b", "kind": "lab", "subgroup": "1", "teacher": "T2"},
                      {"ref": "c", "teacher": "T2"},                                   # not T2's lecture
                      {"ref": "d", "group": "G9"},                                     # unknown group
                      {"ref": "e", "kind": "lab", "subgroup": "3", "teacher": "T2"},   # no such subgroup
                      {"ref": "f", "subgroup": "1"},                                   # lecture with subgroup
                      {"ref": "g", "starts_at": "2027-01-10T08:00:00+06:00"},          # outside the term
                      {"ref": "a"},                                                    # repeated ref
                      {"ref": "h", "discipline": "PHY"})                               # not in the load
    with pytest.raises(ValidationFailed) as err:
        domain.check_timetable(batch, known(), OSHTU)
    assert set(err.value.errors) == {"sessions[2].teacher", "sessions[3].group", "sessions[4].subgroup",
                                     "sessions[5].subgroup", "sessions[6].starts_at", "sessions[7].ref",
                                     "sessions[8].discipline"}


def test_only_unknown_groups_or_load_wait_for_identitys_events():
    assert domain.only_references({"sessions[0].teacher": ["x"], "sessions[3].group": ["y"]})
    assert not domain.only_references({"sessions[0].teacher": ["x"], "sessions[1].starts_at": ["y"]})
    assert not domain.only_references({})


def test_timetable_shape_errors_name_the_row():
    with pytest.raises(ValidationError) as err:
        timetable({"ref": "a", "minutes": 0}, {"ref": "b", "starts_at": "2026-09-07T08:00:00"})
    assert set(err.value.messages["sessions"]) == {0, 1}


def stored_session(**overrides):
    values = {"id": 7, "ref": "a", "term": "2026-1", "discipline": "ALG", "group": "G1", "subgroup": None,
              "kind": "lecture", "teacher": "T1", "starts_at": at("2026-09-07"), "minutes": 80, "room": "101"}
    return domain.StoredSession(**{**values, **overrides})


def test_timetable_import_is_idempotent_by_ref():
    stored = stored_session()
    plan = domain.check_timetable(timetable({"ref": "a"}), known(a=stored), OSHTU)
    assert plan.unchanged == [stored] and not plan.new and not plan.changed
    plan = domain.check_timetable(timetable({"ref": "a", "room": "202"}, {"ref": "b"}), known(a=stored), OSHTU)
    assert [s.id for s, _ in plan.changed] == [7] and [r["ref"] for r in plan.new] == ["b"]


def test_a_session_with_marks_cannot_move_and_a_ref_keeps_its_class():
    stored = stored_session(has_marks=True)
    with pytest.raises(ValidationFailed) as err:
        domain.check_timetable(timetable({"ref": "a", "starts_at": "2026-09-08T08:00:00+06:00"}), known(a=stored),
                               OSHTU)
    assert list(err.value.errors) == ["sessions[0].starts_at"]
    plan = domain.check_timetable(timetable({"ref": "a", "room": "303"}), known(a=stored), OSHTU)
    assert len(plan.changed) == 1
    with pytest.raises(ValidationFailed) as err:
        domain.check_timetable(timetable({"ref": "a", "kind": "lab", "subgroup": "1", "teacher": "T2"}),
                               known(a=stored), OSHTU)
    assert list(err.value.errors) == ["sessions[0].ref"]


# -- executed late corrections (003 §4.4.2) and the archived year (RULES.md §9) --------------------------------


def test_an_executed_correction_sets_the_mark_it_names_whatever_the_classifier_roles_003_4_4_2():
    changes = domain.decide_marks(OSHTU, domain.CORRECTION, [{"student": "S1", "status": "present"}], ROSTER,
                                  {"S1": Mark("absent", "teacher")})
    assert changes == [Change("S1", "absent", "present")]
    assert domain.source_for(OSHTU, domain.CORRECTION, "present") == "correction"
    excused = domain.decide_marks(OSHTU, domain.CORRECTION, [{"student": "S1", "status": "excused"}], ROSTER,
                                  {"S1": Mark("sick", "excuse")})
    assert excused == [Change("S1", "sick", "excused")], "it rests on its approval, not on the classifier's roles"


def test_a_correction_still_names_only_classifier_keys_and_roster_students():
    with pytest.raises(ValidationFailed):
        domain.decide_marks(OSHTU, domain.CORRECTION, [{"student": "S1", "status": "nonsense"}], ROSTER, {})
    with pytest.raises(ValidationFailed):
        domain.decide_marks(OSHTU, domain.CORRECTION, [{"student": "S9", "status": "present"}], ROSTER, {})


def test_a_redelivered_correction_changes_nothing():
    assert domain.decide_marks(OSHTU, domain.CORRECTION, [{"student": "S1", "status": "present"}], ROSTER,
                               {"S1": Mark("present", "correction")}) == []


def test_a_teacher_cannot_undo_a_corrected_excused_mark_but_may_change_a_corrected_absence():
    with pytest.raises(Forbidden):
        domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"}], ROSTER,
                            {"S1": Mark("excused", "correction")})
    assert domain.decide_marks(OSHTU, "teacher", [{"student": "S1", "status": "present"}], ROSTER,
                               {"S1": Mark("absent", "correction")}) == [Change("S1", "absent", "present")]


YEAR = domain.ClosedYear("2026-2027", date(2026, 9, 1), date(2027, 8, 31))


def test_an_archived_year_refuses_changes_to_its_sessions_rules_9():
    for role in ("teacher", domain.CORRECTION, "checkin", "directorate", "makeup", None):
        reason = domain.year_lock([YEAR], date(2026, 10, 5), role=role)
        assert reason and "2026-2027" in reason, role


def test_an_appeal_decision_passes_an_archived_year_rules_9():
    assert domain.year_lock([YEAR], date(2026, 10, 5), role=domain.COMMISSION) is None


def test_the_archived_year_covers_its_first_and_last_day_only():
    assert domain.year_lock([YEAR], date(2026, 9, 1)) is not None
    assert domain.year_lock([YEAR], date(2027, 8, 31)) is not None
    assert domain.year_lock([YEAR], date(2026, 8, 31)) is None
    assert domain.year_lock([YEAR], date(2027, 9, 1)) is None
    assert domain.year_lock([], date(2026, 10, 5)) is None


def test_an_excuse_range_reaching_into_an_archived_year_is_refused_rules_9():
    assert domain.year_lock([YEAR], date(2027, 8, 25), date(2027, 9, 5)) is not None
    assert domain.year_lock([YEAR], date(2026, 8, 20), date(2026, 9, 1)) is not None
    assert domain.year_lock([YEAR], date(2027, 9, 1), date(2027, 9, 5)) is None
