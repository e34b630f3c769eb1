"""Institution policy presets: load, validate, and answer rule questions (ARCHITECTURE.md "Institution policy").

Everything that differs between universities is data in `kernel/presets/<name>.yaml` (RULES.md): grade scale,
letter table, attendance classifier, rating formula, windows, correction chain, report cadence, retention, QR
check-in. A new university is a new preset file, not new code. This module is plain Python: no nameko, no I/O
beyond reading the preset file, no clock (callers pass `start`/`now`).

Windows. `Policy.deadline(name, start)` gives the last instant inside a window, in the institution's timezone:
  hours              start + amount hours (exact elapsed time)
  calendar_days      end of the local day `amount` days after the start's local date
  working_days       end of the `amount`-th working day after the start's local date (the start day never counts)
  class_day          end of the start's local day
  calendar_week      end of the local calendar week (Monday to Sunday) holding the start
  none               the action does not exist here: the window closes at `start` (nothing is inside it)
  until_posted       no time limit: open until the statement it rests on is posted (a state, not a time) -> None
  academic_calendar  set by the academic calendar, not the preset -> None
  unlimited          no time limit -> None
Day counts follow the civil-law convention of KG and KZ: a period in days starts the day after the event and
ends at 24:00 of its last day. Working days are the preset's `working_week` minus the country's public holidays
(the `holidays` package) and `calendar.extra_days_off`, plus `calendar.extra_working_days`.

Window anchors (what `start` is): session (the session's start), work (the day the graded work was done), exam,
entry (when the value was first entered), absence (the missed session), return (the student's first day back),
publication (when the result became visible to the student), act (when the correction was approved).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

PRESETS_DIR = Path(__file__).resolve().parent / "presets"

LANGUAGES = ("ky", "ru", "kk", "en")
# API.md "Roles".
ROLES = ("it_admin", "academic_office", "directorate", "department_head", "teacher", "curator", "commission",
         "student", "parent", "integration")
# Not people: `makeup` = only through a completed make-up (003 §5.4.2); `checkin` = the student's QR scan.
MAKEUP = "makeup"
CHECKIN = "checkin"
PSEUDO_ROLES = (MAKEUP, CHECKIN)
SETTERS = ROLES + PSEUDO_ROLES

TIMED_UNITS = ("hours", "calendar_days", "working_days")
UNITS = TIMED_UNITS + ("class_day", "calendar_week", "until_posted", "academic_calendar", "unlimited", "none")
ANCHORS = ("session", "work", "exam", "entry", "absence", "return", "publication", "act")
WINDOW_NAMES = ("attendance_entry", "grade_entry", "module_grade_entry", "final_grade_entry", "self_correction",
                "makeup_deadline", "dispute", "appeal", "excuse_document", "correction_execution")
COUNTS_AS = ("present", "absent", "excused")
CONTROLS = ("exam", "credit")
# What a rating component is computed from: the attendance share or an API.md assessment kind.
COMPONENT_SOURCES = ("attendance", "current", "module1", "module2", "final")
STATEMENT_KINDS = ("module1", "module2", "final")
CHAIN_ACTIONS = ("request", "visa", "approve", "execute")
CADENCES = ("daily", "weekly", "biweekly", "monthly", "semester", "year")
UI_LABELS = ("journal", "statement", "attendance", "present", "absent", "group", "discipline", "teacher",
             "student", "signature", "date", "grade", "rating", "letter", "total", "topic", "semester",
             "academic_year", "faculty", "department", "makeup", "filling_report")
REPORTS = ("filling_check", "attendance", "quality", "filling_report")

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class PresetError(ValueError):
    """A preset that cannot be used. The message names the file and each dotted field path."""

    def __init__(self, origin: str, errors: Sequence[tuple[str, str]]):
        self.origin = origin
        self.errors: tuple[tuple[str, str], ...] = tuple(errors)
        super().__init__("; ".join(f"{origin}: {path}: {message}" for path, message in self.errors))


# ---------------------------------------------------------------------------------------------------------------
# Schemas (marshmallow 4): strict, unknown keys are errors.


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Number(fields.Field[float]):
    """An int or float from YAML; never a bool or a string."""

    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.make_error("invalid")
        return value


class _Bool(fields.Field[bool]):
    """true or false; never "yes", 1 or a string."""

    default_error_messages = {"invalid": "Not a valid boolean (true or false)."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _int(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


def _role(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(ROLES), **kwargs)


class _KeyedMap(fields.Field[dict[str, Any]]):
    """A mapping of snake_case keys to values loaded by `schema` (or checked by `field`), errors keyed by key."""

    default_error_messages = {"invalid": "Not a mapping."}

    def __init__(self, schema: type[Schema] | None = None, value: fields.Field[Any] | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.schema_cls = schema
        self.value_field = value

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.make_error("invalid")
        out: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY.match(key):
                errors[str(key)] = ["Not a valid key (lower snake_case)."]
                continue
            try:
                if self.schema_cls is not None:
                    out[key] = self.schema_cls().load(item)
                elif self.value_field is not None:
                    out[key] = self.value_field.deserialize(item)
                else:
                    out[key] = item
            except ValidationError as exc:
                errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class LabelsSchema(_Strict):
    ky = fields.String(required=True, validate=validate.Length(min=1))
    ru = fields.String(required=True, validate=validate.Length(min=1))
    kk = fields.String(required=True, validate=validate.Length(min=1))
    en = fields.String(required=True, validate=validate.Length(min=1))


class CalendarSchema(_Strict):
    extra_days_off = fields.List(fields.Date(), load_default=list)
    extra_working_days = fields.List(fields.Date(), load_default=list)


class InstitutionLabelsSchema(_Strict):
    name = fields.Nested(LabelsSchema, required=True)
    short_name = fields.Nested(LabelsSchema, required=True)
    ui = _KeyedMap(schema=LabelsSchema, required=True)


class CodeSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(_KEY, error="Not a snake_case key."))
    mark = fields.String(required=True)
    labels = fields.Nested(LabelsSchema, required=True)
    set_by = fields.List(fields.String(validate=validate.OneOf(SETTERS)), required=True,
                         validate=validate.Length(min=1))
    counts_as = fields.String(required=True, validate=validate.OneOf(COUNTS_AS))


class AttendanceSchema(_Strict):
    codes = fields.List(fields.Nested(CodeSchema), required=True, validate=validate.Length(min=2))
    excuse_kinds = fields.List(fields.String(), load_default=list)


class ScaleSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(("marks", "points")))
    values = fields.List(_int(), load_default=None, allow_none=True)
    min = _Number(load_default=None, allow_none=True)
    max = _Number(load_default=None, allow_none=True)
    integer = _Bool(load_default=None, allow_none=True)

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data["kind"] == "marks":
            if not data.get("values"):
                errors["values"] = ["Required for kind marks."]
            elif len(set(data["values"])) != len(data["values"]):
                errors["values"] = ["Values must be unique."]
            for name in ("min", "max", "integer"):
                if data.get(name) is not None:
                    errors[name] = ["Only for kind points."]
        else:
            for name in ("min", "max", "integer"):
                if data.get(name) is None:
                    errors[name] = ["Required for kind points."]
            if data.get("values") is not None:
                errors["values"] = ["Only for kind marks."]
            if not errors and data["min"] >= data["max"]:
                errors["max"] = ["Must be greater than min."]
        if errors:
            raise ValidationError(errors)


class LetterSchema(_Strict):
    min = _int(required=True)
    max = _int(required=True)
    letter = fields.String(required=True, validate=validate.Length(min=1, max=3))
    grade5 = _int(required=True, validate=validate.Range(min=2, max=5))
    gpa = _Number(load_default=None, allow_none=True)
    labels = fields.Nested(LabelsSchema, required=True)


class ComponentSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(_KEY, error="Not a snake_case key."))
    source = fields.String(required=True, validate=validate.OneOf(COMPONENT_SOURCES))
    module = _int(load_default=None, allow_none=True, validate=validate.OneOf((1, 2)))
    labels = fields.Nested(LabelsSchema, required=True)


class MaximaSchema(_Strict):
    exam = _KeyedMap(value=_Number(validate=validate.Range(min=0)), required=True)
    credit = _KeyedMap(value=_Number(validate=validate.Range(min=0)), required=True)


class RatingSchema(_Strict):
    max = _Number(required=True, validate=validate.Range(min=1))
    components = fields.List(fields.Nested(ComponentSchema), required=True, validate=validate.Length(min=1))
    maxima = fields.Nested(MaximaSchema, required=True)


class AdmissionSchema(_Strict):
    min_points = _Number(required=True, validate=validate.Range(min=0))
    attendance_percent = _Number(required=True, validate=validate.Range(min=0, max=100))


class GradingSchema(_Strict):
    scale = fields.Nested(ScaleSchema, required=True)
    letters = fields.List(fields.Nested(LetterSchema), required=True, validate=validate.Length(min=1))
    pass_mark = _Number(required=True, validate=validate.Range(min=0))
    rating = fields.Nested(RatingSchema, required=True)
    admission = fields.Nested(AdmissionSchema, required=True)


class WindowSchema(_Strict):
    unit = fields.String(required=True, validate=validate.OneOf(UNITS))
    amount = _int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    anchor = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ANCHORS))
    source = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _amount(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["unit"] in TIMED_UNITS and data.get("amount") is None:
            raise ValidationError(f"Required for unit {data['unit']}.", "amount")
        if data["unit"] not in TIMED_UNITS and data.get("amount") is not None:
            raise ValidationError(f"Must be null for unit {data['unit']}.", "amount")


class WindowsSchema(_Strict):
    attendance_entry = fields.Nested(WindowSchema, required=True)
    grade_entry = fields.Nested(WindowSchema, required=True)
    module_grade_entry = fields.Nested(WindowSchema, required=True)
    final_grade_entry = fields.Nested(WindowSchema, required=True)
    self_correction = fields.Nested(WindowSchema, required=True)
    makeup_deadline = fields.Nested(WindowSchema, required=True)
    dispute = fields.Nested(WindowSchema, required=True)
    appeal = fields.Nested(WindowSchema, required=True)
    excuse_document = fields.Nested(WindowSchema, required=True)
    correction_execution = fields.Nested(WindowSchema, required=True)


class StepSchema(_Strict):
    step = fields.String(required=True, validate=validate.Regexp(_KEY, error="Not a snake_case key."))
    action = fields.String(required=True, validate=validate.OneOf(CHAIN_ACTIONS))
    role = _role(required=True)
    window = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(WINDOW_NAMES))
    source = fields.String(load_default=None, allow_none=True)


class CorrectionsSchema(_Strict):
    chain = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=2))
    academic_by = _role(load_default=None, allow_none=True)


class StatementsSchema(_Strict):
    kinds = fields.List(fields.String(validate=validate.OneOf(STATEMENT_KINDS)), required=True)
    posted_by = fields.List(_role(), required=True, validate=validate.Length(min=1))
    lock_on_post = _Bool(required=True)
    closed_by = fields.List(_role(), required=True, validate=validate.Length(min=1))
    closed_changes_by = _role(required=True)


class MakeupSchema(_Strict):
    enabled = _Bool(required=True)
    applies_to = fields.List(fields.String(), required=True)
    unsatisfactory_grades = _Bool(load_default=False)
    extension_by = fields.List(_role(), load_default=list)
    approval_by = fields.List(_role(), load_default=list)


class ReportSchema(_Strict):
    cadence = fields.List(fields.String(validate=validate.OneOf(CADENCES)), required=True,
                          validate=validate.Length(min=1))
    by = _role(load_default=None, allow_none=True)
    signed = _Bool(load_default=False)
    qr = _Bool(load_default=False)
    source = fields.String(load_default=None, allow_none=True)


class RetentionSchema(_Strict):
    achievements_years = _int(required=True, validate=validate.Range(min=1))
    filling_report_years = _int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    paper_in_directorate_years = _int(load_default=None, allow_none=True, validate=validate.Range(min=1))


class CheckinSchema(_Strict):
    enabled = _Bool(required=True)
    token_ttl_seconds = _int(required=True, validate=validate.Range(min=5, max=3600))
    grace_seconds = _int(required=True, validate=validate.Range(min=0, max=3600))
    opens_minutes_before_start = _int(required=True, validate=validate.Range(min=0, max=240))
    closes_minutes_after_start = _int(required=True, validate=validate.Range(min=0, max=600))
    allowed_subnets = fields.List(fields.String(), load_default=list)


class SubstitutesSchema(_Strict):
    assigned_by = fields.String(required=True, validate=validate.OneOf(("department_head", "directorate")))
    source = fields.String(load_default=None, allow_none=True)


class AtRiskSchema(_Strict):
    attendance_percent = _Number(required=True, validate=validate.Range(min=0, max=100))
    rating_points = _Number(required=True, validate=validate.Range(min=0))
    min_sessions = _int(load_default=0, validate=validate.Range(min=0))


def _supported_country(value: str) -> None:
    if value not in holidays.list_supported_countries():
        raise ValidationError("Not a country the holidays package knows (ISO 3166-1 alpha-2, e.g. KG, KZ).")


def _known_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ValueError, LookupError) as exc:
        raise ValidationError("Not an IANA timezone known to zoneinfo.") from exc


class PresetSchema(_Strict):
    name = fields.String(required=True, validate=validate.Regexp(_NAME, error="Not a lower-case preset name."))
    version = _int(required=True, validate=validate.Range(min=1))
    country = fields.String(required=True, validate=_supported_country)
    timezone = fields.String(required=True, validate=_known_timezone)
    languages = fields.List(fields.String(validate=validate.OneOf(LANGUAGES)), required=True,
                            validate=validate.Length(min=1))
    working_week = fields.List(_int(validate=validate.Range(min=1, max=7)),
                               load_default=lambda: [1, 2, 3, 4, 5], validate=validate.Length(min=1))
    calendar = fields.Nested(CalendarSchema, load_default=lambda: {"extra_days_off": [],
                                                                   "extra_working_days": []})
    labels = fields.Nested(InstitutionLabelsSchema, required=True)
    attendance = fields.Nested(AttendanceSchema, required=True)
    grading = fields.Nested(GradingSchema, required=True)
    windows = fields.Nested(WindowsSchema, required=True)
    corrections = fields.Nested(CorrectionsSchema, required=True)
    statements = fields.Nested(StatementsSchema, required=True)
    makeup = fields.Nested(MakeupSchema, required=True)
    reports = _KeyedMap(schema=ReportSchema, required=True)
    retention = fields.Nested(RetentionSchema, required=True)
    checkin = fields.Nested(CheckinSchema, required=True)
    at_risk = fields.Nested(AtRiskSchema, required=True)
    substitutes = fields.Nested(SubstitutesSchema, load_default=lambda: {"assigned_by": "department_head",
                                                                         "source": "000 §2"})


# ---------------------------------------------------------------------------------------------------------------
# Cross-field checks: what a schema cannot see on one field.


def _cross_check(d: dict[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def err(path: str, message: str) -> None:
        errors.append((path, message))

    if len(set(d["languages"])) != len(d["languages"]):
        err("languages", "Languages must be unique.")
    if len(set(d["working_week"])) != len(d["working_week"]):
        err("working_week", "Weekdays must be unique.")
    both = set(d["calendar"]["extra_days_off"]) & set(d["calendar"]["extra_working_days"])
    if both:
        err("calendar", f"Dates both off and working: {', '.join(sorted(x.isoformat() for x in both))}.")

    for key in UI_LABELS:
        if key not in d["labels"]["ui"]:
            err(f"labels.ui.{key}", "Missing UI label.")

    # Attendance classifier (RULES.md §3, API.md "Attendance").
    codes = d["attendance"]["codes"]
    keys = [c["key"] for c in codes]
    for i, code in enumerate(codes):
        path = f"attendance.codes.{i}"
        if keys.index(code["key"]) != i:
            err(f"{path}.key", f"Duplicate code {code['key']!r}.")
        if len(set(code["set_by"])) != len(code["set_by"]):
            err(f"{path}.set_by", "Roles must be unique.")
        if code["key"] in ("excused", "sick") and set(code["set_by"]) != {"directorate"}:
            err(f"{path}.set_by", f"{code['key']} is set only by the directorate from a document (RULES.md §3).")
        if code["key"] == "made_up" and code["set_by"] != [MAKEUP]:
            err(f"{path}.set_by", "made_up is set only through a completed make-up: [makeup].")
        if code["key"] != "made_up" and MAKEUP in code["set_by"]:
            err(f"{path}.set_by", "Only made_up is set through a make-up.")
        if CHECKIN in code["set_by"] and code["counts_as"] != "present":
            err(f"{path}.set_by", "A QR check-in can only record presence.")
    for required, counts in (("present", "present"), ("absent", "absent")):
        if required not in keys:
            err("attendance.codes", f"Missing the {required!r} code.")
        elif codes[keys.index(required)]["counts_as"] != counts:
            err(f"attendance.codes.{keys.index(required)}.counts_as", f"{required} must count as {counts}.")
    for i, kind in enumerate(d["attendance"]["excuse_kinds"]):
        if kind not in keys:
            err(f"attendance.excuse_kinds.{i}", f"Unknown attendance code {kind!r}.")
        elif "directorate" not in codes[keys.index(kind)]["set_by"]:
            err(f"attendance.excuse_kinds.{i}", f"{kind} must be settable by the directorate.")

    # Grading: letters cover the rating total without gaps or overlaps; maxima add up.
    grading = d["grading"]
    rating = grading["rating"]
    letters = grading["letters"]
    expected = 0
    for i, row in enumerate(letters):
        path = f"grading.letters.{i}"
        if row["min"] > row["max"]:
            err(path, f"min {row['min']} is above max {row['max']}.")
        elif row["min"] > expected:
            missing = str(expected) if row["min"] - 1 == expected else f"{expected}..{row['min'] - 1}"
            err(f"{path}.min", f"Gap: points {missing} have no letter.")
        elif row["min"] < expected:
            err(f"{path}.min", f"Overlap: {row['min']} is already covered by the row before.")
        expected = max(expected, row["max"] + 1)
    if letters and letters[-1]["max"] != rating["max"]:
        err(f"grading.letters.{len(letters) - 1}.max",
            f"The last row must end at the rating maximum {rating['max']:g}.")
    seen: set[str] = set()
    for i, row in enumerate(letters):
        if row["letter"] in seen:
            err(f"grading.letters.{i}.letter", f"Duplicate letter {row['letter']!r}.")
        seen.add(row["letter"])
        passing = row["min"] >= grading["pass_mark"]
        if passing and row["grade5"] < 3:
            err(f"grading.letters.{i}.grade5", "A row at or above the pass mark must be 3 or more.")
        if not passing and row["grade5"] > 2:
            err(f"grading.letters.{i}.grade5", "A row below the pass mark must be 2.")
    if grading["pass_mark"] not in {row["min"] for row in letters}:
        err("grading.pass_mark", "Must be the lower bound of a letter row.")

    components = [c["key"] for c in rating["components"]]
    for i, key in enumerate(components):
        if components.index(key) != i:
            err(f"grading.rating.components.{i}.key", f"Duplicate component {key!r}.")
    for control in CONTROLS:
        maxima = rating["maxima"][control]
        if not maxima:
            err(f"grading.rating.maxima.{control}", "No components.")
            continue
        for key in maxima:
            if key not in components:
                err(f"grading.rating.maxima.{control}.{key}", "Unknown rating component.")
        total = sum(maxima.values())
        if not math.isclose(total, rating["max"]):
            err(f"grading.rating.maxima.{control}",
                f"Maxima add up to {total:g}, not the rating maximum {rating['max']:g}.")
    before_final = sum(v for k, v in rating["maxima"]["exam"].items()
                       if k in components and rating["components"][components.index(k)]["source"] != "final")
    if grading["admission"]["min_points"] > before_final:
        err("grading.admission.min_points",
            f"Above the {before_final:g} points an exam discipline can earn before the exam.")
    scale = grading["scale"]
    if scale["kind"] == "points" and scale["max"] > rating["max"]:
        err("grading.scale.max", "Above the rating maximum.")

    # Windows, chain, statements, make-up, reports, check-in.
    chain = d["corrections"]["chain"]
    if chain[0]["action"] != "request" or chain[0]["role"] != "teacher":
        err("corrections.chain.0", "The chain starts with the teacher's request.")
    if chain[-1]["action"] != "execute":
        err(f"corrections.chain.{len(chain) - 1}.action", "The chain ends with execute.")
    steps = [s["step"] for s in chain]
    for i, step in enumerate(chain):
        if steps.index(step["step"]) != i:
            err(f"corrections.chain.{i}.step", f"Duplicate step {step['step']!r}.")

    makeup = d["makeup"]
    if makeup["enabled"] != ("made_up" in keys):
        err("makeup.enabled", "Make-up and the made_up code go together.")
    if makeup["enabled"] == (d["windows"]["makeup_deadline"]["unit"] == "none"):
        err("windows.makeup_deadline.unit", "Must be none exactly when make-up is disabled.")
    for i, key in enumerate(makeup["applies_to"]):
        if key not in keys:
            err(f"makeup.applies_to.{i}", f"Unknown attendance code {key!r}.")
        elif codes[keys.index(key)]["counts_as"] == "present":
            err(f"makeup.applies_to.{i}", f"{key} is not an absence.")
    if d["attendance"]["excuse_kinds"] and d["windows"]["excuse_document"]["unit"] == "none":
        err("windows.excuse_document.unit", "Excuse documents exist (attendance.excuse_kinds).")

    for key in REPORTS:
        if key not in d["reports"]:
            err(f"reports.{key}", "Missing report.")
    for i, subnet in enumerate(d["checkin"]["allowed_subnets"]):
        try:
            ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            err(f"checkin.allowed_subnets.{i}", f"Not an IP network: {subnet!r}.")
    if d["at_risk"]["rating_points"] > rating["max"]:
        err("at_risk.rating_points", "Above the rating maximum.")
    return errors


def _flatten(messages: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, path if key == "_schema" else (*path, str(key)))
    elif isinstance(messages, list | tuple):
        for value in messages:
            yield from _flatten(value, path)
    else:
        yield ".".join(path) or "(preset)", str(messages)


# ---------------------------------------------------------------------------------------------------------------
# The immutable policy.


@dataclass(frozen=True)
class Labels:
    ky: str
    ru: str
    kk: str
    en: str

    def get(self, language: str) -> str:
        if language not in LANGUAGES:
            raise KeyError(language)
        value: str = getattr(self, language)
        return value


@dataclass(frozen=True)
class InstitutionLabels:
    name: Labels
    short_name: Labels
    ui: Mapping[str, Labels]


@dataclass(frozen=True)
class AttendanceCode:
    key: str
    mark: str
    labels: Labels
    set_by: tuple[str, ...]
    counts_as: str


@dataclass(frozen=True)
class Attendance:
    codes: tuple[AttendanceCode, ...]
    excuse_kinds: tuple[str, ...]


@dataclass(frozen=True)
class Scale:
    kind: str
    values: tuple[int, ...] | None
    min: float | None
    max: float | None
    integer: bool | None

    def accepts(self, value: float | Decimal) -> bool:
        """Whether one grade value is on the scale (the assessment's own `max` is checked by grading)."""
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return False
        if self.kind == "marks":
            return self.values is not None and value in self.values
        assert self.min is not None and self.max is not None
        if self.integer and value != int(value):
            return False
        return self.min <= value <= self.max


@dataclass(frozen=True)
class Letter:
    min: int
    max: int
    letter: str
    grade5: int
    gpa: float | None
    labels: Labels


@dataclass(frozen=True)
class RatingComponent:
    key: str
    source: str
    module: int | None
    labels: Labels


@dataclass(frozen=True)
class Rating:
    max: float
    components: tuple[RatingComponent, ...]
    maxima: Mapping[str, Mapping[str, float]]

    def maxima_for(self, control: str) -> Mapping[str, float]:
        """Component key -> maximum points for a discipline whose control is `exam` or `credit`."""
        return self.maxima[control]


@dataclass(frozen=True)
class Admission:
    min_points: float
    attendance_percent: float


@dataclass(frozen=True)
class Grading:
    scale: Scale
    letters: tuple[Letter, ...]
    pass_mark: float
    rating: Rating
    admission: Admission


@dataclass(frozen=True)
class Window:
    name: str
    unit: str
    amount: int | None
    anchor: str | None
    source: str | None

    @property
    def allowed(self) -> bool:
        """False when the institution has no such action (unit none)."""
        return self.unit != "none"

    @property
    def timed(self) -> bool:
        """True when `Policy.deadline` gives an instant for this window."""
        return self.unit in TIMED_UNITS or self.unit in ("class_day", "calendar_week", "none")


@dataclass(frozen=True)
class CorrectionStep:
    step: str
    action: str
    role: str
    window: str | None
    source: str | None


@dataclass(frozen=True)
class Corrections:
    chain: tuple[CorrectionStep, ...]
    academic_by: str | None

    def step_for(self, action: str) -> CorrectionStep | None:
        """The chain step done through an API action (request, visa, approve, execute), if the chain has it."""
        return next((s for s in self.chain if s.action == action), None)


@dataclass(frozen=True)
class Statements:
    kinds: tuple[str, ...]
    posted_by: tuple[str, ...]
    lock_on_post: bool
    closed_by: tuple[str, ...]
    closed_changes_by: str


@dataclass(frozen=True)
class Makeup:
    enabled: bool
    applies_to: tuple[str, ...]
    unsatisfactory_grades: bool
    extension_by: tuple[str, ...]
    approval_by: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    key: str
    cadence: tuple[str, ...]
    by: str | None
    signed: bool
    qr: bool
    source: str | None


@dataclass(frozen=True)
class Retention:
    achievements_years: int
    filling_report_years: int | None
    paper_in_directorate_years: int | None


@dataclass(frozen=True)
class Checkin:
    enabled: bool
    token_ttl_seconds: int
    grace_seconds: int
    opens_minutes_before_start: int
    closes_minutes_after_start: int
    allowed_subnets: tuple[str, ...]


@dataclass(frozen=True)
class Substitutes:
    """Who assigns a substitute teacher (RULES.md §1): the department head (000 §2, 002 §3.5), at Kostanay with
    the faculty head's written permission (004 §21), which the system takes as the directorate assigning."""

    assigned_by: str
    source: str | None


@dataclass(frozen=True)
class AtRisk:
    attendance_percent: float
    rating_points: float
    min_sessions: int


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> Mapping[date, str]:
    return MappingProxyType(dict(holidays.country_holidays(country, years=year).items()))


@dataclass(frozen=True, repr=False)
class Policy:
    name: str
    version: int
    country: str
    timezone: str
    languages: tuple[str, ...]
    working_week: frozenset[int]
    extra_days_off: frozenset[date]
    extra_working_days: frozenset[date]
    labels: InstitutionLabels
    attendance: Attendance
    grading: Grading
    windows: Mapping[str, Window]
    corrections: Corrections
    statements: Statements
    makeup: Makeup
    reports: Mapping[str, Report]
    retention: Retention
    checkin: Checkin
    at_risk: AtRisk
    substitutes: Substitutes
    _json: str = field(repr=False, compare=False)

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.country))

    def __repr__(self) -> str:
        return f"Policy(name={self.name!r}, version={self.version})"

    # -- lookups ---------------------------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def codes(self) -> tuple[AttendanceCode, ...]:
        return self.attendance.codes

    def code(self, key: str) -> AttendanceCode:
        for code in self.codes:
            if code.key == key:
                return code
        raise KeyError(f"{self.name}: no attendance code {key!r}")

    def has_code(self, key: str) -> bool:
        return any(code.key == key for code in self.codes)

    def may_set(self, role: str, key: str) -> bool:
        """Whether `role` (an API role or a pseudo-role makeup/checkin) may set attendance status `key`."""
        return self.has_code(key) and role in self.code(key).set_by

    def ui_label(self, key: str, language: str) -> str:
        return self.labels.ui[key].get(language)

    def letter_for(self, points: float | Decimal) -> Letter:
        """The letter row for a rating total; the total is rounded half up to whole points first."""
        exact = Decimal(str(points))
        if not exact.is_finite():
            raise ValueError(f"{self.name}: {points} is not a number of points")
        whole = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for row in self.grading.letters:
            if row.min <= whole <= row.max:
                return row
        raise ValueError(f"{self.name}: {points} is outside 0..{self.grading.rating.max:g}")

    def passed(self, points: float | Decimal) -> bool:
        return self.letter_for(points).min >= self.grading.pass_mark

    def window(self, name: str) -> Window:
        try:
            return self.windows[name]
        except KeyError:
            raise KeyError(f"{self.name}: no window {name!r}") from None

    # -- calendar --------------------------------------------------------------------------------------------

    def public_holidays(self, year: int) -> Mapping[date, str]:
        """The country's public holidays in `year` (date -> name), from the holidays package."""
        return _public_holidays(self.country, year)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        return day.isoweekday() in self.working_week and day not in self.public_holidays(day.year)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it for negative n); n = 0: `day` or the next working day."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        current = day
        if remaining == 0:
            while not self.is_working_day(current):
                current += timedelta(days=1)
            return current
        for _ in range(remaining * 30 + 366):  # bound: no calendar has a month without working days
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
                if remaining == 0:
                    return current
        raise ValueError(f"{self.name}: no working days found after {day}")

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("A timezone-aware datetime is required.")
        return instant.astimezone(self.tz)

    def end_of_day(self, day: date) -> datetime:
        """The last instant of a local day."""
        return datetime.combine(day, time.max, tzinfo=self.tz)

    def deadline(self, window_name: str, start: datetime) -> datetime | None:
        """The last instant inside the window opened at `start` (see the module docstring), or None when the
        window has no time bound."""
        window = self.window(window_name)
        local = self.local(start)
        if window.unit == "hours":
            assert window.amount is not None
            return (start.astimezone(UTC) + timedelta(hours=window.amount)).astimezone(self.tz)
        if window.unit == "calendar_days":
            assert window.amount is not None
            return self.end_of_day(local.date() + timedelta(days=window.amount))
        if window.unit == "working_days":
            assert window.amount is not None
            return self.end_of_day(self.add_working_days(local.date(), window.amount))
        if window.unit == "class_day":
            return self.end_of_day(local.date())
        if window.unit == "calendar_week":
            return self.end_of_day(local.date() + timedelta(days=6 - local.weekday()))
        if window.unit == "none":
            return local
        return None

    def is_open(self, window_name: str, start: datetime, now: datetime) -> bool:
        """Whether `now` is inside the window opened at `start`; untimed windows are open as far as time goes."""
        window = self.window(window_name)
        if not window.allowed:
            return False
        end = self.deadline(window_name, start)
        return end is None or self.local(now) <= end

    # -- export ----------------------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The validated preset as plain JSON data (GET /api/v1/policy); a fresh copy on every call."""
        data: dict[str, Any] = json.loads(self._json)
        return data


def _labels(d: Mapping[str, str]) -> Labels:
    return Labels(ky=d["ky"], ru=d["ru"], kk=d["kk"], en=d["en"])


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON-able: {value!r}")


def _build(d: dict[str, Any]) -> Policy:
    grading = d["grading"]
    rating = grading["rating"]
    scale = grading["scale"]
    return Policy(
        name=d["name"],
        version=d["version"],
        country=d["country"],
        timezone=d["timezone"],
        languages=tuple(d["languages"]),
        working_week=frozenset(d["working_week"]),
        extra_days_off=frozenset(d["calendar"]["extra_days_off"]),
        extra_working_days=frozenset(d["calendar"]["extra_working_days"]),
        labels=InstitutionLabels(
            name=_labels(d["labels"]["name"]),
            short_name=_labels(d["labels"]["short_name"]),
            ui=MappingProxyType({k: _labels(v) for k, v in d["labels"]["ui"].items()}),
        ),
        attendance=Attendance(
            codes=tuple(
                AttendanceCode(key=c["key"], mark=c["mark"], labels=_labels(c["labels"]),
                               set_by=tuple(c["set_by"]), counts_as=c["counts_as"])
                for c in d["attendance"]["codes"]
            ),
            excuse_kinds=tuple(d["attendance"]["excuse_kinds"]),
        ),
        grading=Grading(
            scale=Scale(kind=scale["kind"], values=None if scale["values"] is None else tuple(scale["values"]),
                        min=scale["min"], max=scale["max"], integer=scale["integer"]),
            letters=tuple(
                Letter(min=r["min"], max=r["max"], letter=r["letter"], grade5=r["grade5"], gpa=r["gpa"],
                       labels=_labels(r["labels"]))
                for r in grading["letters"]
            ),
            pass_mark=grading["pass_mark"],
            rating=Rating(
                max=rating["max"],
                components=tuple(
                    RatingComponent(key=c["key"], source=c["source"], module=c["module"],
                                    labels=_labels(c["labels"]))
                    for c in rating["components"]
                ),
                maxima=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in rating["maxima"].items()}),
            ),
            admission=Admission(**grading["admission"]),
        ),
        windows=MappingProxyType({name: Window(name=name, **w) for name, w in d["windows"].items()}),
        corrections=Corrections(
            chain=tuple(CorrectionStep(**s) for s in d["corrections"]["chain"]),
            academic_by=d["corrections"]["academic_by"],
        ),
        statements=Statements(
            kinds=tuple(d["statements"]["kinds"]),
            posted_by=tuple(d["statements"]["posted_by"]),
            lock_on_post=d["statements"]["lock_on_post"],
            closed_by=tuple(d["statements"]["closed_by"]),
            closed_changes_by=d["statements"]["closed_changes_by"],
        ),
        makeup=Makeup(
            enabled=d["makeup"]["enabled"],
            applies_to=tuple(d["makeup"]["applies_to"]),
            unsatisfactory_grades=d["makeup"]["unsatisfactory_grades"],
            extension_by=tuple(d["makeup"]["extension_by"]),
            approval_by=tuple(d["makeup"]["approval_by"]),
        ),
        reports=MappingProxyType({
            key: Report(key=key, cadence=tuple(r["cadence"]), by=r["by"], signed=r["signed"], qr=r["qr"],
                        source=r["source"])
            for key, r in d["reports"].items()
        }),
        retention=Retention(**d["retention"]),
        checkin=Checkin(**{**d["checkin"], "allowed_subnets": tuple(d["checkin"]["allowed_subnets"])}),
        at_risk=AtRisk(**d["at_risk"]),
        substitutes=Substitutes(**d["substitutes"]),
        _json=json.dumps(d, ensure_ascii=False, default=_json_default),
    )


# ---------------------------------------------------------------------------------------------------------------
# Loading.


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_preset(data: Any, origin: str = "(preset)") -> Policy:
    """Validate preset data (as read from YAML, or as returned by `Policy.as_dict`) and build the policy."""
    if not isinstance(data, Mapping):
        raise PresetError(origin, [("(preset)", "The preset must be a mapping.")])
    try:
        loaded: dict[str, Any] = PresetSchema().load(data)
    except ValidationError as exc:
        raise PresetError(origin, sorted(_flatten(exc.messages))) from None
    errors = _cross_check(loaded)
    if errors:
        raise PresetError(origin, errors)
    return _build(loaded)


def load_preset_file(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError(path.name, [("(file)", exc.strerror or str(exc))]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PresetError(path.name, [("(yaml)", " ".join(str(exc).split()))]) from None
    return parse_preset(data, path.name)


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


_cache: dict[str, tuple[int, Policy]] = {}


def load_preset(name: str) -> Policy:
    """The preset `kernel/presets/<name>.yaml`, validated; cached until the file changes."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not _NAME.match(name) or not path.is_file():
        available = ", ".join(available_presets())
        raise PresetError(f"{name}.yaml", [("(file)", f"No such preset; available: {available}.")])
    mtime = path.stat().st_mtime_ns
    cached = _cache.get(name)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    policy = load_preset_file(path)
    if policy.name != name:
        raise PresetError(path.name, [("name", f"Must be {name!r}, the file's name.")])
    _cache[name] = (mtime, policy)
    return policy
