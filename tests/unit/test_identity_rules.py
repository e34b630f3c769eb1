"""Identity's import and order rules (API.md "Loading the year"; RULES.md §1, §2)."""

from datetime import date

from contracts.identity import ContingentSchema
from identity import domain
from kernel.errors import ValidationFailed, from_remote


def batch(**overrides):
    body = {
        "faculties": [{"code": "F1", "name": "Engineering"}],
        "departments": [{"code": "D1", "faculty": "F1", "name": "Software"}],
        "groups": [{"code": "G1", "department": "D1", "course": 1, "subgroups": ["1", "2"]}],
        "students": [{"code": "S1", "full_name": "Асанов Бакыт", "group": "G1", "subgroup": "1", "login": "s1"}],
        "staff": [{"code": "T1", "full_name": "Өмүрбеков Нурлан", "login": "t1",
                   "roles": [{"role": "teacher"}, {"role": "curator", "scope": "G1"}]}],
        "parents": [{"code": "P1", "full_name": "Асанова Гүлнара", "login": "p1", "children": ["S1"]}],
    }
    body.update(overrides)
    return ContingentSchema().load(body)


def test_a_consistent_batch_passes():
    assert not domain.check_contingent(batch(), domain.Known())


def test_a_bad_row_is_named():
    errors = domain.check_contingent(batch(students=[
        {"code": "S1", "full_name": "A", "group": "G1", "login": "s1"},
        {"code": "S2", "full_name": "B", "group": "NOPE", "login": "s2"}]), domain.Known())
    assert list(errors.by_field) == ["students[1].group"]
    assert "students[1].group" in errors.detail()


def test_a_role_scope_must_exist_and_match_its_kind():
    errors = domain.check_contingent(batch(staff=[
        {"code": "T1", "full_name": "X", "login": "t1", "roles": [{"role": "directorate", "scope": "G1"}]},
        {"code": "T2", "full_name": "Y", "login": "t2", "roles": [{"role": "teacher", "scope": "F1"}]}]),
        domain.Known())
    assert set(errors.by_field) == {"staff[0].roles[0].scope", "staff[1].roles[0].scope"}


def test_students_cannot_be_granted_office_roles_by_import():
    errors = domain.check_contingent(batch(staff=[
        {"code": "T1", "full_name": "X", "login": "t1", "roles": [{"role": "commission", "scope": "1"}]}]),
        domain.Known())
    assert "staff[0].roles[0].role" in errors.by_field


def test_duplicate_codes_and_logins_across_sections_are_refused():
    errors = domain.check_contingent(batch(parents=[
        {"code": "S1", "full_name": "Z", "login": "t1", "children": ["S1"]}]), domain.Known())
    assert {"parents[0].code", "parents[0].login"} <= set(errors.by_field)


def test_moving_a_student_by_import_needs_a_transfer_order():
    known = domain.Known(current_group={"S1": "G0"}, persons={"S1": "student"}, groups={"G0": []})
    errors = domain.check_contingent(batch(), known)
    assert "transfer order" in errors.by_field["students[0].group"][0]


def test_a_transfer_ends_the_old_membership_the_day_before():
    periods = [domain.Period("G1", "1", date(2026, 9, 1), None)]
    after = domain.apply_order(periods, "transfer", "G2", None, date(2026, 10, 15))
    assert after == [domain.Period("G1", "1", date(2026, 9, 1), date(2026, 10, 15)),
                     domain.Period("G2", None, date(2026, 10, 15), None)]


def test_an_expulsion_ends_membership():
    periods = [domain.Period("G1", "1", date(2026, 9, 1), None)]
    assert domain.apply_order(periods, "expel", None, None, date(2026, 11, 1)) == [
        domain.Period("G1", "1", date(2026, 9, 1), date(2026, 11, 1))]


def test_admitting_an_enrolled_student_is_refused():
    known = domain.Known(persons={"S1": "student"}, groups={"G1": []})
    order = {"kind": "admit", "student": "S1", "group": "G1", "subgroup": None, "date": date(2026, 9, 5)}
    errors = domain.check_order(order, known, [domain.Period("G1", None, date(2026, 9, 1), None)])
    assert "kind" in errors.by_field


def test_marshmallow_errors_flatten_to_row_paths():
    flat = domain.flatten_marshmallow({"students": {3: {"group": ["Missing data"]}}})
    assert flat == {"students[3].group": ["Missing data"]}


def test_domain_errors_cross_rpc_by_code_not_by_module_path():
    original = ValidationFailed("students[1].group: unknown group", {"students[1].group": ["unknown"]})
    rebuilt = from_remote("ValidationFailed", str(original))
    assert isinstance(rebuilt, ValidationFailed) and rebuilt.errors == original.errors
    assert rebuilt.problem()["code"] == "validation_error" and rebuilt.status == 422


def test_initial_passwords_are_long_and_distinct():
    passwords = {domain.initial_password() for _ in range(100)}
    assert len(passwords) == 100 and all(len(p) == 12 for p in passwords)
