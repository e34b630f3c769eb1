"""Reports' rules without a database: applying events in any order, the journal-filling report ("Appendix No. 1",
RULES.md §8), the at-risk forecast (RULES.md §4), scheduled periods (RULES.md §8) and the documents."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from kernel.policy import load_preset
from reports import domain, render

OSHTU = load_preset("oshtu")
OSHSU = load_preset("oshsu")
JAGU = load_preset("jagu")
KOSTANAY = load_preset("kostanay")
TZ = OSHTU.tz


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 9, day, hour, tzinfo=TZ)


# -- applying events in any order (what lets `reports rebuild` replay beside the live consumers) ---------------


def test_an_older_event_never_overwrites_a_newer_value():
    assert domain.newer(None, at(6)) and domain.newer(at(6), at(6)) and domain.newer(at(6), at(7))
    assert not domain.newer(at(7), at(6))


def test_the_first_entry_stays_whatever_order_the_events_come_in():
    none = domain.Entry(None, None)
    entry = (at(6, 10), False)
    checkin = (None, False)  # a check-in before the teacher's entry knows none
    for order in itertools.permutations([entry, checkin, entry]):
        state = none
        for first, late in order:
            state = domain.merge_entry(state, first, late)
        assert state == domain.Entry(at(6, 10), False)


def test_grade_merge_keeps_the_newest_value_and_a_late_first_entry_in_any_order():
    first = (7.0, True, at(6), "teacher", None, None)       # entered late (003 §4.3.1)
    fixed = (9.0, False, at(8), "correction", "typo", "correction 4")
    results = set()
    for order in itertools.permutations([first, fixed]):
        state = None
        for value, late, when, role, reason, approval in order:
            state = domain.merge_grade(state, value, late, when, role, reason, approval)
        results.add(state)
    assert len(results) == 1
    (state,) = results
    assert (state.value, state.late, state.first_at, state.at, state.role, state.changes) == \
        (9.0, True, at(6), at(8), "correction", 2)


def test_case_fields_merge_newest_first_in_any_order():
    requested = ({"id": 1, "student": "S1", "state": "requested", "requested_at": "x", "due": None}, at(6))
    assigned = ({"id": 1, "student": "S1", "state": "assigned", "due": "2027-09-20"}, at(7))
    completed = ({"id": 1, "student": "S1", "result": 5, "state": "completed"}, at(8))
    outcomes = set()
    for order in itertools.permutations([requested, assigned, completed]):
        data, versions = None, None
        for payload, t in order:
            data, versions = domain.merge_case(data, versions, payload, t)
        outcomes.add(tuple(sorted(data.items())))
    assert len(outcomes) == 1
    data = dict(next(iter(outcomes)))
    assert data == {"id": 1, "student": "S1", "state": "completed", "requested_at": "x", "due": "2027-09-20",
                    "result": 5}


# -- the journal-filling report (Appendix No. 1, RULES.md §8; 001 §5.4) ----------------------------------------


def fill(starts: datetime, first: datetime | None = None, late: bool | None = None, planned: str | None = None,
         topic: str | None = None) -> domain.SessionFill:
    return domain.SessionFill(starts, first, late, planned, topic)


def test_filling_counts_entries_by_the_attendance_entry_window_003_4_2_1():
    now = at(20, 12)
    sessions = [
        fill(at(6), at(6, 10), False, "Тема 1", "Тема 1"),
        fill(at(7), at(9, 10), True, "Тема 2", "тема  2"),      # late entry; the topic as planned (spacing/case)
        fill(at(8), None, None, "Тема 3", None),                # 24 h passed without an entry: missing
        fill(at(20, 8), None, None, None, None),                # held today, inside 24 h: pending
        fill(at(27), None, None, "Тема 5", None),               # still to come: not held
        fill(at(13), at(13, 10), False, "Тема 6", "Башка тема"),  # recorded off the plan
    ]
    c = domain.filling_counts(OSHTU, sessions, [False, False, True], now)
    assert (c["scheduled"], c["held"]) == (6, 5)
    assert (c["on_time"], c["late"], c["missing"], c["pending"]) == (2, 1, 1, 1)
    assert (c["topics_planned"], c["topics_recorded"], c["topics_as_planned"], c["topics_missing"]) == (4, 3, 2, 2)
    assert (c["grades_entered"], c["grades_on_time"], c["grades_late"]) == (3, 2, 1)


def test_filling_pending_follows_each_presets_window():
    starts = datetime(2027, 9, 6, 9, tzinfo=TZ)
    next_day = datetime(2027, 9, 7, 8, tzinfo=TZ)
    assert domain.entry_state(OSHTU, fill(starts), next_day) == "pending"       # 24 h (003 §4.2.1)
    assert domain.entry_state(JAGU, fill(starts), next_day) == "missing"        # the class day (002 §4.3)
    assert domain.entry_state(KOSTANAY, fill(starts), next_day) == "pending"    # 2 days (004 §17)


def test_filling_sum_counts():
    rows = [{"held": 2, "late": 1}, {"held": 3}]
    assert domain.sum_counts(rows, ("held", "late")) == {"held": 5, "late": 1}


# -- the at-risk forecast (RULES.md §4; preset at_risk) ------------------------------------------------------


def test_attendance_standing_leaves_excused_out_as_grading_does():
    s = domain.standing(OSHTU, {"present": 6, "absent": 2, "sick": 2, "made_up": 1})
    assert (s.held, s.earned, s.counted) == (11, 7, 9) and s.percent == 77.8


def test_attendance_below_the_threshold_is_a_risk_once_min_sessions_were_held():
    low = domain.standing(OSHTU, {"present": 2, "absent": 2})
    reasons = domain.risk_reasons(OSHTU, low, None)
    assert [r.kind for r in reasons] == ["attendance"]
    assert reasons[0].values == {"rate": 50, "threshold": 80, "held": 4, "earned": 2}
    too_few = domain.standing(OSHTU, {"absent": 3})  # at_risk.min_sessions: 4
    assert domain.risk_reasons(OSHTU, too_few, None) == []


def fact(id_: int, kind: str, day: date, top: float, grades: dict[str, float]) -> domain.AssessmentFact:
    return domain.AssessmentFact(id_, kind, day, top, bool(grades), grades)


def test_projection_extends_the_share_earned_so_far_to_the_components_to_come():
    # oshtu exam maxima: m1_attendance 8, m1_current 10, m1_control 12, m2_* 8/10/12, final 40
    marks = {1: {"present": 3, "absent": 1}}
    facts = [fact(1, "current", date(2027, 9, 20), 10, {"S1": 5, "S2": 10}),
             fact(2, "module1", date(2027, 10, 4), 30, {"S1": 15})]
    p = domain.project(OSHTU, "exam", "S1", marks, facts)
    # earned: 8*0.75 + 10*0.5 + 12*0.5 = 17 of 30; remaining 70 at 17/30
    assert (p.earned, p.observed, p.remaining) == (17.0, 30.0, 70.0)
    assert p.projected == pytest.approx(17 + 70 * 17 / 30, abs=0.01) and p.graded
    reasons = domain.risk_reasons(OSHTU, domain.standing(OSHTU, marks[1]), p)
    assert [r.kind for r in reasons] == ["attendance", "projection"]
    text = domain.reason_text(OSHTU, reasons[1], "ru")
    assert "56.67" in text and "61" in text


def test_a_missing_grade_counts_zero_as_in_grading():
    facts = [fact(1, "current", date(2027, 9, 20), 10, {"S2": 10})]
    p = domain.project(OSHTU, "exam", "S1", {}, facts)
    assert (p.earned, p.observed, p.projected) == (0.0, 10.0, 0.0)


def test_no_projection_before_a_graded_component():
    p = domain.project(OSHTU, "exam", "S1", {1: {"absent": 4}}, [])
    assert not p.graded
    assert [r.kind for r in domain.risk_reasons(OSHTU, domain.standing(OSHTU, {"absent": 4}), p)] == ["attendance"]


def test_module_two_sessions_feed_module_two_attendance():
    facts = [fact(1, "module1", date(2027, 10, 4), 30, {"S1": 30})]
    assert domain.module_boundary(facts) == date(2027, 10, 4)
    assert domain.module_of(date(2027, 10, 4), date(2027, 10, 4)) == 1
    assert domain.module_of(date(2027, 10, 5), date(2027, 10, 4)) == 2
    p = domain.project(OSHTU, "exam", "S1", {1: {"present": 2}, 2: {"absent": 2}}, facts)
    assert (p.earned, p.observed) == (20.0, 28.0)  # 8 + 12 (module 1) + 0 of 8 (module 2 attendance)


def test_a_credit_discipline_uses_its_own_maxima():
    facts = [fact(1, "current", date(2027, 9, 20), 10, {"S1": 10})]
    p = domain.project(JAGU, "credit", "S1", {}, facts)
    assert p.projected == 100.0 and p.remaining == 80.0


def test_reasons_have_words_in_every_language():
    r = domain.Reason("attendance", {"rate": 40, "threshold": 80, "held": 5, "earned": 2})
    wire = domain.reason_wire(OSHTU, r, "ky")
    assert set(wire["texts"]) == {"ky", "ru", "kk", "en"}
    assert wire["text"] == wire["texts"]["ky"] and "40%" in wire["text"] and "80%" in wire["text"]
    assert "Attendance 40% is below the 80% threshold" in wire["texts"]["en"]


# -- scheduled reports (RULES.md §8: 001 §6.2 weekly, 002 §6.2 monthly, semester and year everywhere) --------


def test_the_cadence_comes_from_the_preset():
    oshsu = domain.schedule(OSHSU)
    jagu = domain.schedule(JAGU)
    assert ("attendance", "weekly", "faculty") in oshsu and ("attendance", "monthly", "faculty") not in oshsu
    assert ("attendance", "monthly", "faculty") in jagu and ("attendance", "weekly", "faculty") not in jagu
    for sched in (oshsu, jagu, domain.schedule(OSHTU), domain.schedule(KOSTANAY)):
        assert ("attendance", "semester", "faculty") in sched and ("attendance", "year", "faculty") in sched
        assert ("filling_report", "semester", "department") in sched
        assert ("contact_list", "weekly", "group") in sched
    assert ("filling_check", "biweekly", "department") in oshsu


def test_periods_tile_the_calendar():
    wednesday = date(2027, 10, 13)
    assert domain.period_of("weekly", wednesday) == domain.Period("weekly", "2027-W41", date(2027, 10, 11),
                                                                  date(2027, 10, 17))
    assert domain.period_of("monthly", wednesday).end == date(2027, 10, 31)
    assert domain.period_of("monthly", date(2028, 2, 10)).end == date(2028, 2, 29)
    assert domain.period_of("semester", wednesday) == domain.Period("semester", "2027-2028-1", date(2027, 9, 1),
                                                                    date(2028, 1, 31))
    assert domain.period_of("semester", date(2028, 1, 31)).label == "2027-2028-1"
    assert domain.period_of("semester", date(2028, 3, 1)).label == "2027-2028-2"
    assert domain.period_of("year", date(2028, 8, 31)).label == "2027-2028"
    two = domain.period_of("biweekly", wednesday)
    assert (two.end - two.start).days == 13 and two.start.weekday() == 0
    assert domain.period_of("biweekly", two.end) == two
    assert domain.period_of("biweekly", two.end + timedelta(days=1)).start == two.end + timedelta(days=1)


def test_the_last_finished_period_is_the_one_before_today():
    assert domain.last_finished("monthly", date(2027, 10, 1)).label == "2027-09"
    assert domain.last_finished("weekly", date(2027, 10, 11)).label == "2027-W40"
    assert domain.last_finished("semester", date(2027, 10, 16)).label == "2026-2027-2"
    assert domain.last_finished("year", date(2027, 10, 16)).label == "2026-2027"
    with pytest.raises(ValueError):
        domain.period_of("hourly", date(2027, 10, 1))


# -- the filling report's PDF: the Kyrgyz title from the preset, signature lines, the QR code to the journal ---


pdftotext = shutil.which("pdftotext")
pdftoppm = shutil.which("pdftoppm")


def pdf_text(content: bytes) -> str:
    return subprocess.run([pdftotext, "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def qr_payloads(content: bytes) -> list[str]:
    """Every QR code on the PDF's first page, decoded from the page as printed (rasterised by poppler)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(content)
        subprocess.run([pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(Path(tmp) / "page")], check=True, capture_output=True)
        image = Image.open(Path(tmp) / "page.png")
        image.load()
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.mark.skipif(not (pdftotext and pdftoppm), reason="poppler-utils is missing")
def test_filling_pdf_has_the_kyrgyz_title_signatures_and_a_qr_to_the_journal():
    url = "http://127.0.0.1:8080/api/v1/journal/T01/2027-2028-1"
    counts = domain.filling_counts(OSHTU, [fill(at(6), at(6, 10), False, "Тема", "Тема")], [False], at(20))
    report = {"teacher": "T01", "department": "DMT", "term": "2027-2028-1",
              "period": {"from": "2027-09-06", "to": "2027-12-27"}, "generated_at": datetime.now(UTC).isoformat(),
              "rows": [{"group": "МТ-1-27", "discipline": "MAT", **counts}], "totals": counts, "journal_url": url}
    doc = render.filling_document(OSHTU, report, "ky", {"T01": "Өмүрбекова Гүлнара", "discipline:MAT": "Математика"})
    content = render.filling_pdf(doc)
    text = pdf_text(content)
    assert OSHTU.labels.ui["filling_report"].ky in " ".join(text.split())  # ө ү in the preset's Kyrgyz title
    assert OSHTU.labels.ui["filling_report"].ru in " ".join(text.split())
    assert "Тиркеме №1" in text and "Өмүрбекова Гүлнара" in text and "Колу" in text and "Кафедра башчысы" in text
    assert qr_payloads(content) == [url]


def test_at_risk_and_quality_tables_render_in_every_format():
    body = {"scope": {"kind": "group", "code": "G1"}, "period": {"label": "2027-W41", "from": "a", "to": "b"},
            "items": [{"student": "S1", "full_name": "Ыдырысова Айгүл", "group": "G1",
                       "parents": [{"code": "P1", "full_name": "Ыдырысов Марат"}],
                       "reasons": [{"discipline": "MAT", "discipline_name": "Математика",
                                    **domain.reason_wire(OSHTU, domain.Reason(
                                        "attendance", {"rate": 0, "threshold": 80, "held": 6, "earned": 0}),
                                        "ky")}]}]}
    for fmt in ("csv", "xlsx", "pdf"):
        doc = render.render_table(render.at_risk_document(OSHTU, body, "ky", "contact_list"), fmt, "x")
        assert doc["filename"] == f"x.{fmt}"
    quality = {"rows": [{"group": "G1", "discipline": "MAT", "discipline_name": None, "students": 3,
                         "attendance_percent": 75.0, "mean_grade_percent": None, "at_risk": 1}]}
    assert render.render_table(render.quality_document(OSHTU, quality, "ru"), "csv", "q")["filename"] == "q.csv"
