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

Read models are applied in any order (see `newer`, `merge_entry`, `merge_grade`, `merge_case`): each rule keeps the
newest value by the event's time, so replaying the event logs while live events arrive gives the same tables.

The journal-filling report ("Appendix No. 1", RULES.md §8; 001 §5.4-5.6) per teacher and term: sessions held,
attendance entered on time, late (after the preset's `attendance_entry` window, as attendance flagged it) or
missing (the window closed with no entry), topics recorded against the calendar-thematic plan, grades entered on
time (as grading flagged them against `grade_entry`).

The at-risk forecast (RULES.md §4: forecasting students' results, 001 §2.10, 002 §2.7; curators contact parents,
000 §5, 002 §7.6), per student and discipline, with the preset's `at_risk` thresholds:
- attendance: sessions counting as present over sessions held less those counting as excused (as grading counts
  attendance for the rating), below `at_risk.attendance_percent` once `at_risk.min_sessions` were held;
- projection: the rating components with data so far (grading's rule: attendance share, mean of value/max of
  current work, sum/sum of a control) earn `max x share`; the trend is the share of those maxima the student
  earned, and the projected total assumes the same share in the components still to come; below
  `at_risk.rating_points` it is a risk. Only once a graded (not attendance) component has data.

Scheduled reports (RULES.md §8: 001 §6.1-6.2 weekly, 002 §6.1-6.2 monthly, each semester and year): the last
finished period of each cadence in the preset's `reports`; a semester runs 1 Sep - 31 Jan and 1 Feb - 31 Aug,
the academic year 1 Sep - 31 Aug, a week Monday to Sunday, two weeks from Monday 1 Jan 2001.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kernel.errors import NotFound, ValidationFailed
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
    # the journal-filling report (Appendix No. 1)
    "appendix_1": {"ky": "Тиркеме №1", "ru": "Приложение № 1", "kk": "№1 қосымша", "en": "Appendix No. 1"},
    "term": {"ky": "Окуу мөөнөтү", "ru": "Период обучения", "kk": "Оқу кезеңі", "en": "Term"},
    "held": {"ky": "Өтүлдү", "ru": "Проведено", "kk": "Өткізілді", "en": "Held"},
    "on_time": {"ky": "Өз убагында", "ru": "Вовремя", "kk": "Уақытында", "en": "On time"},
    "late": {"ky": "Кечиктирилген", "ru": "С опозданием", "kk": "Кешіктірілген", "en": "Late"},
    "missing": {"ky": "Толтурулган эмес", "ru": "Не заполнено", "kk": "Толтырылмаған", "en": "Missing"},
    "pending": {"ky": "Мөөнөтү бүтө элек", "ru": "Срок не истёк", "kk": "Мерзімі өтпеген", "en": "Window open"},
    "topics_planned": {"ky": "Пландагы темалар", "ru": "Темы по плану", "kk": "Жоспардағы тақырыптар",
                       "en": "Topics planned"},
    "topics_recorded": {"ky": "Жазылган темалар", "ru": "Темы записаны", "kk": "Жазылған тақырыптар",
                        "en": "Topics recorded"},
    "topics_as_planned": {"ky": "Планга ылайык", "ru": "По плану", "kk": "Жоспар бойынша", "en": "As planned"},
    "topics_missing": {"ky": "Темасы жок", "ru": "Без темы", "kk": "Тақырыбы жоқ", "en": "No topic"},
    "grades_entered": {"ky": "Коюлган баалар", "ru": "Выставлено оценок", "kk": "Қойылған бағалар",
                       "en": "Grades entered"},
    "grades_on_time": {"ky": "Баалар өз убагында", "ru": "Оценки вовремя", "kk": "Бағалар уақытында",
                       "en": "Grades on time"},
    "grades_late": {"ky": "Баалар кечиктирилген", "ru": "Оценки с опозданием", "kk": "Бағалар кешіктірілген",
                    "en": "Grades late"},
    "journal_link": {"ky": "Электрондук журнал (текшерүү үчүн QR код)",
                     "ru": "Электронный журнал (QR-код для проверки)",
                     "kk": "Электрондық журнал (тексеруге арналған QR коды)",
                     "en": "Electronic journal (QR code for inspection)"},
    "generated": {"ky": "Түзүлдү", "ru": "Сформирован", "kk": "Жасалды", "en": "Generated"},
    # the at-risk forecast and the curator's contact list
    "at_risk_report": {"ky": "Тобокелдик тобундагы студенттер", "ru": "Студенты группы риска",
                       "kk": "Тәуекел тобындағы білім алушылар", "en": "Students at risk"},
    "contact_list": {"ky": "Ата-энелер менен байланышуу тизмеси", "ru": "Список для связи с родителями",
                     "kk": "Ата-аналармен байланыс тізімі", "en": "Parents to contact"},
    "parents": {"ky": "Ата-энелер", "ru": "Родители", "kk": "Ата-аналар", "en": "Parents"},
    "reason": {"ky": "Себеби", "ru": "Причина", "kk": "Себебі", "en": "Reason"},
    "risk_attendance": {
        "ky": "Катышуу {rate}% — белгиленген {threshold}% чектен төмөн ({held} сабактан {earned} катышты)",
        "ru": "Посещаемость {rate}% ниже порога {threshold}% (посещено {earned} из {held} занятий)",
        "kk": "Қатысу {rate}% — белгіленген {threshold}% шегінен төмен ({held} сабақтың {earned} қатысты)",
        "en": "Attendance {rate}% is below the {threshold}% threshold ({earned} of {held} sessions attended)"},
    "risk_projection": {
        "ky": "Болжолдонгон жыйынтык {projected} упай — {threshold} упайдан төмөн (азыр {earned}/{observed})",
        "ru": "Прогноз итогового балла {projected} ниже {threshold} (сейчас {earned} из {observed})",
        "kk": "Болжамды қорытынды {projected} балл — {threshold} балдан төмен (қазір {earned}/{observed})",
        "en": "Projected total {projected} is below {threshold} points (so far {earned} of {observed})"},
    # scheduled reports
    "quality_report": {"ky": "Билим берүүнүн сапаты боюнча отчет", "ru": "Отчёт о качестве обучения",
                       "kk": "Білім беру сапасы туралы есеп", "en": "Quality report"},
    "filling_check": {"ky": "Журналдын толтурулушун текшерүү", "ru": "Контроль заполнения журнала",
                      "kk": "Журналдың толтырылуын бақылау", "en": "Journal filling check"},
    "students": {"ky": "Студенттер", "ru": "Студенты", "kk": "Білім алушылар", "en": "Students"},
    "mean_grade": {"ky": "Орточо баа, %", "ru": "Средний балл, %", "kk": "Орташа баға, %", "en": "Mean grade, %"},
    "at_risk": {"ky": "Тобокелдикте", "ru": "В группе риска", "kk": "Тәуекелде", "en": "At risk"},
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
    """part / whole to four places, half up. In integers (a report has thousands of rows, each with three shares):
    the same float as the Decimal rounding, which the rare negative part still takes."""
    if whole <= 0:
        return None
    if part < 0:
        return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    return ((20000 * part + whole) // (2 * whole)) / 10000


def made_up_statuses(policy: Policy) -> frozenset[str]:
    """Statuses that only a completed make-up sets (003 §5.4.2: the mark becomes "make-up completed")."""
    return frozenset(c.key for c in policy.codes if MAKEUP in c.set_by)


@dataclass(frozen=True)
class Classes:
    """The preset's codes as the shares count them, worked out once for a report's many rows."""

    keys: tuple[str, ...]
    present: frozenset[str]
    excused: frozenset[str]
    made_up: frozenset[str]


def classes(policy: Policy) -> Classes:
    return Classes(tuple(c.key for c in policy.codes),
                   frozenset(c.key for c in policy.codes if c.counts_as == "present"),
                   frozenset(c.key for c in policy.codes if c.counts_as == "excused"), made_up_statuses(policy))


def shares(policy: Policy, counts: Mapping[str, int], by: Classes | None = None) -> dict[str, Any]:
    """Attendance rate, excused and made-up shares of marks counted by status (see the module docstring)."""
    by = by or classes(policy)
    total = present = excused = made = 0
    for s, n in counts.items():
        total += n
        if s in by.present:
            present += n
        elif s in by.excused:
            excused += n
        if s in by.made_up:
            made += n
    return {"total": total, "attendance_rate": _share(present, total), "excused_share": _share(excused, total),
            "made_up_share": _share(made, total)}


def report_row(policy: Policy, key: Mapping[str, Any], sessions: int, counts: Mapping[str, int],
               by: Classes | None = None) -> dict[str, Any]:
    by = by or classes(policy)
    marks = {k: int(counts.get(k, 0)) for k in by.keys}
    marks.update({s: int(n) for s, n in counts.items() if s not in marks})  # retired codes stay visible
    s = shares(policy, marks, by)
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
    """The report's filters from JSON-able values; errors keyed by the query parameter (`from`, `to`: API.md),
    empty when valid."""
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
    for name, param, value in (("date_from", "from", date_from), ("date_to", "to", date_to)):
        days[name] = None
        if value in (None, ""):
            continue
        try:
            days[name] = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            pass
        if days[name] is None:
            errors[param] = "a date YYYY-MM-DD"
    if days["date_from"] and days["date_to"] and days["date_from"] > days["date_to"]:
        errors["to"] = "not before from"
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


# -- applying events in any order ----------------------------------------------------------------------------


def newer(stored_at: datetime | None, at: datetime) -> bool:
    """Whether an event of time `at` may set a value stored by an event of time `stored_at` (not older wins)."""
    return stored_at is None or stored_at <= at


@dataclass(frozen=True)
class Entry:
    """A session's first attendance entry by its teacher and whether it was late (003 §4.2.1): set once."""

    first_entry_at: datetime | None
    late: bool | None


def merge_entry(stored: Entry, first_entry_at: datetime | None, late: Any) -> Entry:
    """Attendance sets the first entry once and every later event repeats it; an event from before the entry
    (a check-in) knows none. Whatever the order, the entry that is known stays."""
    if stored.first_entry_at is not None or first_entry_at is None:
        return stored
    return Entry(first_entry_at, bool(late))


@dataclass(frozen=True)
class GradeState:
    value: float
    late: bool
    first_at: datetime
    at: datetime
    role: str | None
    reason: str | None
    approval: str | None
    changes: int


def merge_grade(stored: GradeState | None, value: float, late: bool, at: datetime, role: str | None,
                reason: str | None, approval: str | None) -> GradeState:
    """`grade.recorded` for one student: the newest value wins; a late first entry stays late (grading flags it
    only on the first entry, 003 §4.3.1); more than one change means the grade was corrected."""
    if stored is None:
        return GradeState(value, late, at, at, role, reason, approval, 1)
    keep = stored.at > at
    return GradeState(
        value=stored.value if keep else value, late=stored.late or late, first_at=min(stored.first_at, at),
        at=max(stored.at, at), role=stored.role if keep else role, reason=stored.reason if keep else reason,
        approval=stored.approval if keep else approval, changes=stored.changes + 1)


def merge_case(stored: Mapping[str, Any] | None, versions: Mapping[str, str] | None, payload: Mapping[str, Any],
               at: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """A case's events (excuse, make-up, dispute, appeal) carry its state whole or in part: each field keeps the
    value of the newest event that carried it (`versions`: field -> that event's time)."""
    data, seen = dict(stored or {}), dict(versions or {})
    for key, value in payload.items():
        if key not in seen or newer(datetime.fromisoformat(seen[key]), at):
            data[key], seen[key] = value, at.isoformat()
    return data, seen


# -- the journal-filling report (Appendix No. 1) -------------------------------------------------------------

ENTRY_STATES = ("on_time", "late", "missing", "pending")


@dataclass(frozen=True)
class SessionFill:
    starts_at: datetime
    first_entry_at: datetime | None
    late: bool | None
    planned_topic: str | None
    topic: str | None


def entry_state(policy: Policy, s: SessionFill, now: datetime) -> str | None:
    """on_time | late | missing | pending for a session held (started by `now`); None for one still to come."""
    if s.starts_at > now:
        return None
    if s.first_entry_at is not None:
        return "late" if s.late else "on_time"
    deadline = policy.deadline("attendance_entry", s.starts_at)
    return "pending" if deadline is None or now <= deadline else "missing"


def _same_topic(a: str | None, b: str | None) -> bool:
    return bool(a and b) and " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def filling_counts(policy: Policy, sessions: Iterable[SessionFill], grades: Iterable[bool],
                   now: datetime) -> dict[str, int]:
    """Counts of one row of the filling report: sessions scheduled and held, entries by state, topics against
    the plan (of the sessions held), grades entered and how many of them late (`grades`: each grade's late flag)."""
    out = {"scheduled": 0, "held": 0, **{k: 0 for k in ENTRY_STATES}, "topics_planned": 0, "topics_recorded": 0,
           "topics_as_planned": 0, "topics_missing": 0, "grades_entered": 0, "grades_on_time": 0, "grades_late": 0}
    for s in sessions:
        out["scheduled"] += 1
        state = entry_state(policy, s, now)
        if state is None:
            continue
        out["held"] += 1
        out[state] += 1
        out["topics_planned"] += 1 if s.planned_topic else 0
        out["topics_recorded"] += 1 if s.topic else 0
        out["topics_missing"] += 0 if s.topic else 1
        out["topics_as_planned"] += 1 if _same_topic(s.topic, s.planned_topic) else 0
    for late in grades:
        out["grades_entered"] += 1
        out["grades_late" if late else "grades_on_time"] += 1
    return out


FILLING_COLUMNS = ("held", "on_time", "late", "missing", "pending", "topics_planned", "topics_recorded",
                   "topics_as_planned", "topics_missing", "grades_entered", "grades_on_time", "grades_late")


def sum_counts(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    for row in rows:
        for k in keys:
            out[k] += int(row.get(k) or 0)
    return out


def check_code(value: Any, name: str, errors: dict[str, str], required: bool = True) -> str | None:
    """A code from the wire (a string of 1..64 characters); the error goes to `errors[name]`."""
    if value in (None, "") and not required:
        return None
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    errors[name] = "a code (string, 1..64 characters)"
    return None


# -- the at-risk forecast ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentFact:
    id: int
    kind: str
    day: date
    max: float
    graded: bool  # has a grade for anyone: a student without one counts 0 (grading's rule)
    grades: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Standing:
    """A student's attendance in one discipline, as grading counts it for the rating."""

    held: int
    earned: int
    counted: int  # held less those counting as excused

    @property
    def share(self) -> float:
        return self.earned / self.counted if self.counted else (1.0 if self.held else 0.0)

    @property
    def percent(self) -> float:
        return round(self.share * 100, 1)


def standing(policy: Policy, counts: Mapping[str, int]) -> Standing:
    """Present-equivalent marks over marks less excused ones (RULES.md §3: counts_as); an unknown status counts
    as an absence. `counts`: marks by status."""
    held = earned = excused = 0
    for status, n in counts.items():
        held += n
        as_ = policy.code(status).counts_as if policy.has_code(status) else "absent"
        earned += n if as_ == "present" else 0
        excused += n if as_ == "excused" else 0
    return Standing(held, earned, held - excused)


def add_counts(*parts: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        for k, n in part.items():
            out[k] = out.get(k, 0) + n
    return out


def module_boundary(assessments: Iterable[AssessmentFact]) -> date | None:
    """Grading's convention: what is dated on or before the latest module 1 control belongs to module 1."""
    days = [a.day for a in assessments if a.kind == "module1"]
    return max(days) if days else None


def module_of(day: date, boundary: date | None) -> int:
    return 1 if boundary is None or day <= boundary else 2


@dataclass(frozen=True)
class Projection:
    earned: float        # points of the components with data
    observed: float      # their maxima
    remaining: float     # maxima of the components still without data
    projected: float     # earned + share so far x remaining
    graded: bool         # a graded (not attendance) component has data

    @property
    def share(self) -> float:
        return self.earned / self.observed if self.observed else 0.0


def project(policy: Policy, control: str, student: str, marks: Mapping[int, Mapping[str, int]],
            assessments: Sequence[AssessmentFact]) -> Projection:
    """The student's projected rating total in one discipline (see the module docstring). `marks`: the
    student's marks by module (1, 2; by `module_of` the session's day) and status."""
    rating = policy.grading.rating
    maxima = rating.maxima_for(control if control in rating.maxima else "exam")
    boundary = module_boundary(assessments)
    earned = observed = remaining = 0.0
    graded = False
    for c in rating.components:
        if c.key not in maxima:
            continue
        top = float(maxima[c.key])
        share: float | None = None
        if c.source == "attendance":
            counts = add_counts(*(m for k, m in marks.items() if c.module is None or k == c.module))
            if sum(counts.values()):
                share = standing(policy, counts).share
        else:
            mine = [a for a in assessments if a.kind == c.source and a.graded and a.max > 0
                    and (c.module is None or c.source != "current" or module_of(a.day, boundary) == c.module)]
            if mine:
                graded = True
                if c.source == "current":
                    share = sum(a.grades.get(student, 0.0) / a.max for a in mine) / len(mine)
                else:
                    share = sum(a.grades.get(student, 0.0) for a in mine) / sum(a.max for a in mine)
        if share is None:
            remaining += top
        else:
            earned += top * min(max(share, 0.0), 1.0)
            observed += top
    pace = earned / observed if observed else 0.0
    return Projection(round(earned, 2), round(observed, 2), round(remaining, 2),
                      round(earned + pace * remaining, 2), graded)


@dataclass(frozen=True)
class Reason:
    kind: str  # attendance | projection
    values: Mapping[str, Any]


def _num(x: float) -> Any:
    return int(x) if float(x).is_integer() else round(x, 2)


def risk_reasons(policy: Policy, attendance: Standing, projection: Projection | None) -> list[Reason]:
    """Why a student is at risk in a discipline, by the preset's `at_risk` thresholds (empty: not at risk)."""
    rules = policy.at_risk
    out = []
    if attendance.held >= max(rules.min_sessions, 1) and attendance.percent < rules.attendance_percent:
        out.append(Reason("attendance", {"rate": _num(attendance.percent), "threshold": _num(rules.attendance_percent),
                                         "held": attendance.counted, "earned": attendance.earned}))
    if projection is not None and projection.graded and projection.projected < rules.rating_points:
        out.append(Reason("projection", {"projected": _num(projection.projected),
                                         "threshold": _num(rules.rating_points), "earned": _num(projection.earned),
                                         "observed": _num(projection.observed)}))
    return out


def reason_text(policy: Policy, reason: Reason, lang: str) -> str:
    """The reason in words, from the preset's label `risk_<kind>` (or the built-in one), filled in."""
    return label(policy, f"risk_{reason.kind}", lang).format(**reason.values)


def reason_wire(policy: Policy, reason: Reason, lang: str) -> dict[str, Any]:
    return {"kind": reason.kind, **reason.values, "text": reason_text(policy, reason, lang),
            "texts": {lg: reason_text(policy, reason, lg) for lg in LANGUAGES}}


# -- scheduled reports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    cadence: str
    label: str
    start: date
    end: date  # inclusive


BIWEEKLY_ANCHOR = date(2001, 1, 1)  # a Monday: two-week periods count from it


def period_of(cadence: str, day: date) -> Period:
    """The period of `cadence` (the preset's `reports.*.cadence`) that holds `day`."""
    if cadence == "daily":
        return Period(cadence, day.isoformat(), day, day)
    if cadence in ("weekly", "biweekly"):
        monday = day - timedelta(days=day.weekday())
        if cadence == "biweekly":
            monday = BIWEEKLY_ANCHOR + timedelta(days=(monday - BIWEEKLY_ANCHOR).days // 14 * 14)
        year, week, _ = monday.isocalendar()
        suffix = "" if cadence == "weekly" else "+1"
        return Period(cadence, f"{year}-W{week:02d}{suffix}", monday,
                      monday + timedelta(days=6 if cadence == "weekly" else 13))
    if cadence == "monthly":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(cadence, f"{start:%Y-%m}", start, following - timedelta(days=1))
    first = day.year if day.month >= 9 else day.year - 1  # the academic year starts on 1 September
    if cadence == "year":
        return Period(cadence, f"{first}-{first + 1}", date(first, 9, 1), date(first + 1, 8, 31))
    if cadence == "semester":
        if day.month >= 9 or day.month == 1:
            return Period(cadence, f"{first}-{first + 1}-1", date(first, 9, 1), date(first + 1, 1, 31))
        return Period(cadence, f"{first}-{first + 1}-2", date(first + 1, 2, 1), date(first + 1, 8, 31))
    raise ValueError(f"unknown cadence {cadence!r}")


def last_finished(cadence: str, today: date) -> Period:
    """The latest period of `cadence` that ended before `today`."""
    return period_of(cadence, period_of(cadence, today).start - timedelta(days=1))


# report key -> the scope each copy covers (who reads it: RULES.md §1, §8)
SCOPES = {"attendance": "faculty", "quality": "faculty", "filling_check": "department",
          "filling_report": "department", "contact_list": "group"}
CONTACT_LIST_CADENCE = ("weekly",)  # curators call parents weekly (000 §5, 002 §7.6; the cadence is a default)


def schedule(policy: Policy) -> list[tuple[str, str, str]]:
    """(report, cadence, scope kind) to generate: the preset's `reports` that have a scope, at their cadences,
    and the curators' weekly contact list."""
    out = [(key, cadence, SCOPES[key]) for key, r in sorted(policy.reports.items()) if key in SCOPES
           for cadence in r.cadence]
    out += [("contact_list", cadence, SCOPES["contact_list"]) for cadence in CONTACT_LIST_CADENCE]
    return out


# -- the wire: requests checked, instants shown --------------------------------------------------------------


def iso(policy: Policy, value: datetime | None) -> str | None:
    """An instant as the API shows it: ISO 8601 in the institution's time zone (as kernel.wire.iso)."""
    return policy.local(value).isoformat() if value is not None else None


def instant(value: Any) -> datetime | None:
    """An ISO instant from an event's payload; None when absent."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def check_format(errors: dict[str, str], fmt: Any, formats: tuple[str, ...], lang: Any) -> None:
    if fmt not in formats:
        errors["fmt"] = f"one of {', '.join(formats)}"
    if lang not in LANGUAGES:
        errors["lang"] = f"one of {', '.join(LANGUAGES)}"


def reject(message: str, errors: dict[str, str]) -> None:
    """The request's errors, if any, as one ValidationFailed."""
    if errors:
        raise ValidationFailed(message, errors)


def mark_symbol(policy: Policy, status: str) -> str:
    """The mark a status is written as in the journal (the preset's `mark`), the status itself when retired."""
    return policy.code(status).mark if policy.has_code(status) else status


def require_person(who: Any, kind: str, what: str, code: str) -> Any:
    """A person of the read model that must exist and be of `kind` (staff, student)."""
    if who is None or who.kind != kind:
        raise NotFound(f"no {what} {code}")
    return who


def check_teacher_request(teacher: Any, term: Any, errors: dict[str, str]) -> tuple[str, str]:
    code = check_code(teacher, "teacher", errors)
    term_code = check_code(term, "term", errors)
    reject("invalid report request", errors)
    assert code is not None and term_code is not None
    return code, term_code


def check_filling_request(fmt: Any, lang: Any, journal_url: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    check_format(errors, fmt, ("json", "pdf"), lang)
    if journal_url is not None and (not isinstance(journal_url, str) or not 0 < len(journal_url) <= 2000):
        errors["journal_url"] = "the URL of the teacher's journal (at most 2000 characters)"
    return errors


def check_record_request(student: Any, lang: Any) -> str:
    errors: dict[str, str] = {}
    code = check_code(student, "student", errors)
    check_format(errors, "json", ("json",), lang)
    reject("invalid record request", errors)
    assert code is not None
    return code


def check_at_risk_request(faculty: Any, group: Any, fmt: Any, lang: Any) -> tuple[str | None, str | None]:
    errors: dict[str, str] = {}
    faculty_code = check_code(faculty, "faculty", errors, required=False)
    group_code = check_code(group, "group", errors, required=False)
    check_format(errors, fmt, FORMATS, lang)
    reject("invalid report filters", errors)
    return faculty_code, group_code


def check_statement_request(statement: Any, fmt: Any, lang: Any, verify_url: Any) -> None:
    """render_statement's arguments: grading's statement, a document format, a language, the verify URL."""
    errors: dict[str, str] = {}
    if not isinstance(statement, dict) or not isinstance(statement.get("rows"), list) \
            or not all(isinstance(r, dict) for r in statement["rows"]):
        errors["statement"] = "grading's statement: an object with rows [{student, points, letter, grade5}]"
    if fmt not in DOCUMENT_FORMATS:
        errors["fmt"] = f"one of {', '.join(DOCUMENT_FORMATS)}"
    if lang not in LANGUAGES:
        errors["lang"] = f"one of {', '.join(LANGUAGES)}"
    if not isinstance(verify_url, str) or not verify_url or len(verify_url) > 2000:
        errors["verify_url"] = "the URL of the electronic original (at most 2000 characters)"
    reject("cannot render this statement", errors)


def statement_people(statement: Mapping[str, Any]) -> tuple[list[str], str]:
    """Whose names a statement document shows (its students, who posted and created it) and its discipline."""
    people = [str(r.get("student")) for r in statement["rows"]]
    people += [str(statement.get(k)) for k in ("posted_by", "created_by") if statement.get(k)]
    return people, str(statement.get("discipline") or "")


LIST_LIMIT = 500


def check_list_request(report: Any, limit: Any, cursor: Any, errors: dict[str, str]) -> str | None:
    """list_scheduled's filters; returns the report key (None: every report)."""
    report_key = check_code(report, "report", errors, required=False)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT:
        errors["limit"] = f"a whole number from 1 to {LIST_LIMIT}"
    if cursor not in (None, "") and not (isinstance(cursor, str) and cursor.isdigit()):
        errors["cursor"] = "a cursor this list gave"
    return report_key


WITHIN_KEYS = ("faculties", "departments", "groups")


def check_within(within: Any, errors: dict[str, str]) -> bool:
    """`within` from the gateway: {"faculties", "departments", "groups"}, each a list of codes."""
    if not isinstance(within, dict) or not all(
            isinstance(within.get(k, []), list) and all(isinstance(c, str) for c in within.get(k, []))
            for k in WITHIN_KEYS):
        errors["within"] = "{faculties, departments, groups}: lists of codes"
        return False
    return True


def in_scope(scopes: set[tuple[str, str]] | None, kind: str, code: str) -> bool:
    """Whether a stored report of scope (kind, code) is readable by a caller limited to `scopes` (None: all)."""
    return scopes is None or (kind, code) in scopes


# -- read models: the rows an event sets (applied in any order, see `newer`) -----------------------------------

Row = tuple[str, str, str]  # a report row: group, discipline, teacher


def org_values(p: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"code": p["code"], "kind": p["kind"], "name": p.get("name") or p["code"], "parent": p.get("parent"),
            "at": at}


def person_values(p: Mapping[str, Any]) -> dict[str, Any]:
    """A person's state; its revision orders the states (an older one arriving late changes nothing)."""
    return {"code": p["code"], "kind": p["kind"], "full_name": p["full_name"], "department": p.get("department"),
            "group": p.get("group"), "revision": int(p.get("revision") or 0), "children": list(p.get("children") or [])}


def discipline_values(p: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"code": p["code"], "name": p["name"], "control": p.get("control"), "at": at}


def session_values(p: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """A session's timetable fields as an attendance event carries them, stamped with the event's time."""
    return {"term": p.get("term"), "group": p["group"], "subgroup": p.get("subgroup"),
            "discipline": p["discipline"], "teacher": p["teacher"], "kind": p.get("kind"),
            "starts_at": instant(p["starts_at"]), "scheduled_at": at}


def session_row(p: Mapping[str, Any]) -> Row:
    return p["group"], p["discipline"], p["teacher"]


def moved_session(before: Row, after: Row, counts: Mapping[str, int],
                  marked: bool) -> tuple[dict[Row, dict[str, int]], dict[Row, int]]:
    """A session moved to another report row (group, discipline or teacher): its marks per status and, once
    marked, the session itself leave the old row's rollups and join the new one's."""
    if before == after:
        return {}, {}
    return {before: {k: -n for k, n in counts.items()}, after: dict(counts)}, ({before: -1, after: 1} if marked else {})


def rollup_rows(marks: Mapping[Row, Mapping[str, int]],
                sessions: Mapping[Row, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The increments of the rollups (marks per status, marked sessions) by report row, in key order: two
    handlers moving the same rows lock them in the same order. Zeros are left out."""
    counted = [{"group": k[0], "discipline": k[1], "teacher": k[2], "status": st, "n": n}
               for k in sorted(marks) for st, n in sorted(marks[k].items()) if n]
    held = [{"group": k[0], "discipline": k[1], "teacher": k[2], "sessions": n}
            for k, n in sorted(sessions.items()) if n]
    return counted, held


@dataclass(frozen=True)
class StoredMark:
    status: str
    at: datetime | None


@dataclass
class MarksChange:
    """What a marks.recorded event does to one session's stored marks."""

    new: dict[str, str] = field(default_factory=dict)      # student -> status: a first mark
    touched: dict[str, str] = field(default_factory=dict)  # student -> status: a stored mark set by this event
    delta: dict[str, int] = field(default_factory=dict)    # status -> marks added (negative: taken away)
    first: bool = False  # the session's first mark: it joins the marked sessions

    def tally(self, session: int) -> list[dict[str, Any]]:
        """The per-session tally's increments (zeros left out), in status order."""
        return [{"session": session, "status": k, "n": n} for k, n in sorted(self.delta.items()) if n]

    def counts(self) -> dict[str, int]:
        return {k: n for k, n in self.delta.items() if n}


def marks_latest(p: Mapping[str, Any]) -> dict[str, str]:
    """student -> the status a marks.recorded event sets (the last change of a student wins)."""
    return {c["student"]: c["new"] for c in p.get("changes") or []}


def merge_marks(stored: Mapping[str, StoredMark], latest: Mapping[str, str], at: datetime,
                marked: bool) -> MarksChange:
    """A marks.recorded event against the stored marks: a mark set by a newer event is not overwritten; the
    tally moves by the marks whose status changed."""
    out = MarksChange()
    for student, status in latest.items():
        mark = stored.get(student)
        if mark is None:
            out.new[student] = status
            out.first = out.first or not marked
        elif not newer(mark.at, at):
            continue
        else:
            out.touched[student] = status
            if mark.status == status:
                continue
            out.delta[mark.status] = out.delta.get(mark.status, 0) - 1
        out.delta[status] = out.delta.get(status, 0) + 1
    return out


def case_values(p: Mapping[str, Any], state: str | None = None) -> dict[str, Any]:
    """A case event's payload as stored (the marks an excuse changed come as marks.recorded); `state` when the
    event type implies it."""
    data = {k: v for k, v in p.items() if k != "changes"}
    if state is not None:
        data["state"] = state
    return data


def statement_values(p: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"id": int(p["id"]), "group": p["group"], "discipline": p["discipline"], "kind": p["kind"],
            "state": p["state"], "covers_until": instant(p.get("covers_until")), "at": at}


def assessment_values(p: Mapping[str, Any], assessment_id: Any, full: bool) -> dict[str, Any]:
    """An assessment's fields; title and author come only with `assessment.created` (`full`)."""
    values = {"id": int(assessment_id), "group": p["group"], "discipline": p["discipline"], "kind": p["kind"],
              "day": date.fromisoformat(p["date"]), "max": float(p["max"])}
    if full:
        values.update(title=p.get("title"), created_by=p.get("created_by"))
    return values


def grade_changes(p: Mapping[str, Any]) -> dict[str, float]:
    """student -> the value a grade.recorded event sets (a change without a new value sets nothing)."""
    return {c["student"]: float(c["new"]) for c in p.get("changes") or [] if c.get("new") is not None}


def grade_state(row: Any) -> GradeState | None:
    """A stored grade row as the state merge_grade compares against."""
    if row is None:
        return None
    return GradeState(row.value, row.late, row.first_at, row.at, row.role, row.reason, row.approval, row.changes)


# -- the attendance report -----------------------------------------------------------------------------------


def report_keys(counts: Mapping[Row, Any], held: Mapping[Row, int]) -> list[Row]:
    return sorted(set(counts) | set(held))


def attendance_report(policy: Policy, filters: Filters, counts: Mapping[Row, Mapping[str, int]],
                      held: Mapping[Row, int], names: Mapping[str, str]) -> dict[str, Any]:
    """The rows of the attendance report (group × discipline × teacher) with their totals."""
    by = classes(policy)
    rows = [report_row(policy, {"group": g, "discipline": d, "teacher": t,
                                "discipline_name": names.get(f"discipline:{d}"), "teacher_name": names.get(t)},
                       held.get((g, d, t), 0), counts.get((g, d, t), {}), by)
            for g, d, t in report_keys(counts, held)]
    return {"filters": filters.wire(), "rows": rows, "totals": totals(policy, rows)}


def day_span(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) as its first and last instants."""
    return start, (end - timedelta(microseconds=1) if end else None)


def period_bounds(policy: Policy, first: date, last: date) -> tuple[datetime, datetime]:
    """Local days [first, last] as the instants [start, end)."""
    return (datetime.combine(first, time(), policy.tz),
            datetime.combine(last + timedelta(days=1), time(), policy.tz))


def local_date(policy: Policy, value: datetime | None) -> date | None:
    return policy.local(value).date() if value else None


# -- the journal-filling report and the teacher's journal ------------------------------------------------------


def session_fill(x: Any) -> SessionFill:
    return SessionFill(x.starts_at, x.first_entry_at, x.late, x.planned_topic, x.topic)


def filling_pairs(sessions: Iterable[Any]) -> list[tuple[str, str]]:
    return sorted({(x.group, x.discipline) for x in sessions})


def filling_report(policy: Policy, teacher: str, term: str | None, sessions: Sequence[Any],
                   first_day: date | None, last_day: date | None, graded: Sequence[tuple[Any, Sequence[Any]]],
                   names: Mapping[str, str], department: str | None, now: datetime) -> dict[str, Any]:
    """One teacher's filling per group × discipline (Appendix No. 1): `sessions` the teacher's of the period,
    `graded` the assessments of the period with their grades."""
    rows = []
    for group, discipline in filling_pairs(sessions):
        fills = [session_fill(x) for x in sessions if (x.group, x.discipline) == (group, discipline)]
        lates = [g.late for a, grades in graded if (a.group, a.discipline) == (group, discipline) for g in grades]
        rows.append({"group": group, "discipline": discipline,
                     "discipline_name": names.get(f"discipline:{discipline}"),
                     **filling_counts(policy, fills, lates, now)})
    return {"teacher": teacher, "teacher_name": names.get(teacher), "department": department,
            "term": term, "period": {"from": first_day.isoformat() if first_day else None,
                                     "to": last_day.isoformat() if last_day else None},
            "generated_at": iso(policy, now), "rows": rows,
            "totals": sum_counts(rows, ("scheduled", *FILLING_COLUMNS))}


def teacher_journal(policy: Policy, teacher: str, term: str, sessions: Sequence[Any],
                    marks: Mapping[int, Mapping[str, int]], graded: Sequence[tuple[Any, Sequence[Any]]],
                    names: Mapping[str, str], filling: Mapping[str, int], now: datetime) -> dict[str, Any]:
    """The teacher's journal as an inspector opens it (001 §5.6): sessions with their entry, topic and marks,
    assessments with their grades, and the filling totals."""
    return {
        "teacher": teacher, "teacher_name": names.get(teacher), "term": term,
        "sessions": [{"id": x.id, "starts_at": iso(policy, x.starts_at), "group": x.group, "subgroup": x.subgroup,
                      "discipline": x.discipline, "discipline_name": names.get(f"discipline:{x.discipline}"),
                      "kind": x.kind, "planned_topic": x.planned_topic, "topic": x.topic,
                      "work_kind": x.work_kind, "first_entry_at": iso(policy, x.first_entry_at),
                      "entry": entry_state(policy, session_fill(x), now),
                      "marks": marks.get(x.id, {})} for x in sessions],
        "assessments": [{"id": a.id, "group": a.group, "discipline": a.discipline, "kind": a.kind,
                         "title": a.title, "date": a.day.isoformat(), "max": a.max, "grades": len(grades),
                         "late": sum(1 for g in grades if g.late)} for a, grades in graded],
        "filling": filling,
    }


# -- the forecast per student and discipline -----------------------------------------------------------------

Pair = tuple[str, str]  # (group, discipline)
StudentPair = tuple[str, str, str]  # (student, group, discipline)


def control_of(value: Any) -> str:
    """A discipline's final control as the rating reads it: exam unless it is a credit."""
    return value if value in ("exam", "credit") else "exam"


@dataclass(frozen=True)
class Evaluation:
    """One student in one discipline: attendance, projection and the reasons for being at risk."""

    student: str
    group: str
    discipline: str
    attendance: Standing
    projection: Projection
    reasons: list[Reason]


def evaluated_pairs(facts: Mapping[Pair, Sequence[AssessmentFact]], marks: Mapping[StudentPair, Any],
                    members: Iterable[tuple[str, str]], student: str | None = None) -> set[StudentPair]:
    """Who is forecast in what: every student with marks, every member of a group with assessments, and (for
    one student) every pair where the student has a grade."""
    pairs: set[StudentPair] = set(marks)
    members = list(members)
    for (g, d), facts_ in facts.items():
        pairs.update((st, g, d) for st, grp in members if grp == g)
        if student is not None:
            pairs.update((student, g, d) for a in facts_ if student in a.grades)
    return pairs


def evaluate(policy: Policy, pairs: Iterable[StudentPair], facts: Mapping[Pair, Sequence[AssessmentFact]],
             marks: Mapping[StudentPair, Mapping[int, Mapping[str, int]]],
             controls: Mapping[str, str]) -> list[Evaluation]:
    """The forecast of each (student, group, discipline), in that order."""
    out = []
    for st, g, d in sorted(pairs):
        by_module = marks.get((st, g, d), {})
        attendance = standing(policy, add_counts(*by_module.values()))
        projection = project(policy, controls.get(d, "exam"), st, by_module, facts.get((g, d), []))
        out.append(Evaluation(st, g, d, attendance, projection, risk_reasons(policy, attendance, projection)))
    return out


def by_pair(found: Iterable[Evaluation]) -> dict[Pair, list[Evaluation]]:
    out: dict[Pair, list[Evaluation]] = {}
    for e in found:
        out.setdefault((e.group, e.discipline), []).append(e)
    return out


def at_risk_report(policy: Policy, found: Iterable[Evaluation], names: Mapping[str, str],
                   parents: Mapping[str, list[dict[str, str]]], lang: str, now: datetime) -> dict[str, Any]:
    """Students at risk with their reasons in words and their parents, ordered by group and name, and the
    preset's thresholds (RULES.md §4; 000 §5, 002 §7.6). `found`: evaluations with reasons."""
    items: dict[str, dict[str, Any]] = {}
    for e in found:
        item = items.setdefault(e.student, {"student": e.student, "full_name": names.get(e.student),
                                            "group": e.group, "parents": parents.get(e.student, []),
                                            "reasons": []})
        item["reasons"] += [{"discipline": e.discipline, "discipline_name": names.get(f"discipline:{e.discipline}"),
                             **reason_wire(policy, r, lang)} for r in e.reasons]
    rules = policy.at_risk
    return {"thresholds": {"attendance_percent": rules.attendance_percent, "rating_points": rules.rating_points,
                           "min_sessions": rules.min_sessions},
            "generated_at": iso(policy, now),
            "items": sorted(items.values(), key=lambda i: (i["group"] or "", i["full_name"] or "", i["student"]))}


def quality_report(found: Sequence[Evaluation], names: Mapping[str, str]) -> dict[str, Any]:
    """Per group × discipline: students, attendance (as grading counts it), the mean share of the maxima
    earned so far, and students at risk (RULES.md §8: quality of education each semester and year)."""
    rows = []
    for (group, discipline), evals in sorted(by_pair(found).items()):
        attendance = Standing(sum(e.attendance.held for e in evals), sum(e.attendance.earned for e in evals),
                              sum(e.attendance.counted for e in evals))
        graded = [e.projection.share for e in evals if e.projection.graded]
        rows.append({"group": group, "discipline": discipline,
                     "discipline_name": names.get(f"discipline:{discipline}"), "students": len(evals),
                     "attendance_percent": attendance.percent if attendance.held else None,
                     "mean_grade_percent": round(100 * sum(graded) / len(graded), 1) if graded else None,
                     "at_risk": sum(1 for e in evals if e.reasons)})
    return {"rows": rows}


# -- the student record --------------------------------------------------------------------------------------


def record_keys(marks: Iterable[tuple[Any, Any]], grades: Iterable[tuple[Any, Any]],
                forecast: Mapping[Pair, Evaluation]) -> list[Pair]:
    return sorted({(x.group, x.discipline) for x, _ in marks} | {(a.group, a.discipline) for a, _ in grades}
                  | set(forecast))


CASE_KINDS = ("excuse", "makeup", "dispute", "appeal")


def student_record(policy: Policy, who: Any, faculty: str | None, marks: Sequence[tuple[Any, Any]],
                   grades: Sequence[tuple[Any, Any]], forecast: Mapping[Pair, Evaluation], cases: Iterable[Any],
                   names: Mapping[str, str], lang: str) -> dict[str, Any]:
    """Everything the read models hold on one student (API.md `/students/{code}/record`): `marks` (session,
    mark) and `grades` (assessment, grade) pairs, the forecast by (group, discipline), the cases."""
    disciplines: list[dict[str, Any]] = []
    for group, discipline in record_keys(marks, grades, forecast):
        mine = [(x, m) for x, m in marks if (x.group, x.discipline) == (group, discipline)]
        counts: dict[str, int] = {}
        for _, m in mine:
            counts[m.status] = counts.get(m.status, 0) + 1
        e = forecast.get((group, discipline))
        disciplines.append({
            "group": group, "discipline": discipline, "discipline_name": names.get(f"discipline:{discipline}"),
            "attendance": {"marks": counts, "percent": e.attendance.percent if e and e.attendance.held else None,
                           "sessions": [{"session": x.id, "starts_at": iso(policy, x.starts_at), "kind": x.kind,
                                         "teacher": x.teacher, "teacher_name": names.get(x.teacher),
                                         "status": m.status, "mark": mark_symbol(policy, m.status),
                                         "label": status_label(policy, m.status, lang)} for x, m in mine]},
            "grades": [{"assessment": a.id, "kind": a.kind, "title": a.title, "date": a.day.isoformat(),
                        "max": a.max, "value": g.value, "late": g.late, "corrected": g.changes > 1,
                        "role": g.role, "reason": g.reason, "approval": g.approval}
                       for a, g in grades if (a.group, a.discipline) == (group, discipline)],
            "forecast": None if e is None else {
                "earned": e.projection.earned, "observed": e.projection.observed,
                "projected": e.projection.projected if e.projection.graded else None,
                "reasons": [reason_wire(policy, r, lang) for r in e.reasons]},
        })
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in CASE_KINDS}
    for c in cases:
        by_kind.setdefault(c.kind, []).append({**c.data, "id": c.id, "state": c.state})
    return {"student": {"code": who.code, "full_name": who.full_name, "group": who.group, "faculty": faculty},
            "disciplines": disciplines, "excuses": by_kind["excuse"], "makeups": by_kind["makeup"],
            "disputes": by_kind["dispute"], "appeals": by_kind["appeal"],
            "at_risk": any(d["forecast"] and d["forecast"]["reasons"] for d in disciplines)}


# -- scheduled reports: what is stored, what is listed -------------------------------------------------------


def scheduled_view(policy: Policy, row: Any) -> dict[str, Any]:
    """A stored scheduled report as listed (and as `report.ready` announces it)."""
    return {"id": row.id, "report": row.report, "cadence": row.cadence, "period": row.period,
            "from": row.period_start.isoformat(), "to": row.period_end.isoformat(), "scope_kind": row.scope_kind,
            "scope": row.scope, "generated_at": iso(policy, row.generated_at)}


def scheduled_page(policy: Policy, rows: Sequence[Any], limit: int) -> dict[str, Any]:
    """A page of stored reports from `limit + 1` rows read: the extra one says there is a next page."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [scheduled_view(policy, r) for r in rows],
            "next_cursor": str(rows[-1].id) if more and rows else None}


def scheduled_head(policy: Policy, report: str, period: Period, scope_kind: str, scope: str,
                   now: datetime) -> dict[str, Any]:
    return {"report": report, "cadence": period.cadence, "scope": {"kind": scope_kind, "code": scope},
            "period": {"label": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()},
            "generated_at": iso(policy, now)}


FILLING_REPORTS = ("filling_check", "filling_report")


def document_kind(report: str) -> str:
    """Which document a stored report renders as: attendance, filling, contact_list or quality."""
    if report in FILLING_REPORTS:
        return "filling"
    return report if report in ("attendance", "contact_list") else "quality"
