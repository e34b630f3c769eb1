"""The demo university generator (deploy/demo_data.py): shapes of the import bodies of docs/API.md, referential
integrity, realistic names, a timetable without double bookings that follows the teaching load, determinism."""

import importlib
import re
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))
demo_data = importlib.import_module("demo_data")

PRESETS = ("oshtu", "jagu", "oshsu", "kostanay")
KG_LETTERS = set("өүң")
KZ_LETTERS = set("әғқңөұүі")


@pytest.fixture(scope="module", params=PRESETS)
def demo(request):
    preset = request.param
    return preset, demo_data.contingent(preset), demo_data.load(preset), demo_data.timetable(preset)


def _people(body):
    return body["students"] + body["staff"] + body["parents"]


# --- contingent --------------------------------------------------------------------------------------------


def test_counts(demo):
    _preset, body, _load, _tt = demo
    assert len(body["faculties"]) >= 2
    assert len(body["departments"]) >= 2 * len(body["faculties"])
    per_faculty = Counter(d["faculty"] for d in body["departments"])
    assert all(n >= 2 for n in per_faculty.values())
    assert len(body["groups"]) == 6
    assert len(body["students"]) == 150
    per_group = Counter(s["group"] for s in body["students"])
    assert all(20 <= n <= 30 for n in per_group.values()), per_group
    assert 12 <= sum(1 for s in body["staff"] if any(r["role"] == "teacher" for r in s["roles"])) <= 20
    assert 25 <= len(body["parents"]) <= 35


def test_groups_have_courses_and_two_subgroups_used(demo):
    _preset, body, _load, _tt = demo
    for g in body["groups"]:
        assert 1 <= g["course"] <= 4
        assert g["subgroups"] == ["1", "2"]
        subs = Counter(s["subgroup"] for s in body["students"] if s["group"] == g["code"])
        assert set(subs) == {"1", "2"} and abs(subs["1"] - subs["2"]) <= 1


def test_codes_and_logins_unique(demo):
    _preset, body, _load, _tt = demo
    for kind in ("faculties", "departments", "groups", "students", "staff", "parents"):
        codes = [x["code"] for x in body[kind]]
        assert len(codes) == len(set(codes)), kind
    people = _people(body)
    codes = [p["code"] for p in people]
    logins = [p["login"] for p in people]
    assert len(codes) == len(set(codes))
    assert len(logins) == len(set(logins))
    assert "admin" not in logins
    assert all(re.fullmatch(r"[a-z0-9]+", login) for login in logins)
    assert [s["code"] for s in body["students"]] == [f"S{n:04d}" for n in range(1, 151)]
    assert all(s["login"] == s["code"].lower() for s in body["students"])
    assert all(re.fullmatch(r"P\d{3}", p["code"]) for p in body["parents"])


def test_readable_staff_logins(demo):
    _preset, body, _load, _tt = demo
    logins = {s["login"]: s for s in body["staff"]}
    assert {"t01", "dean1", "dean2", "office", "head1"} <= set(logins)
    assert logins["t01"]["code"] == "T01"
    assert [r["role"] for r in logins["office"]["roles"]] == ["academic_office"]


def test_every_account_gets_the_given_password():
    body = demo_data.contingent("oshtu", password="s3cret-demo")
    assert {p["password"] for p in _people(body)} == {"s3cret-demo"}
    assert {p["password"] for p in _people(demo_data.contingent("oshtu"))} == {"demo12345"}


def test_references_exist(demo):
    _preset, body, _load, _tt = demo
    faculties = {f["code"] for f in body["faculties"]}
    departments = {d["code"] for d in body["departments"]}
    groups = {g["code"] for g in body["groups"]}
    students = {s["code"] for s in body["students"]}
    assert all(d["faculty"] in faculties for d in body["departments"])
    assert all(g["department"] in departments for g in body["groups"])
    assert all(s["group"] in groups and s["subgroup"] in ("1", "2") for s in body["students"])
    for parent in body["parents"]:
        assert 1 <= len(parent["children"]) <= 2
        assert set(parent["children"]) <= students
    assert any(len(p["children"]) == 2 for p in body["parents"])  # siblings


def test_staff_roles_and_scopes(demo):
    _preset, body, _load, _tt = demo
    scopes = {
        "directorate": {f["code"] for f in body["faculties"]},
        "department_head": {d["code"] for d in body["departments"]},
        "curator": {g["code"] for g in body["groups"]},
    }
    seen = Counter()
    for s in body["staff"]:
        assert re.fullmatch(r"[TDA]\d{2}", s["code"])
        for r in s["roles"]:
            seen[r["role"]] += 1
            if r["role"] in scopes:
                assert r["scope"] in scopes[r["role"]], (s["code"], r)
            else:
                assert r["role"] in ("teacher", "academic_office") and r["scope"] is None, (s["code"], r)
        if any(r["role"] in ("curator", "department_head") for r in s["roles"]):
            assert {"role": "teacher", "scope": None} in s["roles"]  # curators and heads also teach
    assert seen["directorate"] == 2 and seen["department_head"] == 4 and seen["academic_office"] == 1
    curated = [r["scope"] for s in body["staff"] for r in s["roles"] if r["role"] == "curator"]
    assert sorted(curated) == sorted(g["code"] for g in body["groups"])  # one curator per group


def test_names_are_three_part_and_unique(demo):
    _preset, body, _load, _tt = demo
    names = [p["full_name"] for p in _people(body)]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[^\W\d_]+ [^\W\d_]+ [^\W\d_]+", name), name
        assert not re.search(r"[A-Za-z]", name), name


def test_kyrgyz_names_use_kyrgyz_letters_and_russian_patronymics():
    body = demo_data.contingent("oshtu")
    text = " ".join(p["full_name"] for p in _people(body))
    assert KG_LETTERS <= set(text)
    for s in body["students"]:
        surname, _given, patronymic = s["full_name"].split()
        assert patronymic.endswith(("ович", "евич", "овна", "евна")), s["full_name"]
        female = patronymic.endswith("на")
        assert surname.endswith(("ова", "ева")) if female else surname.endswith(("ов", "ев")), s["full_name"]
    assert any(s["full_name"].endswith("вна") for s in body["students"])
    assert any(s["full_name"].endswith("вич") for s in body["students"])


def test_kostanay_names_are_kazakh():
    body = demo_data.contingent("kostanay")
    text = " ".join(p["full_name"] for p in _people(body))
    assert KZ_LETTERS <= set(text)
    for s in body["students"]:
        assert s["full_name"].endswith(("ұлы", "қызы")), s["full_name"]
    kg_groups = {g["code"] for g in demo_data.contingent("oshtu")["groups"]}
    kz_groups = {g["code"] for g in body["groups"]}
    assert all(re.fullmatch(r"\w{2}-\d-\d{2}", g) for g in kg_groups)  # KG: ПИ-1-24
    assert all(re.fullmatch(r"\w{2}-\d{2}-\d", g) for g in kz_groups)  # KZ: ЮР-24-1


def test_siblings_share_surname_stem_and_father():
    for preset in ("oshtu", "kostanay"):
        body = demo_data.contingent(preset)
        by_code = {s["code"]: s for s in body["students"]}
        for parent in body["parents"]:
            kids = [by_code[c] for c in parent["children"]]
            stems = {k["full_name"].split()[0].removesuffix("а") for k in kids}
            assert stems == {parent["full_name"].split()[0].removesuffix("а")}, parent
            if len(kids) == 2:
                assert kids[0]["group"] != kids[1]["group"]
                fathers = {re.sub(r"(ович|евич|овна|евна|ұлы|қызы)$", "", k["full_name"].split()[2]) for k in kids}
                assert len(fathers) == 1, kids


def test_students_listed_alphabetically_within_group():
    body = demo_data.contingent("oshtu")
    alphabet = demo_data.KG_ALPHABET
    for g in body["groups"]:
        names = [s["full_name"] for s in body["students"] if s["group"] == g["code"]]
        assert names == sorted(names, key=lambda n: demo_data._collation_key(alphabet, n))


def test_name_pools_are_large_enough():
    for pool in (demo_data.KG_MALE, demo_data.KG_FEMALE, demo_data.KG_SURNAMES,
                 demo_data.KZ_MALE, demo_data.KZ_FEMALE, demo_data.KZ_SURNAMES):
        assert len(pool) >= 40
        assert len(pool) == len(set(pool))


# --- load --------------------------------------------------------------------------------------------------


def test_load_shape_and_coverage(demo):
    _preset, body, load, _tt = demo
    disciplines = {d["code"]: d for d in load["disciplines"]}
    assert 8 <= len(disciplines) <= 12
    assert all(d["control"] in ("exam", "credit") and 1 <= d["credits"] <= 10 for d in disciplines.values())
    teachers = {s["code"] for s in body["staff"] if {"role": "teacher", "scope": None} in s["roles"]}
    groups = {g["code"] for g in body["groups"]}
    for a in load["assignments"]:
        assert a["teacher"] in teachers and a["discipline"] in disciplines and a["group"] in groups
        assert a["kind"] in ("lecture", "practice", "lab")
        assert ("subgroup" in a) == (a["kind"] != "lecture")
    for g in groups:
        mine = [a for a in load["assignments"] if a["group"] == g]
        taught = {a["discipline"] for a in mine}
        assert 4 <= len(taught) <= 5
        for disc in taught:
            kinds = [(a["kind"], a.get("subgroup")) for a in mine if a["discipline"] == disc]
            assert [k for k in kinds if k[0] == "lecture"] == [("lecture", None)]  # the whole group
            split = sorted(k for k in kinds if k[0] != "lecture")
            assert [k[1] for k in split] == ["1", "2"] and split[0][0] == split[1][0]  # each subgroup
    keys = [(a["teacher"], a["discipline"], a["group"], a["kind"], a.get("subgroup")) for a in load["assignments"]]
    assert len(keys) == len(set(keys))


# --- timetable ---------------------------------------------------------------------------------------------


def _key(s):
    return (s["teacher"], s["discipline"], s["group"], s["kind"], s.get("subgroup"))


def test_timetable_term_and_times(demo):
    preset, _body, _load, tt = demo
    assert tt["term"] == {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"}
    offset = timedelta(hours=5 if preset == "kostanay" else 6)
    assert len(tt["sessions"]) > 500
    for s in tt["sessions"]:
        start = datetime.fromisoformat(s["starts_at"])
        assert start.utcoffset() == offset
        assert date(2026, 9, 1) <= start.date() <= date(2026, 12, 31)
        assert start.weekday() < 6
        assert s["minutes"] == 80
        end = start + timedelta(minutes=s["minutes"])
        assert start.hour >= 8 and (end.hour, end.minute) <= (17, 0)
        assert re.fullmatch(r"\d-\d{3}", s["room"])
    refs = [s["ref"] for s in tt["sessions"]]
    assert len(refs) == len(set(refs))
    assert all(re.fullmatch(r"[A-Z0-9/-]+:[A-Z]+:(lecture|practice|lab):\d{4}-\d\d-\d\dT\d\d:\d\d", r) for r in refs)


def test_timetable_follows_the_load(demo):
    _preset, _body, load, tt = demo
    assignments = {_key(a) for a in load["assignments"]}
    assert all(_key(s) in assignments for s in tt["sessions"])
    assert {_key(s) for s in tt["sessions"]} == assignments  # and every assignment is scheduled
    for s in tt["sessions"]:
        assert ("subgroup" in s) == (s["kind"] != "lecture")


def test_timetable_has_no_double_booking(demo):
    _preset, _body, _load, tt = demo
    teacher, room = Counter(), Counter()
    whole, sub = Counter(), Counter()
    for s in tt["sessions"]:
        at = s["starts_at"]
        teacher[(s["teacher"], at)] += 1
        room[(s["room"], at)] += 1
        if s.get("subgroup"):
            sub[(s["group"], s["subgroup"], at)] += 1
        else:
            whole[(s["group"], at)] += 1
    assert max(teacher.values()) == 1
    assert max(room.values()) == 1
    assert max(whole.values()) == 1
    assert max(sub.values()) == 1
    for group, sg, at in sub:
        assert (group, at) not in whole, (group, sg, at)  # a lecture takes both subgroups
    # all pairs start on the fixed grid, so equal start times are the only way two sessions can overlap
    assert {datetime.fromisoformat(s["starts_at"]).time() for s in tt["sessions"]} <= set(demo_data.PAIR_STARTS)


def test_timetable_skips_public_holidays():
    tt = demo_data.timetable("kostanay")
    days = {datetime.fromisoformat(s["starts_at"]).date() for s in tt["sessions"]}
    assert date(2026, 12, 16) not in days  # Independence Day of Kazakhstan, a Wednesday
    assert date(2026, 12, 15) in days


def test_timetable_is_parameterised_by_term():
    tt = demo_data.timetable("oshtu", date(2027, 2, 1), date(2027, 2, 28))
    assert tt["term"] == {"code": "2026-2027-2", "starts": "2027-02-01", "ends": "2027-02-28"}
    days = {datetime.fromisoformat(s["starts_at"]).date() for s in tt["sessions"]}
    assert min(days) >= date(2027, 2, 1) and max(days) <= date(2027, 2, 28)
    assert tt["sessions"][0]["ref"].endswith(tt["sessions"][0]["starts_at"][:16])
    with pytest.raises(ValueError):
        demo_data.timetable("oshtu", date(2026, 9, 1), date(2026, 8, 1))


# --- determinism and the newcomer's table ------------------------------------------------------------------


def test_deterministic():
    for preset in ("oshtu", "kostanay"):
        assert demo_data.contingent(preset) == demo_data.contingent(preset)
        assert demo_data.load(preset) == demo_data.load(preset)
        assert demo_data.timetable(preset) == demo_data.timetable(preset)
        assert demo_data.demo_logins(preset) == demo_data.demo_logins(preset)


def test_deterministic_across_processes():
    import json
    import subprocess

    code = (
        "import json, sys; sys.path.insert(0, 'deploy'); import demo_data as d; "
        "print(json.dumps([d.contingent('oshtu'), d.load('oshtu'), d.timetable('oshtu')], ensure_ascii=False))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    here = [demo_data.contingent("oshtu"), demo_data.load("oshtu"), demo_data.timetable("oshtu")]
    assert json.loads(out) == json.loads(json.dumps(here, ensure_ascii=False))


def test_presets_differ():
    assert demo_data.contingent("oshtu")["students"] != demo_data.contingent("jagu")["students"]


def test_demo_logins_cover_every_role_but_admin():
    rows = demo_data.demo_logins("oshtu", "pw-1")
    roles = {r["role"] for r in rows}
    assert roles == {"academic_office", "directorate", "department_head", "curator", "teacher", "student",
                     "parent"}
    body = demo_data.contingent("oshtu", "pw-1")
    logins = {p["login"] for p in _people(body)}
    assert all(r["login"] in logins and r["password"] == "pw-1" for r in rows)
    assert rows[0]["login"] == "office"
