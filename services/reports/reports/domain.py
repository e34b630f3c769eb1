"""Rules of the reports, as plain Python (no nameko, no SQLAlchemy, no I/O).

Attendance shares (RULES.md §8: the attendance report; 003 §8.2: KPI of attendance, excused absences and
make-up). Every mark counts once in the denominator; the preset's classifier says what each status counts as:
  attendance_rate = marks counting as present / all marks
  excused_share   = marks counting as excused / all marks
  made_up_share   = marks of a status only a completed make-up sets (003 §5.4.2) / all marks
A status the preset does not know (a code retired from the classifier) counts in the denominator only.
Shares are fractions 0..1 rounded half-up to 4 places; with no marks they are None (not 0: nothing is known).

Statement documents (RULES.md §8: statements are produced from the journal, approved, then closed): the rows
of grading's statement, numbered and ordered by the student's full name, with the labels in the wanted language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kernel.policy import LANGUAGES, MAKEUP, Policy

FORMATS = ("json", "csv", "xlsx", "pdf")
DOCUMENT_FORMATS = ("pdf", "xlsx")
STATEMENT_LANGUAGES = ("ky", "ru")  # RULES.md §8: statements in Kyrgyz or Russian

# Words the documents need that the preset's `labels.ui` does not carry (yet): the preset wins when it has the key.
EXTRA_LABELS: dict[str, dict[str, str]] = {
    "attendance_report": {"ky": "Катышуу боюнча отчет", "ru": "Отчёт о посещаемости",
                          "kk": "Сабаққа қатысу туралы есеп", "en": "Attendance report"},
    "sessions": {"ky": "Сабактар", "ru": "Занятия", "kk": "Сабақтар", "en": "Sessions"},
    "marks": {"ky": "Белгилер", "ru": "Отметки", "kk": "Белгілер", "en": "Marks"},
    "attendance_rate": {"ky": "Катышуу деңгээли", "ru": "Доля посещений", "kk": "Қатысу үлесі",
                        "en": "Attendance rate"},
    "excused_share": {"ky": "Себептүү үлүшү", "ru": "Доля уважительных", "kk": "Дәлелді себеп үлесі",
                      "en": "Excused share"},
    "made_up_share": {"ky": "Отработка үлүшү", "ru": "Доля отработок", "kk": "Өтелген сабақтар үлесі",
                      "en": "Made-up share"},
    "number": {"ky": "№", "ru": "№", "kk": "№", "en": "No."},
    "code": {"ky": "Коду", "ru": "Код", "kk": "Коды", "en": "Code"},
    "full_name": {"ky": "Аты-жөнү", "ru": "Ф. И. О.", "kk": "Аты-жөні", "en": "Full name"},
    "points": {"ky": "Упай", "ru": "Баллы", "kk": "Балл", "en": "Points"},
    "grade5": {"ky": "5 баллдык баа", "ru": "Оценка (5-балльная)", "kk": "5 балдық баға", "en": "5-point grade"},
    "kind": {"ky": "Түрү", "ru": "Вид", "kk": "Түрі", "en": "Kind"},
    "period": {"ky": "Мезгил", "ru": "Период", "kk": "Кезең", "en": "Period"},
    "head_of_department": {"ky": "Кафедра башчысы", "ru": "Заведующий кафедрой", "kk": "Кафедра меңгерушісі",
                           "en": "Head of department"},
    "verify": {"ky": "Электрондук түп нускасы", "ru": "Электронный оригинал", "kk": "Электрондық түпнұсқа",
               "en": "Electronic original"},
    "module1": {"ky": "1-модуль", "ru": "Модуль 1", "kk": "1-модуль", "en": "Module 1"},
    "module2": {"ky": "2-модуль", "ru": "Модуль 2", "kk": "2-модуль", "en": "Module 2"},
    "final": {"ky": "Жыйынтыктоочу", "ru": "Итоговая", "kk": "Қорытынды", "en": "Final"},
    "all": {"ky": "баары", "ru": "все", "kk": "барлығы", "en": "all"},
}


def label(policy: Policy, key: str, lang: str) -> str:
    """A word for people: the preset's `labels.ui` first, then EXTRA_LABELS, then the key itself."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    ui = policy.labels.ui.get(key)
    if ui is not None:
        return ui.get(lang)
    extra = EXTRA_LABELS.get(key)
    return extra[lang] if extra else key


def status_label(policy: Policy, status: str, lang: str) -> str:
    return policy.code(status).labels.get(lang) if policy.has_code(status) else status


# -- attendance shares ---------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    if whole <= 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def made_up_statuses(policy: Policy) -> frozenset[str]:
    """Statuses that only a completed make-up sets (003 §5.4.2: the mark becomes "make-up completed")."""
    return frozenset(c.key for c in policy.codes if MAKEUP in c.set_by)


def shares(policy: Policy, counts: Mapping[str, int]) -> dict[str, Any]:
    """Attendance rate, excused and made-up shares of marks counted by status (see the module docstring)."""
    kinds = {c.key: c.counts_as for c in policy.codes}
    made_up = made_up_statuses(policy)
    total = sum(counts.values())
    present = sum(n for s, n in counts.items() if kinds.get(s) == "present")
    excused = sum(n for s, n in counts.items() if kinds.get(s) == "excused")
    made = sum(n for s, n in counts.items() if s in made_up)
    return {"total": total, "attendance_rate": _share(present, total), "excused_share": _share(excused, total),
            "made_up_share": _share(made, total)}


def report_row(policy: Policy, key: Mapping[str, Any], sessions: int, counts: Mapping[str, int]) -> dict[str, Any]:
    marks = {c.key: int(counts.get(c.key, 0)) for c in policy.codes}
    marks.update({s: int(n) for s, n in counts.items() if s not in marks})  # retired codes stay visible
    s = shares(policy, marks)
    return {**key, "sessions": sessions, "marks": marks, "total": s["total"],
            "attendance_rate": s["attendance_rate"], "excused_share": s["excused_share"],
            "made_up_share": s["made_up_share"]}


def totals(policy: Policy, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    sessions = 0
    for row in rows:
        sessions += int(row["sessions"])
        for status, n in row["marks"].items():
            counts[status] = counts.get(status, 0) + int(n)
    return report_row(policy, {}, sessions, counts)


# -- filters -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    faculty: str | None = None
    group: str | None = None
    discipline: str | None = None
    teacher: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive, a local day of the institution

    def wire(self) -> dict[str, Any]:
        return {"faculty": self.faculty, "group": self.group, "discipline": self.discipline,
                "teacher": self.teacher,
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None}


def parse_filters(faculty: Any = None, group: Any = None, discipline: Any = None, teacher: Any = None,
                  date_from: Any = None, date_to: Any = None) -> tuple[Filters, dict[str, str]]:
    """The report's filters from JSON-able values; errors keyed by field (empty when valid)."""
    errors: dict[str, str] = {}
    codes: dict[str, str | None] = {}
    for name, value in (("faculty", faculty), ("group", group), ("discipline", discipline), ("teacher", teacher)):
        if value in (None, ""):
            codes[name] = None
        elif isinstance(value, str) and len(value) <= 64:
            codes[name] = value
        else:
            errors[name] = "a code (string, at most 64 characters)"
            codes[name] = None
    days: dict[str, date | None] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        days[name] = None
        if value in (None, ""):
            continue
        try:
            days[name] = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            pass
        if days[name] is None:
            errors[name] = "a date YYYY-MM-DD"
    if days["date_from"] and days["date_to"] and days["date_from"] > days["date_to"]:
        errors["date_to"] = "not before date_from"
    return Filters(faculty=codes["faculty"], group=codes["group"], discipline=codes["discipline"],
                   teacher=codes["teacher"], date_from=days["date_from"], date_to=days["date_to"]), errors


# -- statement documents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    number: int
    student: str
    full_name: str
    points: str
    letter: str
    grade5: str


def number_text(value: Any) -> str:
    """Points as printed: no trailing zeros (87.5, 90), empty when absent."""
    if value is None or value == "":
        return ""
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    text = format(d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def statement_lines(rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[StatementLine]:
    """The statement's table: ordered by full name (then code), numbered from 1; a student the read model does
    not know yet is printed by code."""
    ordered = sorted(rows, key=lambda r: (names.get(str(r.get("student")), "").casefold(), str(r.get("student"))))
    return [StatementLine(i, str(r.get("student")), names.get(str(r.get("student")), ""),
                          number_text(r.get("points")), str(r.get("letter") or ""),
                          "" if r.get("grade5") is None else str(r.get("grade5")))
            for i, r in enumerate(ordered, start=1)]


def local_day(policy: Policy, instant: Any) -> str:
    """An ISO instant as the institution's local date dd.mm.yyyy; empty when absent or not a date."""
    if not isinstance(instant, str) or not instant:
        return ""
    try:
        moment = datetime.fromisoformat(instant)
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(policy.tz)
    return moment.strftime("%d.%m.%Y")
