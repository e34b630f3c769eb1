"""The portal adapters' rules (issue 7 item 1), without a stack: reading AVN/UNIVER+ files, the column mapping of
portal_columns.yaml, rows into the JSON import bodies, errors named by row and column, and files written back."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from gateway import portal
from kernel.errors import ValidationFailed

BISHKEK = ZoneInfo("Asia/Bishkek")


def table(kind: str, text: str, portal_name: str = "avn", encoding: str = "utf-8") -> portal.Table:
    return portal.locate(portal.read_rows(text.encode(encoding)), portal.layout(portal_name, kind))


def errors_of(call) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.errors


def test_the_mapping_file_describes_every_kind_of_every_portal_in_four_languages():
    m = portal.mapping()
    assert set(m.portals) == {"avn", "univer"}
    for (portal_name, kind), lay in m.layouts.items():
        assert lay.columns, (portal_name, kind)
        for column in lay.columns:
            assert set(column.labels) == set(portal.LANGS), (portal_name, kind, column.field)
    for kind in portal.IMPORT_KINDS:
        assert any(c.required for c in m.layouts[("avn", kind)].columns)


def test_an_alias_meaning_two_columns_is_refused_when_the_mapping_is_loaded():
    spec = {"ru": "Группа", "ky": "Тайпа", "kk": "Топ", "en": "Group"}
    kinds = {k: {} for k in (*portal.IMPORT_KINDS, *portal.EXPORT_KINDS)}
    kinds["load"] = {"group": spec, "discipline": {**spec, "ru": "Код", "aliases": ["топ"]}}
    with pytest.raises(ValueError, match="means group and discipline"):
        portal.parse_mapping({"values": {}, "portals": {"avn": kinds}})


def test_a_cp1251_semicolon_csv_under_a_title_is_read_with_its_cyrillic_headers():
    t = table("load", "Учебная нагрузка 2026-2027\n\nКод дисциплины;Дисциплина;Форма контроля;Кредиты;"
                      "Код преподавателя;Группа;Вид занятия\nФИЗ1;Физика;Зачёт;5;T1;ПИ-1-26;Практическое занятие\n",
              encoding="cp1251")
    assert t.headers["discipline_name"] == "Дисциплина"
    body, _ = portal.load_body(t)
    assert body == {"disciplines": [{"code": "ФИЗ1", "name": "Физика", "control": "credit", "credits": 5}],
                    "assignments": [{"teacher": "T1", "discipline": "ФИЗ1", "group": "ПИ-1-26", "kind": "practice",
                                     "subgroup": None}]}


def test_a_utf8_bom_comma_csv_and_kazakh_headers_and_values():
    text = "\ufeffПән коды,Пән,Бақылау түрі,Кредит саны,Оқытушы коды,Топ,Сабақ түрі\nP1,Пән,Емтихан,3,T1,G1,СӨЖ\n"
    body, _ = portal.load_body(table("load", text, "univer"))
    assert body["disciplines"][0]["control"] == "exam" and body["assignments"][0]["kind"] == "srs"


def test_headers_ignore_case_spaces_yo_and_a_trailing_colon():
    assert portal.normalize("  Зачёт  ") == portal.normalize("зачет")
    t = table("contingent", "КОД СТУДЕНТА:;  фио ;группа*\nS1;Асанов Асан;G1\n")
    assert set(t.headers) == {"code", "full_name", "group"}


def test_a_missing_required_column_is_named():
    errors = errors_of(lambda: table("contingent", "Код студента;ФИО\nS1;Асанов\n"))
    assert list(errors) == ["column «Группа»"]


def test_contingent_rows_give_faculties_departments_groups_and_students_once_each():
    t = table("contingent", "ID обучающегося;ФИО обучающегося;Топ;Подгруппа;Курс;Код факультета;Факультет;"
                            "Код кафедры;Кафедра\n"
                            "S1;Әлиева Айгерім;G1;2;1;F1;Факультет;D1;Кафедра\n"
                            "S2;Бекова Дана;G1;1;1;F1;Факультет;D1;Кафедра\n", "univer")
    body, _ = portal.contingent_body(t)
    assert body["faculties"] == [{"code": "F1", "name": "Факультет"}]
    assert body["departments"] == [{"code": "D1", "name": "Кафедра", "faculty": "F1"}]
    assert body["groups"] == [{"code": "G1", "department": "D1", "course": 1, "subgroups": ["1", "2"]}]
    assert [(s["code"], s["login"], s["subgroup"]) for s in body["students"]] == [("S1", "s1", "2"), ("S2", "s2", "1")]


def test_rows_that_disagree_about_one_group_name_the_later_row():
    errors = errors_of(lambda: portal.contingent_body(table(
        "contingent", "Код студента;ФИО;Группа;Курс;Код кафедры;Код факультета\n"
                      "S1;А;G1;1;D1;F1\nS2;Б;G1;2;D1;F1\nS2;В;G1;1;D1;F1\n")))
    assert "row 3, column «Курс»" in errors
    assert "row 4, column «Код студента»" in errors  # the same student twice


def test_the_services_errors_become_row_and_column_of_the_file():
    t = table("contingent", "Title\nКод студента;ФИО;Тайпа\nS1;А;G1\nS2;Б;G9\n")
    _, origin = portal.contingent_body(t)
    translated = origin.translate(ValidationFailed("x", {"students[1].group": ["unknown group 'G9'"],
                                                         "students[0].login": ["bad login"], "other": ["kept"]}))
    assert translated.errors == {"row 4, column «Тайпа»": ["unknown group 'G9'"],
                                 "row 3, column «Код студента»": ["bad login"], "other": ["kept"]}
    assert translated.detail.startswith("row 4, column «Тайпа»: unknown group")


def test_timetable_rows_with_ranges_dates_and_a_made_ref_that_is_the_same_for_the_same_file():
    text = ("Күнү;Убактысы;Дисциплинанын коду;Тайпа;Сабактын түрү;Окутуучунун коду;Аудитория;Семестр\n"
            "05.10.2026;09:00-10:20;P1;G1;Лекция;T1;2-101;2026-1\n"
            "2026-10-12;9.00;P1;G1;лек.;T1;;2026-1\n")
    with pytest.raises(ValidationFailed) as caught:  # the second row has no duration
        portal.timetable_body(table("timetable", text), BISHKEK)
    assert list(caught.value.errors) == ["row 3, column «Продолжительность (мин)»"]
    text = text.replace(";2026-1\n", ";2026-1;80\n").replace("Семестр\n", "Семестр;Мин\n")
    body, _ = portal.timetable_body(table("timetable", text), BISHKEK)
    assert body["term"] == {"code": "2026-1", "starts": "2026-10-05", "ends": "2026-10-12"}
    first, second = body["sessions"]
    assert first["starts_at"] == "2026-10-05T09:00:00+06:00" and first["minutes"] == 80 and first["kind"] == "lecture"
    assert second["room"] is None and second["ref"] != first["ref"]
    again, _ = portal.timetable_body(table("timetable", text), BISHKEK)
    assert [s["ref"] for s in again["sessions"]] == [first["ref"], second["ref"]]


def test_a_bad_date_kind_and_mixed_terms_are_named_by_row_and_column():
    text = ("Дата;Время;Код дисциплины;Группа;Вид занятия;Код преподавателя;Семестр\n"
            "31.02.2026;09:00-10:20;P1;G1;Лекция;T1;2026-1\n"
            "01.03.2026;09:00-10:20;P1;G1;Экскурсия;T1;2026-2\n")
    errors = errors_of(lambda: portal.timetable_body(table("timetable", text), BISHKEK))
    assert set(errors) == {"row 2, column «Дата»", "row 3, column «Вид занятия»", "row 3, column «Семестр»"}


def test_xlsx_cells_keep_dates_times_and_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Расписание"])
    ws.append(["Дата", "Время", "Продолжительность (мин)", "Код дисциплины", "Группа", "Вид занятия",
               "Код преподавателя"])
    ws.append([datetime(2026, 10, 5), time(13, 30), 80.0, 101, "G1", "Лабораторная работа", "T1"])
    out = io.BytesIO()
    wb.save(out)
    t = portal.locate(portal.read_rows(out.getvalue()), portal.layout("avn", "timetable"))
    body, _ = portal.timetable_body(t, BISHKEK, term="T", starts=date(2026, 9, 1), ends=date(2026, 12, 31))
    assert body["term"] == {"code": "T", "starts": "2026-09-01", "ends": "2026-12-31"}
    assert body["sessions"][0] | {"ref": None} == {
        "ref": None, "discipline": "101", "group": "G1", "subgroup": None, "kind": "lab", "teacher": "T1",
        "starts_at": "2026-10-05T13:30:00+06:00", "minutes": 80, "room": None}


def test_broken_files_are_422_not_500():
    for raw in (b"", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0old excel"):
        assert "file" in errors_of(lambda raw=raw: portal.read_rows(raw))
    assert "file" in errors_of(lambda: table("load", "a;b\n1;2\n"))  # no header row of the portal
    assert list(errors_of(lambda: table("contingent", "Код студента;ФИО;Группа\nS1;А\x00;G1\n"))) == [
        "row 2, column «ФИО»"]


def test_files_written_back_carry_the_portal_headers_in_the_language_asked():
    lay = portal.layout("univer", "attendance")
    rows = [{"date": "2026-10-05", "code": "S1", "full_name": "Әлиева Айгерім", "mark": "НБ"}]
    text = portal.write_table(lay, rows, "csv", "kk").decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert read[0][:1] == ["Күні"] and "Білім алушының ID" in read[0]
    assert dict(zip(read[0], read[1], strict=True))["Білім алушының аты-жөні"] == "Әлиева Айгерім"
    book = openpyxl.load_workbook(io.BytesIO(portal.write_table(portal.layout("avn", "statement"), [
        {"number": 1, "code": "S1", "points": 87.5}], "xlsx")))
    header, first = list(book.active.iter_rows(values_only=True))
    assert header[:3] == ("№", "Код студента", "ФИО") and first[0] == 1 and 87.5 in first
