"""Issue 7 item 1, as a university's IT office would use it: the spreadsheets AVN and UNIVER+ export go in through
`POST /api/v1/import/{kind}/file`, statements and attendance come back out as the portals' files."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest

from support import admin_query, eventually, person, until_status

pytestmark = pytest.mark.e2e
PW = "portal-test-pw-1"
GROUP, DISCIPLINE, TERM = "ПТ-1-26", "PTPHY", "PT-2026-1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STUDENTS = [("PTS1", "Әлиева Айгерім", "1"), ("PTS2", "Бекова Дана", "1"), ("PTS3", "Жүсіпов Ерлан", "2")]


def xlsx(*rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(stack, kind: str, content: bytes, portal: str, media: str = XLSX, **params):
    query = "&".join(f"{k}={v}" for k, v in {"portal": portal, **params}.items())
    return stack.api("POST", f"/api/v1/import/{kind}/file?{query}", stack.admin(), timeout=120,
                     files={"file": (f"{kind}.bin", content, media)})


def contingent_xlsx(*students) -> bytes:
    """A UNIVER+-style export: a title, a blank line, Kazakh/Russian headers, then one row per student."""
    return xlsx(["Контингент обучающихся", None], [],
                ["ID обучающегося", "ФИО обучающегося", "Топ", "Подгруппа", "Курс", "Код факультета", "Факультет",
                 "Код кафедры", "Кафедра"],
                *[[code, name, group, sub, 1, "PTF", "Факультет физики", "PTD", "Кафедра физики"]
                  for code, name, group, sub in students])


def persons(*codes) -> int:
    return admin_query("SELECT count(*) FROM identity.person WHERE code = ANY(%s)", (list(codes),))[0][0]


@pytest.fixture(scope="module")
def world(stack):
    admin = stack.admin()
    r = upload(stack, "contingent", contingent_xlsx(*[(c, n, GROUP, s) for c, n, s in STUDENTS]), "univer")
    assert r.status_code == 200, r.text
    assert r.json()["created"]["students"] == 3 and r.json()["created"]["groups"] == 1, r.json()
    staff = {"staff": [person("PTT1", "Ермеков Нурлан", PW, department="PTD", roles=[{"role": "teacher"}])]}
    assert stack.api("POST", "/api/v1/import/contingent", admin, json=staff).status_code == 200
    load = ("Учебная нагрузка\nКод дисциплины;Дисциплина;Форма контроля;Кредиты;Код преподавателя;Группа;"
            f"Вид занятия\n{DISCIPLINE};Физика;Экзамен;5;PTT1;{GROUP};Лекция\n").encode("cp1251")
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        upload(stack, "load", load, "avn", "text/csv")), timeout=30)
    assert r.json()["created"] == {"disciplines": 1, "assignments": 1}, r.json()
    timetable = xlsx(["Сабактардын жадыбалы"],
                     ["Күнү", "Убактысы", "Дисциплинанын коду", "Тайпа", "Сабактын түрү", "Окутуучунун коду",
                      "Аудитория"],
                     ["02.11.2028", "09:00-10:20", DISCIPLINE, GROUP, "Лекция", "PTT1", "3-204"],
                     [datetime(2028, 11, 9), "09:00-10:20", DISCIPLINE, GROUP, "лек.", "PTT1", "3-204"])
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        upload(stack, "timetable", timetable, "avn", term=TERM, term_starts="2028-09-01", term_ends="2028-12-31")),
        timeout=60)
    assert r.json()["created"] == 2 and r.json()["term"] == TERM, r.json()
    teacher = stack.login("ptt1", PW)
    sessions = list(r.json()["sessions"].values())
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{sessions[0]}", teacher).status_code == 200, timeout=30)
    return {"timetable": timetable, "sessions": sessions, "teacher": teacher}


def test_a_univer_xlsx_with_cyrillic_headers_imports_the_contingent_and_twice_changes_nothing(stack, world):
    assert persons("PTS1", "PTS2", "PTS3") == 3
    groups = admin_query("SELECT course, subgroups FROM identity.study_group WHERE code = %s", (GROUP,))
    assert groups == [(1, ["1", "2"])]
    again = upload(stack, "contingent", contingent_xlsx(*[(c, n, GROUP, s) for c, n, s in STUDENTS]), "univer")
    assert again.status_code == 200, again.text
    assert again.json()["created"] == {} and again.json()["updated"] == {}, again.json()
    assert again.json()["initial_passwords"] == [] and again.json()["rows"] == 3


def test_the_same_timetable_file_twice_changes_nothing(stack, world):
    r = upload(stack, "timetable", world["timetable"], "avn", term=TERM, term_starts="2028-09-01",
               term_ends="2028-12-31")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 2)
    assert list(r.json()["sessions"].values()) == world["sessions"]
    session = stack.api("GET", f"/api/v1/sessions/{world['sessions'][0]}", world["teacher"]).json()
    assert session["starts_at"] == "2028-11-02T09:00:00+06:00" and session["minutes"] == 80
    assert session["room"] == "3-204" and session["kind"] == "lecture"


def test_a_bad_row_names_its_row_and_column_and_stores_nothing(stack, world):
    # row 5 names a group that does not exist: the service finds it, the answer names the file's place
    bad = xlsx(["Контингент"], [], ["Код студента", "ФИО", "Группа"],
               ["PTX1", "Асанов Асан", GROUP], ["PTX2", "Усенов Бакыт", "НЕТ-ТАКОЙ"],
               ["PTX3", "Токтогулов Эмиль", GROUP])
    r = upload(stack, "contingent", bad, "avn")
    assert r.status_code == 422 and r.headers["Content-Type"].startswith("application/problem+json"), r.text
    assert r.json()["code"] == "validation_error"
    assert list(r.json()["errors"]) == ["row 5, column «Группа»"], r.json()
    assert "НЕТ-ТАКОЙ" in r.json()["errors"]["row 5, column «Группа»"][0]
    assert persons("PTX1", "PTX2", "PTX3") == 0, "a bad row rejects the whole file"
    # a cell the adapter cannot read (a date that does not exist) is named the same way, before any call
    before = admin_query('SELECT count(*) FROM attendance.session WHERE "group" = %s', (GROUP,))[0][0]
    timetable = ("Дата;Время;Код дисциплины;Группа;Вид занятия;Код преподавателя\n"
                 f"16.11.2028;09:00-10:20;{DISCIPLINE};{GROUP};Лекция;PTT1\n"
                 f"31.11.2028;09:00-10:20;{DISCIPLINE};{GROUP};Лекция;PTT1\n").encode("cp1251")
    r = upload(stack, "timetable", timetable, "avn", "text/csv", term=TERM)
    assert r.status_code == 422 and list(r.json()["errors"]) == ["row 3, column «Дата»"], r.text
    assert admin_query('SELECT count(*) FROM attendance.session WHERE "group" = %s', (GROUP,))[0][0] == before


def test_a_raw_csv_body_and_the_wrong_inputs(stack, world):
    body = "Код студента;ФИО;Группа\nPTS1;Әлиева Айгерім;ПТ-1-26\n".encode()
    r = stack.api("POST", "/api/v1/import/contingent/file?portal=avn", stack.admin(), data=body,
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["created"] == {} and r.json()["updated"] == {}, r.text
    enrolment = admin_query("SELECT subgroup FROM identity.enrolment WHERE student = 'PTS1' AND ends IS NULL")
    assert enrolment == [("1",)], "a file without a subgroup column leaves the subgroup as it is"
    r = stack.api("POST", "/api/v1/import/contingent/file?portal=moodle", stack.admin(), data=body,
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "portal" in r.json()["errors"]
    r = stack.api("POST", "/api/v1/import/contingent/file?portal=avn", stack.admin(), data=b"x" * (11 * 1024 * 1024),
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    r = stack.api("POST", "/api/v1/import/load/file?portal=avn", stack.admin(), data=b"PK\x03\x04 not a zip",
                  headers={"Content-Type": XLSX})
    assert r.status_code == 422 and "file" in r.json()["errors"]


def test_exported_statement_and_attendance_read_back_with_cyrillic_headers_and_values(stack, world):
    first = world["sessions"][0]
    stack.set_clock("2028-11-02T10:30:00+06:00")
    r = stack.api("PUT", f"/api/v1/sessions/{first}/attendance", world["teacher"],
                  json={"marks": [{"student": "PTS1", "status": "present"}, {"student": "PTS2", "status": "absent"}]})
    assert r.status_code == 200, r.text
    statement = until_status(lambda: stack.api("POST", "/api/v1/statements", world["teacher"], json={
        "group": GROUP, "discipline": DISCIPLINE, "kind": "module1"}), 201)
    sid = statement.json()["id"]

    r = stack.api("GET", f"/api/v1/export/statements/{sid}.xlsx?portal=avn", world["teacher"])
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX, r.text
    header, *rows = openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
    assert header == ("№", "Код студента", "ФИО", "Группа", "Код дисциплины", "Баллы", "Буквенная оценка", "Оценка",
                      "Оценка прописью")
    by_code = {row[1]: row for row in rows}
    assert set(by_code) == {"PTS1", "PTS2", "PTS3"}
    assert by_code["PTS1"][2] == "Әлиева Айгерім" and by_code["PTS1"][3] == GROUP

    r = stack.api("GET", f"/api/v1/export/statements/{sid}.csv?portal=univer&lang=kk", world["teacher"])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf"), "Excel opens UTF-8 CSV with its BOM"
    read = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert read[0][:3] == ["№", "Білім алушының ID", "Білім алушының аты-жөні"] and len(read) == 4
    assert stack.api("GET", f"/api/v1/export/statements/{sid}.pdf?portal=avn", world["teacher"]).status_code == 422

    query = f"group={GROUP}&discipline={DISCIPLINE}&from=2028-11-01&to=2028-11-30&portal=avn"
    r = stack.api("GET", f"/api/v1/export/attendance?{query}&format=csv", world["teacher"])
    assert r.status_code == 200, r.text
    read = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert list(read[0]) == ["Дата", "Время", "Вид занятия", "Код дисциплины", "Группа", "Код студента", "ФИО",
                             "Отметка", "Посещаемость", "Тема"]
    day = {row["Код студента"]: row for row in read if row["Дата"] == "2028-11-02"}
    assert set(day) == {"PTS1", "PTS2", "PTS3"} and day["PTS2"]["ФИО"] == "Бекова Дана"
    assert (day["PTS2"]["Отметка"], day["PTS2"]["Посещаемость"]) == ("НБ", "Не был (НБ)")
    assert day["PTS1"]["Посещаемость"] == "Присутствовал" and day["PTS3"]["Отметка"] == ""
    assert day["PTS1"]["Время"] == "09:00" and day["PTS1"]["Вид занятия"] == "Лекция"
    assert len(read) == 6, "two sessions, three students each"

    r = stack.api("GET", f"/api/v1/export/attendance?{query}&format=xlsx&lang=ky", world["teacher"])
    header, *rows = openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
    assert header[:3] == ("Күнү", "Убактысы", "Сабактын түрү") and len(rows) == 6
    assert ("PTS2", "Катышкан жок (НБ)") in {(row[5], row[8]) for row in rows}


def test_exports_keep_the_reads_access_rules(stack, world):
    admin = stack.admin()
    other = {"staff": [person("PTT2", "Бөтен Мұғалім", PW, department="PTD", roles=[{"role": "teacher"}])]}
    assert stack.api("POST", "/api/v1/import/contingent", admin, json=other).status_code == 200
    stranger = eventually(lambda: stack.api("POST", "/api/v1/auth/login",
                                            json={"login": "ptt2", "password": PW}).json().get("access_token"))
    query = f"group={GROUP}&discipline={DISCIPLINE}&portal=avn"
    assert stack.api("GET", f"/api/v1/export/attendance?{query}", stranger).status_code == 404
    statements = stack.api("GET", f"/api/v1/statements?group={GROUP}&discipline={DISCIPLINE}", admin).json()["items"]
    assert stack.api("GET", f"/api/v1/export/statements/{statements[0]['id']}.xlsx?portal=avn",
                     stranger).status_code == 404
    until_status(lambda: stack.api("GET", f"/api/v1/export/attendance?{query}&format=csv", admin), 200)
    r = stack.api("POST", "/api/v1/import/contingent/file?portal=avn", stranger, data=b"a;b",
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 403


def test_openapi_describes_the_portal_routes(stack):
    paths = stack.api("GET", "/api/v1/openapi.json").json()["paths"]
    for kind in ("contingent", "load", "timetable"):
        op = paths[f"/api/v1/import/{kind}/file"]["post"]
        assert {"multipart/form-data", "text/csv", XLSX} <= set(op["requestBody"]["content"])
        assert "portal" in {p["name"] for p in op["parameters"]}
    op = paths["/api/v1/export/statements/{statement_id}.{fmt}"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"statement_id", "fmt", "portal", "lang"}
    assert {"group", "discipline", "format", "portal"} <= {
        p["name"] for p in paths["/api/v1/export/attendance"]["get"]["parameters"]}
