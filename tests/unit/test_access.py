"""gateway/access.py's pure parts: the typed caller and the rules that need no read model (the ones that read it
are run through the HTTP API by tests/e2e/test_access_matrix.py)."""

from __future__ import annotations

import pytest

from gateway.access import Caller, report_scopes, require_role
from kernel.errors import Forbidden


def caller(*roles: tuple[str, str | None]) -> Caller:
    return Caller("P1", "p1", "Асанова Айгүл", tuple(roles), None, (), "oshtu")


def test_a_role_is_held_anywhere_or_in_one_unit():
    head = caller(("department_head", "D-MATH"), ("teacher", None))
    assert head.has("department_head") and head.has("department_head", "D-MATH")
    assert not head.has("department_head", "D-PHYS")
    assert head.has_any(("curator", "teacher")) and not head.has_any(("it_admin", "academic_office"))
    assert head.scopes_of("department_head") == {"D-MATH"} and head.scopes_of("teacher") == set()


def test_require_role_refuses_with_the_roles_it_needs():
    require_role(caller(("teacher", None)), ("teacher", "academic_office"))
    with pytest.raises(Forbidden, match="teacher, academic_office"):
        require_role(caller(("student", None)), ("teacher", "academic_office"))


def test_scheduled_reports_reach_the_units_of_the_callers_roles():
    assert report_scopes(caller(("academic_office", None))) is None
    assert report_scopes(caller(("directorate", "F-IT"), ("curator", "G-1"), ("curator", "G-0"))) == {
        "faculties": ["F-IT"], "departments": [], "groups": ["G-0", "G-1"]}
    with pytest.raises(Forbidden):
        report_scopes(caller(("teacher", None), ("student", None)))
