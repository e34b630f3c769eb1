"""The portal adapters' rules, without I/O (issue 7 item 1): reading the spreadsheets AVN and UNIVER+ export (CSV
in UTF-8 or cp1251 with `;`, `,` or tabs, or XLSX) and turning their rows into the JSON bodies of API.md "Loading
the year", remembering which row and column each value came from, so that an error of the import, wherever it is
found (here, or by the service behind the JSON route), names the place in the file the user can fix. And writing
statements and attendance back in the same kind of files. Which header means which field is data:
portal_columns.yaml beside this module."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from kernel.errors import ValidationFailed
from kernel.validation import Errors, reject

MAPPING_FILE = Path(__file__).with_name("portal_columns.yaml")
LANGS = ("ru", "ky", "kk", "en")
IMPORT_KINDS = ("contingent", "load", "timetable")
EXPORT_KINDS = ("statement", "attendance")
MAX_ROWS = 50_000  # a university's contingent is a few tens of thousands of rows; more is not a portal export
HEADER_SEARCH_ROWS = 20  # portals put a title and a date above the header row
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


# -- the mapping, as data ----------------------------------------------------------------------------------------
def normalize(text: Any) -> str:
    """A header or a value as compared: case, spaces, ё/е, a trailing ':' or '*' do not matter."""
    s = str(text).replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е").strip().lower()
    s = re.sub(r"\s+", " ", s).rstrip(":*").strip()
    return s


@dataclass(frozen=True)
class Column:
    field: str
    labels: Mapping[str, str]
    names: frozenset[str]  # every normalized header that means this column
    required: bool = False

    def label(self, lang: str = "ru") -> str:
        return self.labels.get(lang) or self.labels["ru"]


@dataclass(frozen=True)
class Layout:
    portal: str
    kind: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)


@dataclass(frozen=True)
class ColumnMapping:
    layouts: Mapping[tuple[str, str], Layout]
    values: Mapping[str, Mapping[str, tuple[Mapping[str, str], frozenset[str]]]]  # vocabulary -> value -> labels
    csv: Mapping[str, Mapping[str, str]]
    portals: tuple[str, ...]


def _entry(spec: Mapping[str, Any], where: str) -> tuple[dict[str, str], frozenset[str]]:
    labels = {lang: str(spec[lang]) for lang in LANGS if spec.get(lang) is not None}
    if "ru" not in labels:
        raise ValueError(f"{MAPPING_FILE.name}: {where} has no ru label")
    names = {normalize(v) for v in labels.values()} | {normalize(a) for a in spec.get("aliases") or ()}
    return labels, frozenset(names)


def parse_mapping(data: Mapping[str, Any]) -> ColumnMapping:
    """The mapping file as checked data: an alias meaning two fields of one kind (or two values of one vocabulary)
    is refused when the gateway starts, not found by a user."""
    layouts: dict[tuple[str, str], Layout] = {}
    for portal, kinds in data["portals"].items():
        for kind in (*IMPORT_KINDS, *EXPORT_KINDS):
            columns = []
            owner: dict[str, str] = {}
            for name, spec in kinds[kind].items():
                labels, names = _entry(spec, f"{portal}.{kind}.{name}")
                for n in names:
                    if owner.setdefault(n, name) != name:
                        raise ValueError(f"{MAPPING_FILE.name}: {portal}.{kind}: {n!r} means {owner[n]} and {name}")
                columns.append(Column(name, labels, names, bool(spec.get("required"))))
            layouts[(portal, kind)] = Layout(portal, kind, tuple(columns))
    values: dict[str, dict[str, tuple[Mapping[str, str], frozenset[str]]]] = {}
    for vocabulary, entries in data["values"].items():
        seen: dict[str, str] = {}
        values[vocabulary] = {}
        for key, spec in entries.items():
            labels, names = _entry(spec, f"values.{vocabulary}.{key}")
            for n in names | {normalize(key)}:
                if seen.setdefault(n, key) != key:
                    raise ValueError(f"{MAPPING_FILE.name}: values.{vocabulary}: {n!r} means {seen[n]} and {key}")
            values[vocabulary][key] = (labels, names | {normalize(key)})
    csv_formats = {p: dict(kinds.get("csv") or {}) for p, kinds in data["portals"].items()}
    return ColumnMapping(layouts, values, csv_formats, tuple(data["portals"]))


@cache
def mapping() -> ColumnMapping:
    return parse_mapping(yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8")))


def portal_of(value: str | None) -> str:
    portals = mapping().portals
    if value not in portals:
        raise ValidationFailed(f"portal: one of {', '.join(portals)}", {"portal": [f"one of {', '.join(portals)}"]})
    return value


def layout(portal: str, kind: str) -> Layout:
    return mapping().layouts[(portal_of(portal), kind)]


def value_key(vocabulary: str, cell: Any) -> str | None:
    wanted = normalize(cell)
    return next((key for key, (_, names) in mapping().values[vocabulary].items() if wanted in names), None)


def value_label(vocabulary: str, key: str, lang: str) -> str:
    labels = mapping().values[vocabulary].get(key, ({}, frozenset()))[0]
    return labels.get(lang) or labels.get("ru") or key


# -- reading a file ----------------------------------------------------------------------------------------------
def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(f"file: {message}", {"file": [message]})


def decode_text(raw: bytes) -> str:
    """CSV text: a BOM says UTF-8 or UTF-16; otherwise UTF-8 if it is valid, else cp1251 (what Excel on a Russian
    Windows writes)."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                raise _file_error(f"the file says {encoding} but is not") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def read_csv(raw: bytes) -> list[list[Any]]:
    text = decode_text(raw)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        return [row for _, row in zip(range(MAX_ROWS + HEADER_SEARCH_ROWS + 1),
                                      csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), strict=False)]
    except csv.Error as exc:
        raise _file_error(f"not a readable CSV file ({exc})") from None


def read_xlsx(raw: bytes) -> list[list[Any]]:
    """The first sheet's cells (read-only: a large sheet is streamed, not built in memory)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _file_error(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        rows: list[list[Any]] = []
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
            rows.append(list(values))
        return rows
    except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid zip: a bad file, not our failure
        raise _file_error(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()


def read_rows(raw: bytes) -> list[list[Any]]:
    """Any of the portals' files, recognised by their content rather than by a name or media type."""
    if not raw.strip():
        raise _file_error("the file is empty")
    if raw.startswith(b"PK\x03\x04"):
        return read_xlsx(raw)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error("an old Excel .xls workbook: save it as .xlsx or .csv")
    return read_csv(raw)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).replace("\u00a0", " ").strip()


@dataclass
class Table:
    """The data rows of a file, each cell keyed by the field its column means."""

    layout: Layout
    headers: dict[str, str]  # field -> the header as the file writes it
    rows: list[tuple[int, dict[str, Any]]]  # (row number as a spreadsheet shows it, field -> cell)

    def place(self, row: int | None, field_name: str | None) -> str:
        column = f"column «{self.headers.get(field_name) or self.layout.column(field_name).label()}»" \
            if field_name else None
        return ", ".join(p for p in (f"row {row}" if row else None, column) if p)


def _header_row(rows: list[list[Any]], lay: Layout) -> tuple[int, list[Any], dict[int, Column]]:
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found: dict[int, Column] = {}
        for position, cell in enumerate(cells):
            name = normalize(cell_text(cell))
            column = next((c for c in lay.columns if name and name in c.names), None)
            if column is not None and column not in found.values():
                found[position] = column
        if len(found) >= 2:
            return index, cells, found
    expected = ", ".join(f"«{c.label()}»" for c in lay.columns if c.required)
    raise _file_error(f"no header row found in the first {HEADER_SEARCH_ROWS} rows; expected columns {expected}")


def locate(rows: list[list[Any]], lay: Layout) -> Table:
    """Find the header row (the first of the top rows naming two known columns), map its columns to fields,
    and keep the non-empty rows under it. A required column that is missing is a 422 naming it."""
    index, cells, found = _header_row(rows, lay)
    headers = {c.field: cell_text(cells[p]) for p, c in found.items()}
    errors = Errors()
    for c in lay.columns:
        if c.required and c.field not in headers:
            names = ", ".join(sorted({c.label(lang) for lang in LANGS}))
            errors.add(f"column «{c.label()}»", f"the file has no such column (any of: {names})")
    reject(errors)
    data = []
    for number, cells in enumerate(rows[index + 1:], start=index + 2):
        values = {c.field: cells[p] if p < len(cells) else None for p, c in found.items()}
        if all(cell_text(v) == "" for v in values.values()):
            continue
        for name, value in values.items():
            if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold it: refused, not a 500
                errors.add(Table(lay, headers, []).place(number, name), "contains a NUL character")
        data.append((number, values))
    reject(errors)
    if len(data) > MAX_ROWS:
        raise _file_error(f"more than {MAX_ROWS} rows")
    if not data:
        raise _file_error("the file has a header row but no data rows")
    return Table(lay, headers, data)


# -- where each value of a JSON body came from -----------------------------------------------------------------------
@dataclass
class Origin:
    """For each object of the body (`students[3]`), the file row it came from and which column gave which field,
    so that the import's errors (`students[3].group`) become `row 7, column «Группа»`."""

    table: Table
    objects: dict[str, tuple[int | None, dict[str, str]]] = field(default_factory=dict)

    def note(self, path: str, row: int | None, fields: Mapping[str, str]) -> None:
        self.objects.setdefault(path, (row, dict(fields)))

    PATH = re.compile(r"^([A-Za-z_]+(?:\[\d+\])?)(?:\.([A-Za-z_]+))?")

    def place(self, key: str) -> str:
        match = self.PATH.match(key)
        if match is None or match.group(1) not in self.objects:
            return key
        row, fields = self.objects[match.group(1)]
        source = fields.get(match.group(2) or "")
        if source is not None and source.startswith("parameter "):
            return source
        where = self.table.place(row, source) if source else self.table.place(row, None)
        return where or key

    def translate(self, exc: ValidationFailed) -> ValidationFailed:
        errors: dict[str, list[str]] = {}
        for key, messages in (exc.errors or {}).items():
            errors.setdefault(self.place(key), []).extend(messages if isinstance(messages, list) else [messages])
        first = next(iter(errors.items()), None)
        detail = f"{first[0]}: {first[1][0]}" if first else exc.detail
        if first and len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return ValidationFailed(detail, errors)


# -- rows into the JSON bodies of API.md -------------------------------------------------------------------------
def _text(table: Table, errors: Errors, row: int, values: Mapping[str, Any], name: str,
          required: bool = False) -> str | None:
    text = cell_text(values.get(name))
    if not text:
        if required:
            errors.add(table.place(row, name), "empty")
        return None
    return text


def _same(table: Table, errors: Errors, seen: dict[str, tuple[int, dict[str, Any]]], key: str, row: int,
          item: dict[str, Any], fields: Mapping[str, str]) -> bool:
    """Whether `item` is new; a later row that says something else about the same code is an error at that row."""
    if key not in seen:
        seen[key] = (row, item)
        return True
    first_row, first = seen[key]
    for name, column in fields.items():
        if name in item and item[name] != first.get(name):
            errors.add(table.place(row, column), f"{item[name]!r} differs from row {first_row} ({first.get(name)!r})")
    return False


def contingent_body(table: Table, known: Callable[[str], Mapping[str, Any] | None] = lambda code: None
                    ) -> tuple[dict[str, Any], Origin]:
    """Student rows (with their group, and where the file has them its department and faculty) as the body of
    `POST /api/v1/import/contingent`. What the file has no column for is not taken as "none": a student already
    known (`known(code)`: its `login` and `subgroup`) keeps them; a new one logs in with its code in lower case."""
    errors, origin = Errors(), Origin(table)
    body: dict[str, list[dict[str, Any]]] = {"faculties": [], "departments": [], "groups": [], "students": []}
    seen: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {k: {} for k in body}
    for row, values in table.rows:
        code = _text(table, errors, row, values, "code", True)
        full_name = _text(table, errors, row, values, "full_name", True)
        group = _text(table, errors, row, values, "group", True)
        faculty_name = _text(table, errors, row, values, "faculty_name")
        faculty = _text(table, errors, row, values, "faculty") or faculty_name
        department_name = _text(table, errors, row, values, "department_name")
        department = _text(table, errors, row, values, "department") or department_name
        if faculty:
            f_cols = {"code": "faculty" if "faculty" in table.headers else "faculty_name",
                      "name": "faculty_name" if faculty_name else "faculty"}
            item = {"code": faculty, "name": faculty_name or faculty}
            if _same(table, errors, seen["faculties"], faculty, row, item, f_cols):
                origin.note(f"faculties[{len(body['faculties'])}]", row, f_cols)
                body["faculties"].append(item)
        if department:
            d_cols = {"code": "department" if "department" in table.headers else "department_name",
                      "name": "department_name" if department_name else "department",
                      "faculty": "faculty" if "faculty" in table.headers else "faculty_name"}
            item = {"code": department, "name": department_name or department, "faculty": faculty}
            if faculty is None:
                errors.add(table.place(row, "faculty_name"), "a department needs its faculty")
            elif _same(table, errors, seen["departments"], department, row, item, d_cols):
                origin.note(f"departments[{len(body['departments'])}]", row, d_cols)
                body["departments"].append(item)
        if group and department:
            course_text = _text(table, errors, row, values, "course", True)
            course = int(course_text) if course_text and course_text.isdigit() else None
            if course_text and course is None:
                errors.add(table.place(row, "course"), f"{course_text!r} is not a whole number")
            g_cols = {"code": "group", "course": "course", "subgroups": "subgroup",
                      "department": "department" if "department" in table.headers else "department_name"}
            item = {"code": group, "department": department, "course": course, "subgroups": []}
            if _same(table, errors, seen["groups"], group, row, item, {k: v for k, v in g_cols.items()
                                                                      if k != "subgroups"}):
                origin.note(f"groups[{len(body['groups'])}]", row, g_cols)
                body["groups"].append(item)
        before = known(code) if code and ("subgroup" not in table.headers or "login" not in table.headers) else None
        subgroup = _text(table, errors, row, values, "subgroup") if "subgroup" in table.headers else (
            (before or {}).get("subgroup"))
        if group and subgroup:
            listed = next((g for g in body["groups"] if g["code"] == group), None)
            if listed is not None and subgroup not in listed["subgroups"]:
                listed["subgroups"].append(subgroup)
        if code:
            login = _text(table, errors, row, values, "login")
            s_cols = {"code": "code", "full_name": "full_name", "group": "group", "subgroup": "subgroup",
                      "login": "login" if login else "code"}
            item = {"code": code, "full_name": full_name, "group": group, "subgroup": subgroup,
                    "login": login or (before or {}).get("login") or code.lower()}
            if _same(table, errors, seen["students"], code, row, item, {"code": "code"}):
                origin.note(f"students[{len(body['students'])}]", row, s_cols)
                body["students"].append(item)
            else:
                errors.add(table.place(row, "code"), f"student {code!r} repeats row {seen['students'][code][0]}")
    reject(errors)
    for g in body["groups"]:
        g["subgroups"].sort()
    return {k: v for k, v in body.items() if v}, origin


def load_body(table: Table) -> tuple[dict[str, Any], Origin]:
    """Teaching-load rows (a discipline, and where the row has a teacher, who teaches it to which group) as the body
    of `POST /api/v1/import/load`. A discipline is listed once; rows that repeat it must agree."""
    errors, origin = Errors(), Origin(table)
    body: dict[str, list[dict[str, Any]]] = {"disciplines": [], "assignments": []}
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    describes = any(f in table.headers for f in ("discipline_name", "control", "credits"))
    for row, values in table.rows:
        code = _text(table, errors, row, values, "discipline", True)
        if code and describes:
            item: dict[str, Any] = {"code": code, "name": _text(table, errors, row, values, "discipline_name", True)}
            control_text = _text(table, errors, row, values, "control", True)
            item["control"] = value_key("control", control_text) if control_text else None
            if control_text and item["control"] is None:
                errors.add(table.place(row, "control"), f"{control_text!r} is not a form of control "
                           f"({', '.join(value_label('control', k, 'ru') for k in ('exam', 'credit'))})")
            credits_text = _text(table, errors, row, values, "credits", True)
            item["credits"] = _number(credits_text)
            if credits_text and item["credits"] is None:
                errors.add(table.place(row, "credits"), f"{credits_text!r} is not a whole number")
            cols = {"code": "discipline", "name": "discipline_name", "control": "control", "credits": "credits"}
            if _same(table, errors, seen, code, row, item, cols):
                origin.note(f"disciplines[{len(body['disciplines'])}]", row, cols)
                body["disciplines"].append(item)
        teacher = _text(table, errors, row, values, "teacher")
        if code and teacher:
            kind = _kind(table, errors, row, values)
            a_cols = {"teacher": "teacher", "discipline": "discipline", "group": "group", "kind": "kind",
                      "subgroup": "subgroup"}
            origin.note(f"assignments[{len(body['assignments'])}]", row, a_cols)
            body["assignments"].append({"teacher": teacher, "discipline": code,
                                        "group": _text(table, errors, row, values, "group", True), "kind": kind,
                                        "subgroup": _text(table, errors, row, values, "subgroup")})
    reject(errors)
    return {k: v for k, v in body.items() if v}, origin


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _kind(table: Table, errors: Errors, row: int, values: Mapping[str, Any]) -> str | None:
    text = _text(table, errors, row, values, "kind", True)
    kind = value_key("kind", text) if text else None
    if text and kind is None:
        known = ", ".join(value_label("kind", k, "ru") for k in mapping().values["kind"])
        errors.add(table.place(row, "kind"), f"{text!r} is not a kind of session ({known})")
    return kind


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y.%m.%d")
TIME_RANGE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::\d{2})?\s*(?:[-–—]\s*(\d{1,2})[:.](\d{2})(?::\d{2})?)?\s*$")


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_times(value: Any) -> tuple[time, time | None] | None:
    """A start time, or a range `09:00-10:20` (its end too)."""
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0), None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0), None
    match = TIME_RANGE.match(cell_text(value))
    if match is None:
        return None
    try:
        start = time(int(match.group(1)), int(match.group(2)))
        end = time(int(match.group(3)), int(match.group(4))) if match.group(3) else None
    except ValueError:
        return None
    return start, end


def timetable_body(table: Table, tz: ZoneInfo, term: str | None = None, starts: date | None = None,
                   ends: date | None = None) -> tuple[dict[str, Any], Origin]:
    """Timetable rows as the body of `POST /api/v1/import/timetable`. Times are the institution's local time; the
    duration is a column or the end of a time range. Without a session ID column a row's `ref` is made from what
    the session is (term, group, subgroup, discipline, kind, start), so the same file twice is the same sessions.
    The term is the `term` parameter or column; its dates the parameters, else the first and last session."""
    errors, origin = Errors(), Origin(table)
    sessions: list[dict[str, Any]] = []
    terms: dict[str, int] = {}
    for row, values in table.rows:
        if term is None and (t := _text(table, errors, row, values, "term")):
            terms.setdefault(t, row)
        day_text = values.get("date")
        day = parse_date(day_text)
        if day is None:
            errors.add(table.place(row, "date"), f"{cell_text(day_text)!r} is not a date (ДД.ММ.ГГГГ or ГГГГ-ММ-ДД)"
                       if cell_text(day_text) else "empty")
        times = parse_times(values.get("time"))
        if times is None:
            errors.add(table.place(row, "time"), f"{cell_text(values.get('time'))!r} is not a time (ЧЧ:ММ)"
                       if cell_text(values.get("time")) else "empty")
        minutes = None
        minutes_text = _text(table, errors, row, values, "minutes")
        minutes_column = "minutes"
        if minutes_text:
            minutes = _number(minutes_text)
            if minutes is None:
                errors.add(table.place(row, "minutes"), f"{minutes_text!r} is not a whole number of minutes")
        elif times is not None:
            end = times[1]
            if end is None and cell_text(values.get("end_time")):
                end_times = parse_times(values.get("end_time"))
                end = end_times[0] if end_times else None
                minutes_column = "end_time"
                if end is None:
                    errors.add(table.place(row, "end_time"), f"{cell_text(values.get('end_time'))!r} is not a time")
            elif end is not None:
                minutes_column = "time"
            if end is not None:
                minutes = int((datetime.combine(date.min, end) - datetime.combine(date.min, times[0]))
                              .total_seconds() // 60)
            elif "minutes" not in errors.by_field:
                errors.add(table.place(row, "minutes"), "give the duration, an end time, or a range 09:00-10:20")
        kind = _kind(table, errors, row, values)
        item: dict[str, Any] = {
            "discipline": _text(table, errors, row, values, "discipline", True),
            "group": _text(table, errors, row, values, "group", True),
            "subgroup": _text(table, errors, row, values, "subgroup"),
            "kind": kind, "teacher": _text(table, errors, row, values, "teacher", True),
            "starts_at": datetime.combine(day, times[0], tz).isoformat() if day and times else None,
            "minutes": minutes, "room": _text(table, errors, row, values, "room"),
            "_day": day,
        }
        item["ref"] = _text(table, errors, row, values, "ref")
        origin.note(f"sessions[{len(sessions)}]", row, {
            "ref": "ref" if item["ref"] else "date", "discipline": "discipline", "group": "group",
            "subgroup": "subgroup", "kind": "kind", "teacher": "teacher", "starts_at": "time",
            "minutes": minutes_column, "room": "room"})
        sessions.append(item)
    if term is None:
        if len(terms) > 1:
            (_, first), (other, row) = list(terms.items())[:2]
            errors.add(table.place(row, "term"), f"{other!r}: one file is one term (row {first} names another)")
        elif not terms:
            errors.add("parameter «term»", "name the term: a `term` parameter or a column "
                                            f"«{table.layout.column('term').label()}»")
        term = next(iter(terms), None)
    reject(errors)
    days = [s["_day"] for s in sessions]
    for s in sessions:
        day = s.pop("_day")
        if s["ref"] is None:
            what = f"{term}|{s['group']}|{s['subgroup'] or ''}|{s['discipline']}|{s['kind']}|{day}|{s['starts_at']}"
            s["ref"] = f"{table.layout.portal}:{hashlib.sha256(what.encode()).hexdigest()[:24]}"
    term_fields = {"code": "term" if terms else "parameter «term»", "starts": "parameter «term_starts»",
                   "ends": "parameter «term_ends»"}
    origin.note("term", terms.get(term) if term else None, term_fields)
    first, last = starts or min(days), ends or max(days)
    body = {"term": {"code": term, "starts": first.isoformat(), "ends": last.isoformat()}, "sessions": sessions}
    return body, origin


# -- writing files back ----------------------------------------------------------------------------------------------
def write_table(lay: Layout, rows: Iterable[Mapping[str, Any]], fmt: str, lang: str = "ru") -> bytes:
    """A header row in the portal's words (in `lang`), then the rows, as the portal's CSV or as XLSX."""
    header = [c.label(lang) for c in lay.columns]
    body = [[row.get(c.field) for c in lay.columns] for row in rows]
    if fmt == "csv":
        style = mapping().csv.get(lay.portal, {})
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=style.get("delimiter", ";"), lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in r] for r in body])
        return out.getvalue().encode(style.get("encoding", "utf-8-sig"), errors="replace")
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = lay.kind
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in body:
        sheet.append(r)
    for index, label in enumerate(header, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = max(10, min(40, len(label) + 4))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def media_type(fmt: str, portal: str) -> str:
    if fmt == "xlsx":
        return XLSX
    encoding = mapping().csv.get(portal, {}).get("encoding", "utf-8-sig")
    return f"{CSV}; charset={'utf-8' if encoding.startswith('utf-8') else encoding}"
