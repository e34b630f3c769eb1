"""Documents: PDF (reportlab, with an embedded TTF font that has the Kyrgyz and Kazakh letters ө ү ң қ ә ғ ұ і),
XLSX (openpyxl) and CSV. Pure rendering: the caller passes everything to print, nothing here reads a database.

The font: DejaVuSans from `EJOURNAL_FONT_DIR` (default /usr/share/fonts/truetype/dejavu, Debian package
fonts-dejavu-core, installed by deploy/fonts.sh). Without it a PDF fails with an error naming the missing file:
reportlab's built-in fonts have no Cyrillic and would print black boxes.
"""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kernel.errors import Unavailable
from kernel.policy import Policy
from reports.domain import StatementLine, label, local_day, statement_lines, status_label

FONT = "EJournalSans"
FONT_BOLD = "EJournalSans-Bold"
FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class FontMissing(Unavailable):
    title = "Font missing"


def font_dir() -> str:
    return os.environ.get("EJOURNAL_FONT_DIR", "/usr/share/fonts/truetype/dejavu")


def register_fonts() -> None:
    """Register the TTF fonts once per process; a missing file is a clear error naming it."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, file in FONT_FILES.items():
        if name in registered:
            continue
        path = os.path.join(font_dir(), file)
        if not os.path.isfile(path):
            raise FontMissing(f"font file {path} is missing: install fonts-dejavu-core (deploy/fonts.sh)"
                              " or set EJOURNAL_FONT_DIR")
        pdfmetrics.registerFont(TTFont(name, path))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def document(media_type: str, filename: str, content: bytes) -> dict[str, Any]:
    """The RPC answer for a file: JSON-able, the content in base64."""
    return {"media_type": media_type, "filename": filename, "content_b64": base64.b64encode(content).decode()}


# -- QR code -------------------------------------------------------------------------------------------------


def qr_drawing(data: str, size: float = 32 * mm) -> Drawing:
    """The QR code as vector shapes (one rectangle per run of dark modules): sharp at any print size."""
    qr = segno.make(data, error="m")
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=2)]
    count = len(rows)
    module = size / count
    drawing = Drawing(size, size)
    for y, row in enumerate(rows):
        x = 0
        while x < count:
            if row[x]:
                start = x
                while x < count and row[x]:
                    x += 1
                drawing.add(Rect(start * module, size - (y + 1) * module, (x - start) * module, module,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
            else:
                x += 1
    return drawing


def qr_png(data: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


# -- PDF building blocks -------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=13, leading=16, alignment=1, spaceAfter=4),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=11, leading=14, alignment=1),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=7, leading=9),
    }


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _grid(data: list[list[Any]], widths: Sequence[float] | None, numeric_from: int) -> Table:
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (numeric_from, 1), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _pdf(story: list[Any], title: str, pagesize: tuple[float, float] = A4) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=pagesize, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=title, invariant=1)
    doc.build(story)
    return out.getvalue()


# -- the statement (ведомость) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementDocument:
    """Everything printed on a statement, already in the wanted language."""

    institution: str
    title: str                       # e.g. "Ведомость № 12"
    facts: list[tuple[str, str]]     # (label, value): group, discipline, kind, date, ...
    columns: list[str]               # №, code, full name, points, letter, 5-point grade
    lines: list[StatementLine]
    signatures: list[tuple[str, str]]  # (role label, name or "")
    signature_word: str
    verify_label: str
    verify_url: str


def statement_pdf(doc: StatementDocument) -> bytes:
    st = _styles()
    story: list[Any] = [Paragraph(_esc(doc.institution), st["head"]), Spacer(1, 3 * mm),
                        Paragraph(_esc(doc.title), st["title"]), Spacer(1, 2 * mm)]
    facts = Table([[Paragraph(f"<b>{_esc(k)}:</b> {_esc(v)}", st["body"])] for k, v in doc.facts],
                  colWidths=[125 * mm])
    facts.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    qr = Table([[qr_drawing(doc.verify_url, 30 * mm)], [Paragraph(_esc(doc.verify_label), st["small"])]],
               colWidths=[35 * mm])
    qr.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    top = Table([[facts, qr]], colWidths=[145 * mm, 35 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [top, Spacer(1, 4 * mm)]
    header = [Paragraph(f"<b>{_esc(c)}</b>", st["cell"]) for c in doc.columns]
    body = [[str(x.number), x.student, Paragraph(_esc(x.full_name), st["cell"]), x.points, x.letter, x.grade5]
            for x in doc.lines]
    story.append(_grid([header, *body], [10 * mm, 25 * mm, 70 * mm, 22 * mm, 25 * mm, 28 * mm], 3))
    story.append(Spacer(1, 10 * mm))
    sign = Table([[f"{role}:", "_" * 28, name, f"({doc.signature_word})"] for role, name in doc.signatures],
                 colWidths=[45 * mm, 50 * mm, 55 * mm, 30 * mm], rowHeights=[10 * mm] * len(doc.signatures))
    sign.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(sign)
    story += [Spacer(1, 6 * mm), Paragraph(_esc(doc.verify_url), st["small"])]
    return _pdf(story, doc.title)


def _sheet_header(ws: Any, lines: list[str], width: int) -> int:
    """Title lines merged across the table's width; returns the next free row."""
    row = 1
    for i, text in enumerate(lines):
        ws.cell(row=row, column=1, value=text).font = Font(bold=i < 2, size=12 if i < 2 else 11)
        ws.cell(row=row, column=1).alignment = Alignment(horizontal="center" if i < 2 else "left")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        row += 1
    return row + 1


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _sheet_table(ws: Any, row: int, header: list[str], body: list[list[Any]], widths: list[int]) -> int:
    for c, text in enumerate(header, start=1):
        cell = ws.cell(row=row, column=c, value=text)
        cell.font, cell.border = Font(bold=True), _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, values in enumerate(body, start=row + 1):
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value).border = _BOX
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    return row + len(body) + 1


def _number(text: str) -> Any:
    """A printed number back to a number for the spreadsheet (so that it sums); text stays text."""
    try:
        return int(text) if text.isdigit() else float(text)
    except ValueError:
        return text


def statement_xlsx(doc: StatementDocument) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = doc.title[:31]
    width = len(doc.columns)
    row = _sheet_header(ws, [doc.institution, doc.title, *[f"{k}: {v}" for k, v in doc.facts]], width)
    body = [[x.number, x.student, x.full_name, _number(x.points), x.letter, _number(x.grade5)] for x in doc.lines]
    row = _sheet_table(ws, row, doc.columns, body, [6, 14, 36, 10, 14, 14]) + 1
    for role, name in doc.signatures:
        ws.cell(row=row, column=1, value=f"{role}: ______________ {name} ({doc.signature_word})")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        row += 2
    ws.cell(row=row, column=1, value=f"{doc.verify_label}: {doc.verify_url}")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    try:
        from openpyxl.drawing.image import Image  # needs Pillow

        image = Image(io.BytesIO(qr_png(doc.verify_url, 3)))
        ws.add_image(image, f"{get_column_letter(width + 2)}1")
    except ImportError:  # pragma: no cover - the URL is printed above anyway
        pass
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- the attendance report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableDocument:
    """A titled table: the attendance report in every format."""

    institution: str
    title: str
    facts: list[tuple[str, str]]
    columns: list[str]
    rows: list[list[Any]]
    total: list[Any] | None
    numeric_from: int


def table_csv(doc: TableDocument) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(doc.columns)
    writer.writerows(doc.rows)
    if doc.total is not None:
        writer.writerow(doc.total)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read it as UTF-8


def table_xlsx(doc: TableDocument) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = doc.title[:31]
    width = len(doc.columns)
    row = _sheet_header(ws, [doc.institution, doc.title, *[f"{k}: {v}" for k, v in doc.facts]], width)
    body = [*doc.rows, *([doc.total] if doc.total is not None else [])]
    _sheet_table(ws, row, doc.columns, body, [16 if i < doc.numeric_from else 12 for i in range(width)])
    if doc.total is not None:
        for c in range(1, width + 1):
            ws.cell(row=row + len(body), column=c).font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_pdf(doc: TableDocument) -> bytes:
    st = _styles()
    page = landscape(A4)
    story: list[Any] = [Paragraph(_esc(doc.institution), st["head"]), Spacer(1, 2 * mm),
                        Paragraph(_esc(doc.title), st["title"])]
    story += [Paragraph(f"<b>{_esc(k)}:</b> {_esc(v)}", st["body"]) for k, v in doc.facts]
    story.append(Spacer(1, 4 * mm))
    usable = page[0] - 30 * mm
    text_cols = doc.numeric_from
    num_cols = len(doc.columns) - text_cols
    num_w = min(22 * mm, usable * 0.6 / max(num_cols, 1))
    text_w = (usable - num_w * num_cols) / max(text_cols, 1)
    # the header's font is as large as lets the longest word of a narrow column fit on its line
    longest = max((pdfmetrics.stringWidth(w, FONT_BOLD, 1) for c in doc.columns[text_cols:] for w in c.split()),
                  default=1.0)
    size = max(5.0, min(8.0, (num_w - 7) / longest))
    head = ParagraphStyle("th", fontName=FONT_BOLD, fontSize=size, leading=size * 1.2, alignment=1)
    header = [Paragraph(_esc(c), head) for c in doc.columns]
    body = [[Paragraph(_esc(v), st["cell"]) if i < doc.numeric_from else v for i, v in enumerate(r)]
            for r in doc.rows]
    data = [header, *body, *([doc.total] if doc.total is not None else [])]
    table = _grid(data, [text_w] * text_cols + [num_w] * num_cols, doc.numeric_from)
    if doc.total is not None:
        table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), FONT_BOLD)]))
    story.append(table)
    return _pdf(story, doc.title, page)


def render_table(doc: TableDocument, fmt: str, basename: str) -> dict[str, Any]:
    if fmt == "csv":
        return document(CSV, f"{basename}.csv", table_csv(doc))
    if fmt == "xlsx":
        return document(XLSX, f"{basename}.xlsx", table_xlsx(doc))
    return document(PDF, f"{basename}.pdf", table_pdf(doc))


def render_statement(doc: StatementDocument, fmt: str, basename: str) -> dict[str, Any]:
    if fmt == "xlsx":
        return document(XLSX, f"{basename}.xlsx", statement_xlsx(doc))
    return document(PDF, f"{basename}.pdf", statement_pdf(doc))


# -- from data to documents ----------------------------------------------------------------------------------


def statement_document(policy: Policy, statement: Mapping[str, Any], lang: str, verify_url: str,
                       names: Mapping[str, str], discipline_name: str | None) -> StatementDocument:
    """The statement as printed: grading's statement (`_statement_view`), names from the read models."""
    kind = str(statement.get("kind") or "")
    teacher = str(statement.get("posted_by") or statement.get("created_by") or "")
    discipline = str(statement.get("discipline") or "")
    day = local_day(policy, statement.get("closed_at") or statement.get("posted_at")
                    or statement.get("created_at"))
    facts = [(label(policy, "group", lang), str(statement.get("group") or "")),
             (label(policy, "discipline", lang), f"{discipline_name} ({discipline})" if discipline_name
              else discipline),
             (label(policy, "kind", lang), label(policy, kind, lang) if kind else "")]
    if day:
        facts.append((label(policy, "date", lang), day))
    columns = [label(policy, k, lang) for k in ("number", "code", "full_name", "points", "letter", "grade5")]
    return StatementDocument(
        institution=policy.labels.name.get(lang),
        title=f"{label(policy, 'statement', lang)} № {statement.get('id', '')}",
        facts=facts, columns=columns,
        lines=statement_lines(statement.get("rows") or [], names),
        signatures=[(label(policy, "teacher", lang), names.get(teacher, "")),
                    (label(policy, "head_of_department", lang), "")],
        signature_word=label(policy, "signature", lang),
        verify_label=label(policy, "verify", lang), verify_url=verify_url)


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def attendance_document(policy: Policy, report: Mapping[str, Any], lang: str,
                        names: Mapping[str, str]) -> TableDocument:
    """The attendance report as a table: one column per status of the classifier, then the shares."""
    statuses = list(report["totals"]["marks"])
    columns = [label(policy, k, lang) for k in ("group", "discipline", "teacher", "sessions")]
    columns += [status_label(policy, s, lang) for s in statuses]
    columns += [label(policy, k, lang) for k in ("total", "attendance_rate", "excused_share", "made_up_share")]

    def cells(row: Mapping[str, Any]) -> list[Any]:
        return [*[row["marks"].get(s, 0) for s in statuses], row["total"], _percent(row["attendance_rate"]),
                _percent(row["excused_share"]), _percent(row["made_up_share"])]

    rows = [[r["group"], names.get(f"discipline:{r['discipline']}") or r["discipline"],
             names.get(r["teacher"]) or r["teacher"], r["sessions"], *cells(r)] for r in report["rows"]]
    t = report["totals"]
    total = [label(policy, "total", lang), "", "", t["sessions"], *cells(t)]
    f = report["filters"]
    every = label(policy, "all", lang)
    facts = [(label(policy, k, lang), f.get(k) or every) for k in ("faculty", "group", "discipline", "teacher")]
    facts.append((label(policy, "period", lang), f"{f.get('date_from') or '…'} — {f.get('date_to') or '…'}"))
    return TableDocument(institution=policy.labels.name.get(lang), title=label(policy, "attendance_report", lang),
                         facts=facts, columns=columns, rows=rows, total=total, numeric_from=3)


# -- the journal-filling report (Appendix No. 1) ------------------------------------------------------------


@dataclass(frozen=True)
class FillingDocument:
    """Appendix No. 1 of one teacher and term, as printed and signed (001 §5.4-5.6)."""

    institution: str
    appendix: str                    # "Тиркеме №1" (001 §5.4)
    titles: list[str]                # the title in the wanted language, then in the other official one
    facts: list[tuple[str, str]]
    columns: list[str]
    rows: list[list[Any]]
    total: list[Any]
    signatures: list[tuple[str, str]]
    signature_word: str
    journal_label: str
    journal_url: str


def second_language(policy: Policy, lang: str) -> str | None:
    """The title's other language: Russian beside a state language, else the preset's first other one."""
    if lang != "ru":
        return "ru"
    return next((lg for lg in policy.languages if lg != "ru"), None)


def filling_document(policy: Policy, report: Mapping[str, Any], lang: str,
                     names: Mapping[str, str]) -> FillingDocument:
    other = second_language(policy, lang)
    titles = [label(policy, "filling_report", lang)]
    if other is not None:
        titles.append(label(policy, "filling_report", other))
    teacher = str(report["teacher"])
    period = report.get("period") or {}
    facts = [(label(policy, "teacher", lang), f"{names.get(teacher) or teacher} ({teacher})")]
    if report.get("department"):
        facts.append((label(policy, "department", lang), str(report["department"])))
    facts += [(label(policy, "term", lang), str(report.get("term") or "")),
              (label(policy, "period", lang), f"{local_day(policy, period.get('from')) or '…'} — "
                                              f"{local_day(policy, period.get('to')) or '…'}"),
              (label(policy, "generated", lang), local_day(policy, report.get("generated_at")))]
    keys = ("held", "on_time", "late", "missing", "pending", "topics_planned", "topics_recorded",
            "topics_as_planned", "topics_missing", "grades_entered", "grades_on_time", "grades_late")
    columns = [label(policy, "group", lang), label(policy, "discipline", lang), *[label(policy, k, lang)
                                                                                  for k in keys]]
    rows = [[r["group"], names.get(f"discipline:{r['discipline']}") or r["discipline"], *[r[k] for k in keys]]
            for r in report["rows"]]
    total = [label(policy, "total", lang), "", *[report["totals"][k] for k in keys]]
    return FillingDocument(
        institution=policy.labels.name.get(lang), appendix=label(policy, "appendix_1", lang), titles=titles,
        facts=facts, columns=columns, rows=rows,
        total=total,
        signatures=[(label(policy, "teacher", lang), names.get(teacher, "")),
                    (label(policy, "head_of_department", lang), "")],
        signature_word=label(policy, "signature", lang), journal_label=label(policy, "journal_link", lang),
        journal_url=str(report.get("journal_url") or ""))


def filling_pdf(doc: FillingDocument) -> bytes:
    st = _styles()
    page = landscape(A4)
    usable = page[0] - 30 * mm
    corner = ParagraphStyle("corner", parent=st["body"], alignment=2)
    story: list[Any] = [Paragraph(_esc(doc.appendix), corner), Paragraph(_esc(doc.institution), st["head"]),
                        Spacer(1, 2 * mm)]
    story += [Paragraph(_esc(t), st["title"] if i == 0 else st["head"]) for i, t in enumerate(doc.titles)]
    story.append(Spacer(1, 3 * mm))
    facts = Table([[Paragraph(f"<b>{_esc(k)}:</b> {_esc(v)}", st["body"])] for k, v in doc.facts],
                  colWidths=[usable - 45 * mm])
    facts.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    if doc.journal_url:
        qr = Table([[qr_drawing(doc.journal_url, 32 * mm)], [Paragraph(_esc(doc.journal_label), st["small"])]],
                   colWidths=[42 * mm])
        qr.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
        top = Table([[facts, qr]], colWidths=[usable - 45 * mm, 45 * mm])
        top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        story.append(top)
    else:
        story.append(facts)
    story.append(Spacer(1, 4 * mm))
    count = len(doc.columns) - 2
    num_w = min(17 * mm, usable * 0.7 / count)
    text_w = (usable - num_w * count) / 2
    head = ParagraphStyle("th", fontName=FONT_BOLD, fontSize=6.5, leading=8, alignment=1)
    header = [Paragraph(_esc(c), head) for c in doc.columns]
    body = [[Paragraph(_esc(r[0]), st["cell"]), Paragraph(_esc(r[1]), st["cell"]), *r[2:]] for r in doc.rows]
    table = _grid([header, *body, doc.total], [text_w, text_w] + [num_w] * count, 2)
    table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), FONT_BOLD)]))
    story += [table, Spacer(1, 10 * mm)]
    sign = Table([[f"{role}:", "_" * 28, name, f"({doc.signature_word})"] for role, name in doc.signatures],
                 colWidths=[55 * mm, 55 * mm, 70 * mm, 30 * mm], rowHeights=[10 * mm] * len(doc.signatures))
    sign.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(sign)
    if doc.journal_url:
        story += [Spacer(1, 6 * mm), Paragraph(_esc(doc.journal_url), st["small"])]
    return _pdf(story, doc.titles[0], page)


def render_filling(doc: FillingDocument, basename: str) -> dict[str, Any]:
    return document(PDF, f"{basename}.pdf", filling_pdf(doc))


# -- tables of the scheduled reports and the at-risk list ----------------------------------------------------


def filling_summary_document(policy: Policy, body: Mapping[str, Any], lang: str, title_key: str,
                             names: Mapping[str, str]) -> TableDocument:
    """A department's filling for a period: one row per teacher."""
    keys = ("held", "on_time", "late", "missing", "pending", "topics_recorded", "topics_missing",
            "grades_entered", "grades_late")
    columns = [label(policy, "teacher", lang), *[label(policy, k, lang) for k in keys]]
    rows = [[names.get(t["teacher"]) or t.get("teacher_name") or t["teacher"], *[t["totals"][k] for k in keys]]
            for t in body.get("teachers", [])]
    totals = [label(policy, "total", lang), *[sum(int(t["totals"][k]) for t in body.get("teachers", []))
                                              for k in keys]]
    return TableDocument(institution=policy.labels.name.get(lang), title=label(policy, title_key, lang),
                         facts=_period_facts(policy, body, lang), columns=columns, rows=rows, total=totals,
                         numeric_from=1)


def _period_facts(policy: Policy, body: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    facts = []
    scope = body.get("scope") or {}
    if scope.get("kind") and scope.get("code"):
        facts.append((label(policy, str(scope["kind"]), lang), str(scope["code"])))
    period = body.get("period") or {}
    if period:
        facts.append((label(policy, "period", lang), f"{period.get('label', '')}: {period.get('from', '…')} — "
                                                     f"{period.get('to', '…')}"))
    return facts


def at_risk_document(policy: Policy, body: Mapping[str, Any], lang: str, title_key: str) -> TableDocument:
    """The at-risk list or a curator's contact list: one row per reason, with the student's parents."""
    columns = [label(policy, k, lang) for k in ("student", "group", "discipline", "reason", "parents")]
    rows = []
    for item in body.get("items", []):
        parents = ", ".join(p["full_name"] for p in item.get("parents", []))
        for r in item.get("reasons", []):
            rows.append([f"{item.get('full_name') or ''} ({item['student']})", item.get("group") or "",
                         r.get("discipline_name") or r.get("discipline") or "", r["texts"][lang], parents])
    return TableDocument(institution=policy.labels.name.get(lang), title=label(policy, title_key, lang),
                         facts=_period_facts(policy, body, lang), columns=columns, rows=rows, total=None,
                         numeric_from=len(columns))


def quality_document(policy: Policy, body: Mapping[str, Any], lang: str) -> TableDocument:
    columns = [label(policy, k, lang) for k in ("group", "discipline", "students", "attendance_rate",
                                                 "mean_grade", "at_risk")]
    rows = [[r["group"], r.get("discipline_name") or r["discipline"], r["students"],
             "" if r["attendance_percent"] is None else f"{r['attendance_percent']}%",
             "" if r["mean_grade_percent"] is None else f"{r['mean_grade_percent']}%", r["at_risk"]]
            for r in body.get("rows", [])]
    return TableDocument(institution=policy.labels.name.get(lang), title=label(policy, "quality_report", lang),
                         facts=_period_facts(policy, body, lang), columns=columns, rows=rows, total=None,
                         numeric_from=2)
