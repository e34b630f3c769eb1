"""Reports without a database (RULES.md §8; API.md "Reports and audit"): attendance shares from the preset's
classifier (counts_as), the statement document (ведомость) in PDF and XLSX with the Kyrgyz and Kazakh letters,
and the attendance report's CSV/XLSX/PDF."""

from __future__ import annotations

import base64
import csv
import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from kernel.policy import load_preset
from reports import domain, render

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")
KOSTANAY = load_preset("kostanay")

LETTERS = "өүңқәғұі"


# -- attendance shares (RULES.md §3 classifiers; 003 §8.2 KPI of attendance, excuses, make-up) ---------------


def test_shares_follow_counts_as_of_the_preset():
    # oshtu: present and made_up count as present, excused and sick as excused, absent as absent (003 App. 2)
    s = domain.shares(OSHTU, {"present": 6, "made_up": 1, "absent": 1, "excused": 1, "sick": 1})
    assert s == {"total": 10, "attendance_rate": 0.7, "excused_share": 0.2, "made_up_share": 0.1}


def test_made_up_is_the_status_only_a_completed_makeup_sets():
    assert domain.made_up_statuses(OSHTU) == {"made_up"}  # 003 §5.4.2


def test_shares_round_half_up_to_four_places():
    s = domain.shares(OSHTU, {"present": 2, "absent": 1})
    assert s["attendance_rate"] == 0.6667 and s["excused_share"] == 0.0


def test_no_marks_give_no_rate_rather_than_zero():
    assert domain.shares(OSHTU, {}) == {"total": 0, "attendance_rate": None, "excused_share": None,
                                         "made_up_share": None}


def test_unknown_status_counts_in_the_denominator_only():
    s = domain.shares(OSHTU, {"present": 1, "retired_code": 1})
    assert s["total"] == 2 and s["attendance_rate"] == 0.5


def test_each_preset_brings_its_own_classifier():
    for pol in (JAGU, KOSTANAY):
        present = [c.key for c in pol.codes if c.counts_as == "present"]
        absent = [c.key for c in pol.codes if c.counts_as == "absent"]
        s = domain.shares(pol, {present[0]: 3, absent[0]: 1})
        assert s["attendance_rate"] == 0.75


def test_report_rows_list_every_status_and_totals_sum_them():
    a = domain.report_row(OSHTU, {"group": "G1"}, 2, {"present": 3, "absent": 1})
    b = domain.report_row(OSHTU, {"group": "G2"}, 1, {"sick": 2, "made_up": 2})
    assert set(a["marks"]) == {c.key for c in OSHTU.codes} and a["marks"]["excused"] == 0
    t = domain.totals(OSHTU, [a, b])
    assert t["sessions"] == 3 and t["total"] == 8
    assert t["marks"]["present"] == 3 and t["marks"]["sick"] == 2
    assert (t["attendance_rate"], t["excused_share"], t["made_up_share"]) == (0.625, 0.25, 0.25)


def test_filters_are_checked():
    f, errors = domain.parse_filters(group="G1", date_from="2026-09-01", date_to="2026-09-30")
    assert not errors and f.wire()["date_to"] == "2026-09-30"
    _, errors = domain.parse_filters(date_from="1 Sept", date_to="2026-09-30", teacher=5)
    assert set(errors) == {"from", "teacher"}  # named as the client sent them (API.md query parameters)
    _, errors = domain.parse_filters(date_from="2026-10-01", date_to="2026-09-30")
    assert set(errors) == {"to"}


# -- the statement (RULES.md §8: statements produced from the journal) ---------------------------------------

STATEMENT = {
    "id": 12, "group": "ПИ-1-24", "discipline": "MATH1", "kind": "final", "state": "closed", "control": "exam",
    "posted_by": "T1", "posted_at": "2026-12-25T10:00:00+06:00", "closed_at": "2026-12-26T18:30:00+00:00",
    "rows": [
        {"student": "S2", "points": 91.5, "letter": "A", "grade5": 5, "admitted": True},
        {"student": "S1", "points": 74, "letter": "C", "grade5": 4, "admitted": True},
        {"student": "S3", "points": 45.25, "letter": "FX", "grade5": 2, "admitted": True},
        {"student": "S9", "points": None, "letter": None, "grade5": None, "admitted": False},
    ],
}
NAMES = {"S1": "Аңсар Өмүрбеков", "S2": "Түгөлбай Үсөнов", "S3": "Әлібек Сәкенұлы Бағланқожа",
         "T1": "Гүлнара Ыңсанова"}
URL = "https://journal.example/api/v1/statements/12?verify=abc123"


def statement_doc(lang: str = "ky") -> render.StatementDocument:
    return render.statement_document(OSHTU, STATEMENT, lang, URL, NAMES, "Жогорку математика")


def test_statement_lines_are_ordered_by_name_and_numbered():
    lines = domain.statement_lines(STATEMENT["rows"], NAMES)
    assert [x.student for x in lines] == ["S9", "S1", "S2", "S3"]  # unknown name first, then alphabetical
    assert [x.number for x in lines] == [1, 2, 3, 4]
    assert lines[1].points == "74" and lines[3].points == "45.25" and lines[0].points == ""


def test_statement_header_uses_the_preset_labels():
    doc = statement_doc("ky")
    assert doc.institution == OSHTU.labels.name.get("ky")
    assert doc.title == "Ведомость № 12"
    facts = dict(doc.facts)
    assert facts["Тайпа"] == "ПИ-1-24" and facts["Дисциплина"] == "Жогорку математика (MATH1)"
    assert facts["Күнү"] == "27.12.2026"  # closed at 18:30 UTC = 00:30 in Bishkek
    assert doc.signatures[0] == ("Окутуучу", "Гүлнара Ыңсанова")
    ru = statement_doc("ru")
    assert ru.columns[2] == "Ф. И. О." and ru.signatures[1][0] == "Заведующий кафедрой"


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())  # a wrapped cell reads as one line


needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="pdftotext missing: run deploy/fonts.sh (poppler-utils)")


@needs_pdftotext
def test_statement_pdf_text_has_the_kyrgyz_and_kazakh_letters(tmp_path):
    pdf = render.statement_pdf(statement_doc("ky"))
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    for letter in LETTERS:
        assert letter in text, letter
    for word in ("Өмүрбеков", "Үсөнов", "Ыңсанова", "Сәкенұлы", "Бағланқожа", "Әлібек", "Ведомость № 12",
                 OSHTU.labels.name.get("ky"), "Аты-жөнү", "Кафедра башчысы", "91.5", "FX"):
        assert word in text, word


@needs_pdftotext
def test_attendance_pdf_in_kazakh_has_the_letters(tmp_path):
    doc = render.attendance_document(KOSTANAY, report(KOSTANAY), "kk", {})
    text = pdf_text(render.table_pdf(doc), tmp_path)
    assert KOSTANAY.labels.name.get("kk").split()[0] in text
    assert "Қатысу үлесі" in text


def test_a_missing_font_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("EJOURNAL_FONT_DIR", str(tmp_path))
    monkeypatch.setattr(render.pdfmetrics, "getRegisteredFontNames", lambda: [])
    with pytest.raises(render.FontMissing) as caught:
        render.register_fonts()
    assert str(tmp_path / "DejaVuSans.ttf") in caught.value.detail


def test_statement_xlsx_has_the_rows():
    wb = load_workbook(io.BytesIO(render.statement_xlsx(statement_doc("ru"))))
    ws = wb.active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == OSHTU.labels.name.get("ru")
    header = values.index(["№", "Код", "Ф. И. О.", "Баллы", "Буквенная оценка", "Оценка (5-балльная)"])
    body = values[header + 1:header + 5]
    assert [r[1] for r in body] == ["S9", "S1", "S2", "S3"]
    assert body[2] == [3, "S2", "Түгөлбай Үсөнов", 91.5, "A", 5]
    assert any(isinstance(r[0], str) and URL in r[0] for r in values)
    assert len(ws._images) == 1  # the QR code


def test_rendered_statement_is_json_able_base64():
    out = render.render_statement(statement_doc("ky"), "pdf", "statement-12-ky")
    assert out["media_type"] == "application/pdf" and out["filename"] == "statement-12-ky.pdf"
    assert base64.b64decode(out["content_b64"]).startswith(b"%PDF")


def test_qr_drawing_covers_the_code():
    drawing = render.qr_drawing(URL)
    assert len(drawing.contents) > 20


# -- the attendance report documents -------------------------------------------------------------------------


def report(pol):
    present = next(c.key for c in pol.codes if c.counts_as == "present")
    absent = next(c.key for c in pol.codes if c.counts_as == "absent")
    rows = [domain.report_row(pol, {"group": "G1", "discipline": "D1", "teacher": "T1"}, 2,
                              {present: 3, absent: 1}),
            domain.report_row(pol, {"group": "G2", "discipline": "D1", "teacher": "T2"}, 1, {present: 2})]
    filters, _ = domain.parse_filters(group=None, date_from="2026-09-01")
    return {"filters": filters.wire(), "rows": rows, "totals": domain.totals(pol, rows)}


def test_attendance_csv_has_labels_rows_and_totals():
    doc = render.attendance_document(OSHTU, report(OSHTU), "ru", {"T1": "Гүлнара Ыңсанова", "discipline:D1": "Алгебра"})
    data = render.table_csv(doc).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0][:4] == ["Группа", "Дисциплина", "Преподаватель", "Занятия"]
    assert "Не был (НБ)" in rows[0] and rows[0][-3] == "Доля посещений"
    assert rows[1][:4] == ["G1", "Алгебра", "Гүлнара Ыңсанова", "2"] and rows[1][-3] == "75.0%"
    assert rows[-1][0] == "Итого" and rows[-1][3] == "3" and rows[-1][-3] == "83.3%"


def test_attendance_xlsx_opens_with_the_rows():
    doc = render.attendance_document(OSHTU, report(OSHTU), "ky", {})
    ws = load_workbook(io.BytesIO(render.table_xlsx(doc))).active
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(values) if r[0] == "Тайпа")
    assert values[header + 1][:4] == ["G1", "D1", "T1", 2]
    assert values[header + 3][0] == "Жыйынтык"
