"""Importing a university through the public API (issue 8, item 5e): POST /api/v1/import/contingent, /load and
/timetable, each timed, then the time until every service has applied the events they caused.

The university: `groups` groups of `per_group` students (default 1,000 x 30 = 30,000) in 10 faculties of 5
departments, a teacher per group, 50 disciplines, 5 of them taught to each group, and a term's timetable
(`weeks` x `per_week` sessions per group). The contingent goes faculty by faculty and the timetable in slices of
`slice` sessions: one request for everything would pass the gateway's body limit (10 MiB) and the RPC deadline
(every account's password is hashed with argon2id). Session 0 of a group started three hours ago and session 5
one hour ago (inside oshtu's 24-hour entry window), so the marking benchmark can mark them.

Also builds the rows PostgreSQL COPY stores for the same import (the limit printed beside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from common import PASSWORD, Client, admin_token, check, copy_rows, timed, wait_quiet

FACULTIES = 10
DEPARTMENTS_PER_FACULTY = 5
DISCIPLINES = 50
DISCIPLINES_PER_GROUP = 5
LOCAL = timedelta(hours=6)  # oshtu: Asia/Bishkek


@dataclass
class University:
    groups: int = 1000
    per_group: int = 30
    weeks: int = 16
    per_week: int = 10
    base: datetime = field(default_factory=lambda: (datetime.now(UTC) - timedelta(hours=3)).replace(second=0,
                                                                                                 microsecond=0))

    # -- names ------------------------------------------------------------------------------------------
    def group(self, g: int) -> str:
        return f"UG{g:04d}"

    def student(self, g: int, i: int) -> str:
        return f"US{g * self.per_group + i:05d}"

    def teacher(self, g: int) -> str:
        return f"UT{g:04d}"

    def faculty_of(self, g: int) -> int:
        return g * FACULTIES // self.groups

    def department(self, g: int) -> str:
        f = self.faculty_of(g)
        return f"UD{f:02d}-{g % DEPARTMENTS_PER_FACULTY}"

    def disciplines(self, g: int) -> list[str]:
        return [f"UX{(g * DISCIPLINES_PER_GROUP + k) % DISCIPLINES:02d}" for k in range(DISCIPLINES_PER_GROUP)]

    def session_ref(self, g: int, k: int) -> str:
        return f"U{g:04d}-{k:03d}"

    def session_start(self, k: int) -> datetime:
        week, j = divmod(k, self.per_week)
        day, slot = j % 5, j // 5
        return self.base + timedelta(days=week * 7 + day, hours=2 * slot)

    @property
    def students(self) -> int:
        return self.groups * self.per_group

    @property
    def sessions(self) -> int:
        return self.groups * self.weeks * self.per_week

    # -- the import's bodies ----------------------------------------------------------------------------
    def contingent(self, faculty: int) -> dict[str, Any]:
        groups = [g for g in range(self.groups) if self.faculty_of(g) == faculty]
        return {
            "faculties": [{"code": f"UF{faculty:02d}", "name": f"Факультет {faculty}"}],
            "departments": [{"code": f"UD{faculty:02d}-{d}", "faculty": f"UF{faculty:02d}", "name": f"Кафедра {d}"}
                            for d in range(DEPARTMENTS_PER_FACULTY)],
            "groups": [{"code": self.group(g), "department": self.department(g), "course": 1 + g % 4,
                        "subgroups": []} for g in groups],
            "students": [{"code": self.student(g, i), "full_name": f"Студент {self.student(g, i)}",
                          "group": self.group(g), "login": self.student(g, i).lower(), "password": PASSWORD}
                         for g in groups for i in range(self.per_group)],
            "staff": [{"code": self.teacher(g), "full_name": f"Мугалим {g}", "login": self.teacher(g).lower(),
                       "password": PASSWORD, "department": self.department(g), "roles": [{"role": "teacher"}]}
                      for g in groups],
        }

    def load(self) -> dict[str, Any]:
        return {
            "disciplines": [{"code": f"UX{x:02d}", "name": f"Дисциплина {x}", "control": "exam", "credits": 4}
                            for x in range(DISCIPLINES)],
            "assignments": [{"teacher": self.teacher(g), "discipline": d, "group": self.group(g), "kind": "lecture"}
                            for g in range(self.groups) for d in self.disciplines(g)],
        }

    def term(self) -> dict[str, str]:
        starts = (self.base + LOCAL).date() - timedelta(days=1)
        return {"code": "UNI-TERM", "starts": starts.isoformat(),
                "ends": (starts + timedelta(days=7 * self.weeks + 1)).isoformat()}

    def timetable_rows(self) -> list[dict[str, Any]]:
        return [{"ref": self.session_ref(g, k), "discipline": self.disciplines(g)[k % DISCIPLINES_PER_GROUP],
                 "group": self.group(g), "kind": "lecture", "teacher": self.teacher(g),
                 "starts_at": self.session_start(k).isoformat(), "minutes": 80}
                for k in range(self.weeks * self.per_week) for g in range(self.groups)]


def import_university(c: Client, uni: University, slice_size: int = 10000) -> dict[str, Any]:
    """Import it through the API, each step timed; the session ids by ref. The IT admin logs in afresh for each
    request (one login is not counted in the times): a slow import outlasts an access token."""
    out: dict[str, Any] = {"groups": uni.groups, "students": uni.students, "sessions": uni.sessions}

    def contingent() -> None:
        for f in range(FACULTIES):
            check(*c.call("POST", "/api/v1/import/contingent", uni.contingent(f), admin_token(c)), f"contingent {f}")

    out["contingent"], _ = timed(contingent)
    print(f"  contingent: {uni.students} students, {uni.groups} teachers in {FACULTIES} requests: "
          f"{out['contingent']:.1f} s", flush=True)
    body, admin = uni.load(), admin_token(c)
    out["load"], _ = timed(lambda: check(*c.call("POST", "/api/v1/import/load", body, admin), "load"))
    print(f"  load: {out['load']:.1f} s", flush=True)
    # the load reaches the attendance service through identity's events: what the timetable checks against
    out["load_applied"] = wait_quiet(3600)  # after 31,000 accounts' events at full size: many minutes
    rows = uni.timetable_rows()
    ids: dict[str, int] = {}

    def timetable() -> None:
        for start in range(0, len(rows), slice_size):
            body = {"term": uni.term(), "sessions": rows[start:start + slice_size]}
            admin = admin_token(c)
            ids.update(check(*c.call("POST", "/api/v1/import/timetable", body, admin), "timetable")["sessions"])

    out["timetable"], _ = timed(timetable)
    out["timetable_requests"] = (len(rows) + slice_size - 1) // slice_size
    print(f"  timetable: {len(rows)} sessions in {out['timetable_requests']} requests: {out['timetable']:.1f} s",
          flush=True)
    out["total"] = out["contingent"] + out["load"] + out["timetable"]
    out["applied"] = wait_quiet(3600)  # every subscriber (reports, grading, gateway) has the events
    print(f"  events applied {out['applied']:.1f} s after the last import answered", flush=True)
    out["ids"] = ids
    return out


def copy_limits(uni: University) -> dict[str, Any]:
    """COPY of rows like the import's: an account per person (with a hash-sized column) and the sessions."""
    hashed = "$argon2id$v=19$m=19456,t=2,p=1$" + "x" * 66
    people = copy_rows("people", "code text, full_name text, grp text, login text, password_hash text",
                       ((uni.student(g, i), f"Студент {i}", uni.group(g), uni.student(g, i).lower(), hashed)
                        for g in range(uni.groups) for i in range(uni.per_group)))
    sessions = copy_rows("sessions", "ref text, discipline text, grp text, kind text, teacher text, "
                         "starts_at timestamptz, minutes int",
                         ((r["ref"], r["discipline"], r["group"], r["kind"], r["teacher"], r["starts_at"], 80)
                          for r in uni.timetable_rows()))
    return {"people": people, "sessions": sessions}
