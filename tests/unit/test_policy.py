"""kernel/policy.py and the presets: loading, validation, the windows of RULES.md §5, working days, letters.

Holiday dates are the real ones of the `holidays` package (0.109); each test that relies on one asserts it first.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from kernel.policy import (
    PRESETS_DIR,
    ROLES,
    UNITS,
    Policy,
    PresetError,
    available_presets,
    load_preset,
    load_preset_file,
    parse_preset,
)

BISHKEK = ZoneInfo("Asia/Bishkek")
QOSTANAY = ZoneInfo("Asia/Qostanay")
PRESETS = ("jagu", "kostanay", "oshsu", "oshtu")


def kg(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BISHKEK)


def kz(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=QOSTANAY)


def end_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=tz)


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PRESETS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return data


def write(tmp_path: Path, data: dict[str, Any], filename: str = "broken.yaml") -> Path:
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def broken(tmp_path: Path, name: str, change: Any) -> str:
    data = copy.deepcopy(raw(name))
    change(data)
    with pytest.raises(PresetError) as info:
        load_preset_file(write(tmp_path, data))
    return str(info.value)


# --- loading --------------------------------------------------------------------------------------------------


def test_available_presets_are_the_four_institutions() -> None:
    assert available_presets() == list(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads(name: str) -> None:
    policy = load_preset(name)
    assert isinstance(policy, Policy)
    assert policy.name == name
    assert policy.version >= 1
    assert policy.code("present").mark == ""
    assert policy.code("absent").counts_as == "absent"
    assert set(policy.windows) >= {"attendance_entry", "grade_entry", "self_correction", "makeup_deadline",
                                   "dispute", "appeal", "excuse_document", "correction_execution"}
    for language in ("ky", "ru", "kk", "en"):
        assert policy.labels.name.get(language)
        assert policy.ui_label("statement", language)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_the_same_after_a_round_trip_through_as_dict(name: str) -> None:
    policy = load_preset(name)
    again = parse_preset(json.loads(json.dumps(policy.as_dict())), f"{name}.json")
    assert again == policy
    assert again.as_dict() == policy.as_dict()


def test_load_preset_is_cached_and_immutable() -> None:
    policy = load_preset("oshtu")
    assert load_preset("oshtu") is policy
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.windows["appeal"] = policy.windows["dispute"]  # type: ignore[index]
    policy.as_dict()["windows"]["appeal"]["amount"] = 99
    assert policy.window("appeal").amount == 1


@pytest.mark.parametrize("name", ["nope", "../oshtu", "OSHTU", ""])
def test_unknown_preset_name_is_a_preset_error(name: str) -> None:
    with pytest.raises(PresetError, match="No such preset"):
        load_preset(name)


def test_country_and_timezone_drive_the_calendar() -> None:
    assert {p: load_preset(p).country for p in PRESETS} == {"jagu": "KG", "oshsu": "KG", "oshtu": "KG",
                                                             "kostanay": "KZ"}
    assert load_preset("oshtu").tz.utcoffset(datetime(2026, 9, 1)) == timedelta(hours=6)
    # Kostanay has been UTC+5 since 2024 (Asia/Qostanay in the tz database).
    assert load_preset("kostanay").timezone == "Asia/Qostanay"
    assert load_preset("kostanay").tz.utcoffset(datetime(2026, 9, 1)) == timedelta(hours=5)
    assert load_preset("kostanay").languages[0] == "kk"


def test_as_dict_is_plain_json_with_name_and_version() -> None:
    for name in PRESETS:
        data = load_preset(name).as_dict()
        text = json.dumps(data, ensure_ascii=False)
        assert json.loads(text) == data
        assert data["name"] == name and data["version"] == 1
        assert data["windows"]["attendance_entry"]["unit"] in UNITS
        assert data["calendar"] == {"extra_days_off": [], "extra_working_days": []}


# --- broken presets -------------------------------------------------------------------------------------------


def test_wrong_unit_names_file_and_field(tmp_path: Path) -> None:
    text = (PRESETS_DIR / "oshtu.yaml").read_text(encoding="utf-8")
    bad = text.replace("self_correction: {unit: calendar_days, amount: 3",
                       "self_correction: {unit: days, amount: 3")
    assert bad != text
    path = tmp_path / "oshtu.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(PresetError) as info:
        load_preset_file(path)
    assert str(info.value).startswith(
        "oshtu.yaml: windows.self_correction.unit: Must be one of: hours, calendar_days, working_days")
    assert info.value.errors == (("windows.self_correction.unit", info.value.errors[0][1]),)


def test_missing_field(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["windows"].pop("appeal"))
    assert "broken.yaml: windows.appeal: Missing data for required field." in message


def test_missing_timed_amount(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["windows"]["dispute"].pop("amount"))
    assert "broken.yaml: windows.dispute.amount: Required for unit working_days." in message


def test_unknown_key(tmp_path: Path) -> None:
    message = broken(tmp_path, "jagu", lambda d: d["grading"].update(colour="red"))
    assert "broken.yaml: grading.colour: Unknown field." in message
    message = broken(tmp_path, "jagu", lambda d: d["windows"].update(coffee_break={"unit": "hours", "amount": 1}))
    assert "broken.yaml: windows.coffee_break: Unknown field." in message


def test_letter_gap(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["grading"]["letters"][3].update(min=69))  # D from 69
    assert "broken.yaml: grading.letters.3.min: Gap: points 68 have no letter." in message


def test_letter_overlap_and_short_table(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["grading"]["letters"][3].update(min=67))
    assert "grading.letters.3.min: Overlap" in message
    message = broken(tmp_path, "kostanay", lambda d: d["grading"]["letters"][-1].update(max=99))
    assert "grading.letters.11.max: The last row must end at the rating maximum 100." in message


def test_unknown_role(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["attendance"]["codes"][1]["set_by"].append("janitor"))
    assert "broken.yaml: attendance.codes.1.set_by.1: Must be one of: it_admin" in message
    message = broken(tmp_path, "kostanay", lambda d: d["corrections"]["chain"][2].update(role="dean"))
    assert "broken.yaml: corrections.chain.2.role: Must be one of" in message


def test_excused_set_by_teacher_is_refused_rules_3(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["attendance"]["codes"][2]["set_by"].append("teacher"))
    assert "attendance.codes.2.set_by: excused is set only by the directorate" in message


def test_label_missing_a_language(tmp_path: Path) -> None:
    message = broken(tmp_path, "kostanay", lambda d: d["attendance"]["codes"][1]["labels"].pop("ky"))
    assert "broken.yaml: attendance.codes.1.labels.ky: Missing data for required field." in message
    message = broken(tmp_path, "jagu", lambda d: d["labels"]["ui"]["signature"].pop("kk"))
    assert "broken.yaml: labels.ui.signature.kk: Missing data for required field." in message
    message = broken(tmp_path, "jagu", lambda d: d["labels"]["ui"].pop("signature"))
    assert "broken.yaml: labels.ui.signature: Missing UI label." in message


def test_rating_maxima_must_add_up(tmp_path: Path) -> None:
    message = broken(tmp_path, "jagu", lambda d: d["grading"]["rating"]["maxima"]["credit"].update(m2_control=20))
    assert "grading.rating.maxima.credit: Maxima add up to 106, not the rating maximum 100." in message
    message = broken(tmp_path, "jagu", lambda d: d["grading"]["rating"]["maxima"]["exam"].update(bonus=0))
    assert "grading.rating.maxima.exam.bonus: Unknown rating component." in message


def test_made_up_needs_make_up(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["makeup"].update(enabled=False))
    assert "makeup.enabled: Make-up and the made_up code go together." in message


def test_yaml_bool_words_and_strings_are_not_values(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d["checkin"].update(enabled="yes"))
    assert "checkin.enabled: Not a valid boolean" in message
    message = broken(tmp_path, "oshtu", lambda d: d["windows"]["appeal"].update(amount="1"))
    assert "windows.appeal.amount: Not a valid integer." in message


def test_several_errors_are_all_named(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["windows"]["appeal"]["unit"] = "weeks"
        d["timezone"] = "Asia/Nowhere"

    message = broken(tmp_path, "oshtu", change)
    assert "broken.yaml: timezone: Not an IANA timezone" in message
    assert "broken.yaml: windows.appeal.unit: Must be one of" in message


def test_duplicate_yaml_key_and_bad_yaml(tmp_path: Path) -> None:
    text = (PRESETS_DIR / "oshsu.yaml").read_text(encoding="utf-8")
    path = tmp_path / "dup.yaml"
    path.write_text(text.replace("version: 1\n", "version: 1\nversion: 2\n"), encoding="utf-8")
    with pytest.raises(PresetError, match=r"dup\.yaml: \(yaml\): .*duplicate key 'version'"):
        load_preset_file(path)
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PresetError, match=r"dup\.yaml: \(yaml\)"):
        load_preset_file(path)
    with pytest.raises(PresetError, match=r"missing\.yaml: \(file\)"):
        load_preset_file(tmp_path / "missing.yaml")


def test_a_new_university_is_a_new_file(tmp_path: Path) -> None:
    data = copy.deepcopy(raw("oshsu"))
    data["name"] = "newu"
    data["working_week"] = [1, 2, 3, 4, 5, 6]
    policy = load_preset_file(write(tmp_path, data, "newu.yaml"))
    assert policy.name == "newu"
    assert policy.is_working_day(date(2026, 3, 14))  # a Saturday in a six-day week


# --- attendance classifier (RULES.md §3) ----------------------------------------------------------------------


def test_oshtu_classifier_003_app_2() -> None:
    policy = load_preset("oshtu")
    assert [(c.key, c.mark) for c in policy.codes] == [
        ("present", ""), ("absent", "НБ"), ("excused", "себептүү"), ("sick", "оорулуу"),
        ("made_up", "отработка аткарылды")]
    assert policy.attendance.excuse_kinds == ("excused", "sick")


def test_jagu_has_only_present_and_absent_kzh_002_3_5() -> None:
    policy = load_preset("jagu")
    assert [(c.key, c.mark) for c in policy.codes] == [("present", ""), ("absent", "кж")]
    assert not policy.has_code("excused")
    assert not policy.makeup.enabled


def test_kostanay_classifier_004_6() -> None:
    policy = load_preset("kostanay")
    marks = {c.key: c.mark for c in policy.codes}
    assert marks == {"present": "", "absent": "қ", "sick": "а", "unexcused": "дс", "leave": "д", "duty": "ж",
                     "made_up": ""}
    assert policy.code("duty").counts_as == "excused"
    assert policy.code("unexcused").counts_as == "absent"


@pytest.mark.parametrize("name", PRESETS)
def test_excused_and_sick_only_by_directorate_made_up_only_by_makeup_003_4_2_4(name: str) -> None:
    policy = load_preset(name)
    assert policy.may_set("teacher", "present")
    assert policy.may_set("teacher", "absent")
    assert policy.may_set("checkin", "present")
    assert not policy.may_set("teacher", "excused")
    assert not policy.may_set("teacher", "sick")
    assert not policy.may_set("teacher", "made_up")
    assert not policy.may_set("student", "present")
    assert not policy.may_set("teacher", "no_such_code")
    for code in policy.codes:
        assert set(code.set_by) <= set(ROLES) | {"makeup", "checkin"}
    if policy.has_code("sick"):
        assert policy.may_set("directorate", "sick")
    if policy.has_code("made_up"):
        assert policy.code("made_up").set_by == ("makeup",)
    with pytest.raises(KeyError):
        policy.code("no_such_code")


def test_labels_in_four_languages() -> None:
    policy = load_preset("oshtu")
    absent = policy.code("absent").labels
    assert (absent.ky, absent.ru, absent.en) == ("Катышкан жок (НБ)", "Не был (НБ)", "Absent")
    assert load_preset("kostanay").ui_label("student", "kk") == "Курсант"
    with pytest.raises(KeyError):
        absent.get("de")


# --- grading (RULES.md §4) ------------------------------------------------------------------------------------


def test_jagu_marks_0_to_5_002_3_5() -> None:
    scale = load_preset("jagu").grading.scale
    assert scale.kind == "marks" and scale.values == (0, 1, 2, 3, 4, 5)
    assert scale.accepts(5) and scale.accepts(0)
    assert not scale.accepts(6) and not scale.accepts(4.5) and not scale.accepts(True)


def test_kostanay_whole_points_0_to_100_004_6() -> None:
    scale = load_preset("kostanay").grading.scale
    assert (scale.kind, scale.min, scale.max, scale.integer) == ("points", 0, 100, True)
    assert scale.accepts(0) and scale.accepts(100) and scale.accepts(50.0)
    assert not scale.accepts(50.5) and not scale.accepts(101) and not scale.accepts(-1)
    assert load_preset("oshtu").grading.scale.accepts(50.5)


def test_jagu_rating_maxima_attendance_8_performance_10_exam_16_20_credit_002_3_5() -> None:
    rating = load_preset("jagu").grading.rating
    exam, credit = rating.maxima_for("exam"), rating.maxima_for("credit")
    assert (exam["m1_attendance"], exam["m1_current"], exam["m2_attendance"], exam["m2_current"]) == (8, 10, 8, 10)
    assert (credit["m1_attendance"], credit["m1_current"]) == (16, 20)
    assert (credit["m2_attendance"], credit["m2_current"]) == (16, 20)


@pytest.mark.parametrize("name", PRESETS)
def test_rating_maxima_add_up_to_100(name: str) -> None:
    rating = load_preset(name).grading.rating
    for control in ("exam", "credit"):
        assert sum(rating.maxima_for(control).values()) == rating.max == 100
    sources = {c.key: c.source for c in rating.components}
    assert sources[next(iter(rating.maxima_for("exam")))] in ("attendance", "current")


def test_kostanay_components_004_2() -> None:
    rating = load_preset("kostanay").grading.rating
    assert [c.key for c in rating.components] == ["current", "midterm", "rating_control", "attestation"]
    assert [c.source for c in rating.components] == ["current", "module1", "module2", "final"]


@pytest.mark.parametrize(("points", "letter"), [
    (0, "F"), (30, "F"), (30.49, "F"), (30.5, "FX"), (31, "FX"), (60, "FX"), (60.49, "FX"), (60.5, "E"),
    (61, "E"), (67, "E"), (68, "D"), (73, "D"), (74, "C"), (79, "C"), (80, "B"), (86, "B"), (86.5, "A"),
    (87, "A"), (100, "A"),
])
def test_kg_letter_table_boundaries(points: float, letter: str) -> None:
    for name in ("jagu", "oshsu", "oshtu"):
        assert load_preset(name).letter_for(points).letter == letter


@pytest.mark.parametrize(("points", "letter", "grade5"), [
    (0, "F", 2), (24, "F", 2), (25, "FX", 2), (49, "FX", 2), (49.5, "D", 3), (50, "D", 3), (54, "D", 3),
    (55, "D+", 3), (74, "C+", 3), (75, "B-", 4), (89, "B+", 4), (90, "A-", 5), (94, "A-", 5), (95, "A", 5),
    (100, "A", 5),
])
def test_kz_letter_table_boundaries(points: float, letter: str, grade5: int) -> None:
    row = load_preset("kostanay").letter_for(points)
    assert (row.letter, row.grade5) == (letter, grade5)


def test_letters_outside_the_rating_are_errors_and_pass_marks() -> None:
    oshtu, kostanay = load_preset("oshtu"), load_preset("kostanay")
    for points in (-1, 100.5, 101, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            oshtu.letter_for(points)
    assert oshtu.letter_for(100).labels.ru == "Отлично"
    assert oshtu.passed(61) and not oshtu.passed(60.4)
    assert kostanay.passed(50) and not kostanay.passed(49)
    assert kostanay.letter_for(95).gpa == 4.0


# --- windows (RULES.md §5) ------------------------------------------------------------------------------------


def test_oshtu_attendance_entry_is_24_hours_003_4_2_1() -> None:
    policy = load_preset("oshtu")
    start = kg(2026, 10, 5, 9, 0)
    assert policy.deadline("attendance_entry", start) == kg(2026, 10, 6, 9, 0)
    assert policy.is_open("attendance_entry", start, kg(2026, 10, 6, 9, 0))
    assert not policy.is_open("attendance_entry", start, kg(2026, 10, 6, 9, 0, 1))


def test_oshtu_current_grade_entry_is_5_calendar_days_003_4_3_1() -> None:
    policy = load_preset("oshtu")
    assert policy.window("grade_entry").unit == "calendar_days"
    # Calendar days run over weekends and holidays: Fri 2026-03-20 (Orozo Ait) + 5 = Wed 2026-03-25.
    assert policy.deadline("grade_entry", kg(2026, 3, 20, 10, 0)) == end_of(date(2026, 3, 25), BISHKEK)


def test_oshtu_module_and_final_grades_003_4_3_2_4_3_3() -> None:
    policy = load_preset("oshtu")
    assert policy.window("module_grade_entry").unit == "calendar_week"  # the module week: the module test's
    assert policy.deadline("module_grade_entry", kg(2026, 10, 7, 9, 0)) == end_of(date(2026, 10, 11), BISHKEK)
    assert policy.deadline("module_grade_entry", kg(2026, 10, 11, 9, 0)) == end_of(date(2026, 10, 11), BISHKEK)
    assert policy.deadline("final_grade_entry", kg(2027, 1, 12, 9, 0)) == end_of(date(2027, 1, 12), BISHKEK)


def test_oshtu_self_correction_is_3_calendar_days_003_4_4_1() -> None:
    policy = load_preset("oshtu")
    window = policy.window("self_correction")
    assert (window.unit, window.amount, window.source) == ("calendar_days", 3, "003 §4.4.1")
    entered = kg(2026, 10, 5, 16, 30)  # Monday
    assert policy.deadline("self_correction", entered) == end_of(date(2026, 10, 8), BISHKEK)
    assert policy.is_open("self_correction", entered, kg(2026, 10, 8, 23, 59))
    assert not policy.is_open("self_correction", entered, kg(2026, 10, 9, 0, 0))


def test_oshtu_late_correction_chain_003_4_4_2() -> None:
    corrections = load_preset("oshtu").corrections
    assert [(s.action, s.role) for s in corrections.chain] == [
        ("request", "teacher"), ("visa", "department_head"), ("approve", "academic_office"),
        ("execute", "it_admin")]
    assert corrections.academic_by == "commission"  # 003 §4.4.3
    assert corrections.step_for("execute") is not None
    assert corrections.step_for("execute").window == "correction_execution"  # type: ignore[union-attr]


def test_oshtu_makeup_deadline_is_14_calendar_days_003_5_3_1() -> None:
    policy = load_preset("oshtu")
    assert policy.deadline("makeup_deadline", kg(2026, 10, 5, 9, 0)) == end_of(date(2026, 10, 19), BISHKEK)
    assert policy.makeup.extension_by == ("department_head", "directorate")  # 003 §5.3.2


def test_oshtu_dispute_is_3_working_days_003_6_2() -> None:
    policy = load_preset("oshtu")
    # Published Thu 2026-04-30; KG: 1 May (Labour Day) and 4-8 May are holidays in the package.
    may = policy.public_holidays(2026)
    assert {date(2026, 5, d) for d in (1, 4, 5, 6, 7, 8)} <= set(may)
    assert policy.deadline("dispute", kg(2026, 4, 30, 12, 0)) == end_of(date(2026, 5, 13), BISHKEK)


def test_oshtu_appeal_is_1_working_day_over_a_weekend_003_6_3() -> None:
    policy = load_preset("oshtu")
    friday = kg(2026, 10, 9, 15, 0)
    assert policy.deadline("appeal", friday) == end_of(date(2026, 10, 12), BISHKEK)  # Monday
    saturday = kg(2026, 10, 10, 11, 0)
    assert policy.deadline("appeal", saturday) == end_of(date(2026, 10, 12), BISHKEK)
    assert not policy.is_open("appeal", friday, kg(2026, 10, 13, 0, 0))


def test_oshtu_appeal_skips_orozo_ait_and_nooruz_2026_003_6_3() -> None:
    policy = load_preset("oshtu")
    holidays_2026 = policy.public_holidays(2026)
    assert date(2026, 3, 20) in holidays_2026  # Eid al-Fitr (Orozo Ait), a Friday
    assert date(2026, 3, 21) in holidays_2026  # Nooruz, a Saturday
    assert date(2026, 3, 8) in holidays_2026   # International Women's Day, a Sunday
    assert date(2026, 3, 9) not in holidays_2026  # KG: no observed day in the package
    assert policy.deadline("appeal", kg(2026, 3, 19, 14, 0)) == end_of(date(2026, 3, 23), BISHKEK)


def test_oshtu_excuse_document_3_working_days_after_return_003_4_2_3() -> None:
    policy = load_preset("oshtu")
    # Back on Wed 2025-12-31; 1-7 Jan 2026 are New Year holidays and Christmas (KG): 8, 9, 12 January.
    assert {date(2026, 1, d) for d in range(1, 8)} <= set(policy.public_holidays(2026))
    assert policy.deadline("excuse_document", kg(2025, 12, 31, 9, 0)) == end_of(date(2026, 1, 12), BISHKEK)


def test_jagu_attendance_on_the_class_day_002_4_3() -> None:
    policy = load_preset("jagu")
    assert policy.window("attendance_entry").unit == "class_day"
    start = kg(2026, 10, 5, 15, 20)
    assert policy.deadline("attendance_entry", start) == end_of(date(2026, 10, 5), BISHKEK)
    assert policy.deadline("grade_entry", start) == end_of(date(2026, 10, 5), BISHKEK)
    assert not policy.is_open("attendance_entry", start, kg(2026, 10, 6, 0, 0))


def test_class_day_is_the_local_day_of_the_session() -> None:
    policy = load_preset("jagu")
    start = datetime(2026, 10, 4, 20, 30, tzinfo=UTC)  # 2026-10-05 02:30 in Bishkek
    assert policy.deadline("attendance_entry", start) == end_of(date(2026, 10, 5), BISHKEK)
    with pytest.raises(ValueError):
        policy.deadline("attendance_entry", datetime(2026, 10, 5, 9, 0))  # naive


def test_jagu_self_correction_until_interim_score_posted_002_4_3() -> None:
    policy = load_preset("jagu")
    assert policy.window("self_correction").unit == "until_posted"
    assert policy.deadline("self_correction", kg(2026, 10, 5, 9, 0)) is None
    assert policy.is_open("self_correction", kg(2026, 10, 5, 9, 0), kg(2027, 1, 5, 9, 0))
    assert policy.statements.lock_on_post
    assert policy.statements.closed_by == ("academic_office",)


def test_jagu_has_no_makeup_window() -> None:
    policy = load_preset("jagu")
    assert not policy.window("makeup_deadline").allowed
    start = kg(2026, 10, 5, 9, 0)
    assert policy.deadline("makeup_deadline", start) == start
    assert not policy.is_open("makeup_deadline", start, start)


def test_oshsu_attendance_on_the_class_day_001_4_3() -> None:
    policy = load_preset("oshsu")
    assert policy.deadline("attendance_entry", kg(2026, 10, 5, 8, 0)) == end_of(date(2026, 10, 5), BISHKEK)


def test_oshsu_self_correction_until_interim_total_posted_001_4_3() -> None:
    policy = load_preset("oshsu")
    assert policy.window("self_correction").unit == "until_posted"
    assert policy.statements.lock_on_post


def test_kostanay_attendance_within_2_days_004_17() -> None:
    policy = load_preset("kostanay")
    window = policy.window("attendance_entry")
    assert (window.unit, window.amount) == ("calendar_days", 2)
    assert policy.deadline("attendance_entry", kz(2026, 10, 5, 9, 0)) == end_of(date(2026, 10, 7), QOSTANAY)


def test_kostanay_grades_daily_no_carry_over_004_18() -> None:
    policy = load_preset("kostanay")
    assert policy.window("grade_entry").unit == "class_day"
    assert policy.deadline("grade_entry", kz(2026, 10, 5, 9, 0)) == end_of(date(2026, 10, 5), QOSTANAY)


def test_kostanay_no_self_correction_only_report_to_faculty_head_004_4_13() -> None:
    policy = load_preset("kostanay")
    assert policy.window("self_correction").unit == "none"
    entered = kz(2026, 10, 5, 9, 0)
    assert not policy.is_open("self_correction", entered, entered + timedelta(minutes=1))


def test_kostanay_correction_chain_methodist_act_faculty_head_it_004_10_13() -> None:
    chain = load_preset("kostanay").corrections.chain
    assert [(s.step, s.action, s.role) for s in chain] == [
        ("report", "request", "teacher"), ("act", "visa", "department_head"),
        ("approve", "approve", "directorate"), ("execute", "execute", "it_admin")]


def test_kostanay_it_applies_correction_within_3_working_days_over_nauryz_004_10() -> None:
    policy = load_preset("kostanay")
    nauryz = policy.public_holidays(2026)
    # KZ 2026: Nauryz 21-23 March (Sat-Mon), moved days off on 24 and 25 March.
    assert {date(2026, 3, d) for d in (21, 22, 23, 24, 25)} <= set(nauryz)
    assert not any(policy.is_working_day(date(2026, 3, d)) for d in range(21, 26))
    approved = kz(2026, 3, 20, 11, 0)  # Friday
    assert policy.deadline("correction_execution", approved) == end_of(date(2026, 3, 30), QOSTANAY)


def test_kostanay_excuse_document_over_womens_day_observed_kz() -> None:
    policy = load_preset("kostanay")
    holidays_2026 = policy.public_holidays(2026)
    assert date(2026, 3, 8) in holidays_2026 and date(2026, 3, 9) in holidays_2026  # Sunday, observed Monday
    # Back on Fri 2026-03-06: Mon 9 is off, so 10, 11, 12 March.
    assert policy.deadline("excuse_document", kz(2026, 3, 6, 9, 0)) == end_of(date(2026, 3, 12), QOSTANAY)


def test_kostanay_makeup_report_within_two_weeks_004_19() -> None:
    policy = load_preset("kostanay")
    assert policy.makeup.enabled and policy.makeup.unsatisfactory_grades
    assert policy.makeup.approval_by == ("directorate",)
    assert policy.deadline("makeup_deadline", kz(2026, 10, 5, 9, 0)) == end_of(date(2026, 10, 19), QOSTANAY)


# --- working days ---------------------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_holidays() -> None:
    oshtu, kostanay = load_preset("oshtu"), load_preset("kostanay")
    assert oshtu.is_working_day(date(2026, 3, 19))
    assert not oshtu.is_working_day(date(2026, 3, 20))  # Orozo Ait
    assert not oshtu.is_working_day(date(2026, 3, 22))  # Sunday
    assert oshtu.is_working_day(date(2026, 3, 9))       # KG has no observed Women's Day
    assert not kostanay.is_working_day(date(2026, 3, 9))  # KZ does
    assert not oshtu.is_working_day(date(2026, 8, 31))  # Independence Day (KG)
    assert not kostanay.is_working_day(date(2026, 12, 16))  # Independence Day (KZ)


def test_add_working_days_zero_and_backwards() -> None:
    policy = load_preset("oshtu")
    assert policy.add_working_days(date(2026, 3, 19), 0) == date(2026, 3, 19)
    assert policy.add_working_days(date(2026, 3, 20), 0) == date(2026, 3, 23)
    assert policy.add_working_days(date(2026, 3, 23), -1) == date(2026, 3, 19)
    assert policy.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 8)  # across the New Year holidays
    assert {date(2027, 1, d) for d in range(1, 8)} <= set(policy.public_holidays(2027))


def test_six_day_week_and_extra_days(tmp_path: Path) -> None:
    data = copy.deepcopy(raw("oshtu"))
    data["working_week"] = [1, 2, 3, 4, 5, 6]
    data["calendar"] = {"extra_days_off": ["2026-10-12"], "extra_working_days": ["2026-10-11"]}
    policy = load_preset_file(write(tmp_path, data, "oshtu.yaml"))
    five_day = load_preset("oshtu")
    friday = kg(2026, 3, 13, 15, 0)
    assert five_day.deadline("appeal", friday) == end_of(date(2026, 3, 16), BISHKEK)
    assert policy.deadline("appeal", friday) == end_of(date(2026, 3, 14), BISHKEK)  # Saturday works
    assert not policy.is_working_day(date(2026, 3, 21))  # Nooruz falls on that Saturday
    assert policy.is_working_day(date(2026, 10, 11))      # a declared working Sunday
    assert not policy.is_working_day(date(2026, 10, 12))  # a declared day off
    assert policy.as_dict()["calendar"]["extra_days_off"] == ["2026-10-12"]


def test_dates_both_off_and_working_are_refused(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshtu", lambda d: d.update(
        calendar={"extra_days_off": ["2026-10-12"], "extra_working_days": ["2026-10-12"]}))
    assert "calendar: Dates both off and working: 2026-10-12." in message


# --- reports, retention, check-in, at-risk (RULES.md §8-9) ----------------------------------------------------


def test_report_cadence_001_3_5_001_6_2_002_3_6_004_16() -> None:
    assert load_preset("oshsu").reports["filling_check"].cadence == ("weekly", "biweekly")  # 001 §6.2, §3.5
    assert load_preset("jagu").reports["filling_check"].cadence == ("monthly",)
    assert load_preset("kostanay").reports["filling_check"].cadence == ("weekly",)
    assert load_preset("oshsu").reports["attendance"].cadence[0] == "weekly"   # 001 §6.2
    assert load_preset("jagu").reports["attendance"].cadence[0] == "monthly"   # 002 §6.2
    for name in PRESETS:
        reports = load_preset(name).reports
        assert {"semester", "year"} <= set(reports["quality"].cadence)
        assert reports["filling_report"].signed


def test_retention_001_5_7_5_8() -> None:
    oshsu = load_preset("oshsu")
    assert oshsu.retention.achievements_years == 5
    assert oshsu.retention.filling_report_years == 25
    assert load_preset("jagu").retention.paper_in_directorate_years == 1  # 002 §5.8
    for name in PRESETS:
        assert load_preset(name).retention.achievements_years >= 5


def test_checkin_and_at_risk_defaults() -> None:
    for name in PRESETS:
        policy = load_preset(name)
        assert policy.checkin.token_ttl_seconds == 20
        assert policy.checkin.grace_seconds == 120
        assert policy.checkin.allowed_subnets == ()
        assert 0 < policy.at_risk.attendance_percent <= 100
        assert policy.at_risk.rating_points == policy.grading.pass_mark


def test_bad_subnet_is_refused(tmp_path: Path) -> None:
    message = broken(tmp_path, "oshsu", lambda d: d["checkin"].update(allowed_subnets=["10.0.0.0/8", "lab"]))
    assert "checkin.allowed_subnets.1: Not an IP network: 'lab'." in message


def test_substitutes_are_assigned_by_the_department_head_and_at_kostanay_with_the_faculty_heads_permission_004_21(
) -> None:
    """RULES.md §1: 000 §2, 002 §3.5 (the department head); 004 §21 (the faculty head's written permission)."""
    assert {name: load_preset(name).substitutes.assigned_by for name in PRESETS} == {
        "jagu": "department_head", "oshsu": "department_head", "oshtu": "department_head",
        "kostanay": "directorate"}
