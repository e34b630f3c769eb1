"""The gradebook (issue 8, item 5c): teachers creating an assessment for their group and entering its 30 grades
(POST /api/v1/assessments, PUT /api/v1/assessments/{id}/grades), many at once, then reading the gradebooks
(GET /api/v1/gradebook?group=&discipline=), which the grading service computes per request (ratings, module
points, the attendance summary), and whether every grade is there exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common import Client, as_json, copy_rows, drive
from university import LOCAL, University


def grades(uni: University, g: int) -> list[dict[str, Any]]:
    return [{"student": uni.student(g, i), "value": 50 + (g + i) % 51} for i in range(uni.per_group)]


def gradebook(c: Client, uni: University, tokens: dict[str, str], groups: list[int], concurrency: int,
              title: str = "Бенчмарк") -> dict[str, Any]:
    today = (datetime.now(UTC) + LOCAL).date().isoformat()
    token = {g: tokens[uni.teacher(g).lower()] for g in groups}
    discipline = {g: uni.disciplines(g)[0] for g in groups}
    created: list = []
    create = drive(c, [("POST", "/api/v1/assessments",
                        as_json({"group": uni.group(g), "discipline": discipline[g], "kind": "current",
                                 "title": title, "date": today, "max": 100}), token[g]) for g in groups],
                   concurrency, created)
    assessment = {g: body["id"] for g, (status, body) in zip(groups, created, strict=True) if status == 201}
    written = [g for g in groups if g in assessment]
    put: list = []
    write = drive(c, [("PUT", f"/api/v1/assessments/{assessment[g]}/grades", as_json({"grades": grades(uni, g)}),
                       token[g]) for g in written], concurrency, put)
    books: list = []
    read = drive(c, [("GET", f"/api/v1/gradebook?group={uni.group(g)}&discipline={discipline[g]}", None, token[g])
                     for g in written], concurrency, books)
    stored = duplicated = 0
    for g, (status, book) in zip(written, books, strict=True):
        if status != 200:
            continue
        for row in book["students"]:
            mine = [x for x in row["grades"] if x["assessment"] == assessment[g] and x["value"] is not None]
            stored += min(len(mine), 1)
            duplicated += max(len(mine) - 1, 0)
    expected = len(groups) * uni.per_group
    failures = [body for status, body in created + put + books if status not in (200, 201)][:3]
    return {"groups": len(groups), "grades": expected, "concurrency": concurrency, "create": create,
            "write": write, "read": read, "stored": stored, "lost": expected - stored, "duplicated": duplicated,
            "failures": failures}


def copy_limit(uni: University, groups: list[int]) -> dict[str, Any]:
    """COPY of the same grades (assessment, student, value)."""
    return copy_rows("grades", "assessment bigint, student text, value numeric",
                     ((g, x["student"], x["value"]) for g in groups for x in grades(uni, g)))
