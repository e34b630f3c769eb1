"""A demo university as the JSON bodies of the public import API (docs/API.md, "Loading the year").

Pure and deterministic: no I/O, every random choice comes from `random.Random` seeded with the preset name, so
the same call always answers the same body and importing it again is a no-op (imports are idempotent by code).

- `contingent(preset, password)`: body of `POST /api/v1/import/contingent`
- `load(preset)`: body of `POST /api/v1/import/load`
- `timetable(preset, term_start, term_end)`: body of `POST /api/v1/import/timetable`
- `demo_logins(preset, password)`: a few accounts per role, for the newcomer's table

Kyrgyz presets (jagu, oshsu, oshtu and any other) get a KG university with Kyrgyz names written the Russian
way ("Асанов Бакыт Эркинович"); `kostanay` gets a KZ academy with Kazakh names ("Серікбаев Нұрлан Қайратұлы").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import holidays

DEFAULT_PASSWORD = "demo12345"
DEFAULT_TERM_START = date(2026, 9, 1)
STUDENTS_PER_GROUP = 25
PAIR_MINUTES = 80
# Pairs of 80 minutes inside 08:00-17:00 with 10-minute breaks and a lunch break after the third pair.
PAIR_STARTS = (time(8, 0), time(9, 30), time(11, 0), time(13, 0), time(14, 30))
WEEKDAYS = 5  # Monday..Friday
PARENT_COUNT = 30
SIBLING_FAMILIES = 8  # of the parents, this many have two children studying here

# ---------------------------------------------------------------------------------------------------------
# Names. Kyrgyz given names used as fathers' names end in a consonant (or -й), so the Russian-style patronymic
# is regular: Эркин -> Эркинович / Эркиновна, Сүйүнбай -> Сүйүнбаевич / Сүйүнбаевна.

KG_MALE = (
    "Бакыт", "Эркин", "Марат", "Нурлан", "Талант", "Азамат", "Улан", "Максат", "Мирлан", "Алмаз",
    "Бектур", "Жыргалбек", "Асылбек", "Кубанычбек", "Самат", "Урмат", "Данияр", "Канат", "Руслан", "Замир",
    "Нурбек", "Эрлан", "Кайрат", "Тилек", "Жаныбек", "Медер", "Адилет", "Азат", "Чынгыз", "Элмир",
    "Эмил", "Темирлан", "Нурсултан", "Айбек", "Арстан", "Бекзат", "Ислам", "Тимур", "Курманбек", "Өмүрбек",
    "Үсөн", "Жеңиш", "Төлөгөн", "Мелис", "Эрмек", "Кеңеш", "Бекболот", "Эсенгул", "Мырзабек", "Үмөт",
    "Дөөлөт", "Сүйүнбай",
)
KG_FEMALE = (
    "Айгерим", "Айжан", "Айпери", "Айсулуу", "Асель", "Бегимай", "Бермет", "Бурул", "Гүлзат", "Гүлмира",
    "Гүлнара", "Динара", "Жамиля", "Жылдыз", "Жазгүл", "Жаңыл", "Зарина", "Калыйча", "Каныкей", "Канышай",
    "Мээрим", "Назгүл", "Назира", "Нургүл", "Нуриза", "Салтанат", "Элнура", "Элиза", "Эльмира", "Азиза",
    "Алтынай", "Толгонай", "Чынара", "Чолпон", "Акмөөр", "Сезим", "Тумар", "Айжамал", "Айгүл", "Бүбүсара",
    "Күнсулуу", "Аида", "Нуржамал", "Сайкал",
)
KG_SURNAMES = (  # male form; the female form adds "а"
    "Асанов", "Токтогулов", "Жээнбеков", "Өмүрбеков", "Үсөнов", "Акматов", "Абдыкадыров", "Сыдыков",
    "Осмонов", "Мамытов", "Иманалиев", "Кадыров", "Турдубаев", "Бейшеналиев", "Жумабаев", "Исаков", "Маматов",
    "Алымкулов", "Эсенкулов", "Дөөлөтов", "Төлөгөнов", "Сүйүнбаев", "Үмөталиев", "Кеңешов", "Жеңишбеков",
    "Сатыбалдиев", "Ырысбеков", "Курманалиев", "Нурматов", "Карыпбеков", "Мойдунов", "Орозбеков", "Шаршеев",
    "Чыныбаев", "Эшимов", "Абдраимов", "Токтосунов", "Айтматов", "Сагынбаев", "Темиров", "Бөрүбаев",
    "Түгөлбаев",
)
KZ_MALE = (
    "Нұрлан", "Қайрат", "Серік", "Ерлан", "Бауыржан", "Асқар", "Дәурен", "Ерболат", "Жандос", "Мұрат",
    "Қанат", "Арман", "Айдар", "Бекзат", "Ержан", "Ғалым", "Дархан", "Әділет", "Нұрсұлтан", "Олжас",
    "Рустем", "Санжар", "Талғат", "Тимур", "Ұлан", "Шыңғыс", "Ілияс", "Әлихан", "Азамат", "Берік",
    "Бақыт", "Ерік", "Жасұлан", "Марат", "Самат", "Қуаныш", "Төлеген", "Ғабит", "Дәулет", "Ерасыл",
    "Мирас", "Нұрбол", "Өмірзақ", "Жеңіс", "Әсет", "Бақытжан",
)
KZ_FEMALE = (
    "Гүлнәр", "Айгерім", "Әсем", "Аружан", "Динара", "Жанар", "Мөлдір", "Гүлмира", "Айнұр", "Сәуле",
    "Ақерке", "Балжан", "Дана", "Жансая", "Інкәр", "Қарлығаш", "Ләззат", "Меруерт", "Назерке", "Нұргүл",
    "Сабина", "Томирис", "Ұлжан", "Әйгерім", "Айжан", "Әлия", "Гүлжан", "Дариға", "Жұлдыз", "Камила",
    "Мадина", "Нәзира", "Перизат", "Салтанат", "Толғанай", "Шынар", "Үміт", "Ботагөз", "Жібек", "Күнсұлу",
    "Ақбота", "Әйгүл", "Раушан",
)
KZ_SURNAMES = (  # male form; the female form adds "а"
    "Серікбаев", "Әбілов", "Нұрланов", "Қасымов", "Оспанов", "Жұмабаев", "Төлеуов", "Ахметов", "Сейітов",
    "Бекмұхамбетов", "Исабеков", "Құдайбергенов", "Мұратов", "Әлиев", "Байжанов", "Тұрсынов", "Сәрсенбаев",
    "Омаров", "Ысқақов", "Жақсылықов", "Ермеков", "Қалиев", "Нұрпейісов", "Әбдірахманов", "Сұлтанов",
    "Есенов", "Абдуллин", "Бейсенов", "Мұқанов", "Қожахметов", "Ғабдуллин", "Үсенов", "Өтебаев", "Дүйсенов",
    "Кенжебаев", "Рахымов", "Жүсіпов", "Сағынтаев", "Иманғалиев", "Мамыров", "Тәжібаев", "Шәкенов",
)

KG_ALPHABET = "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя"
KZ_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"


def _patronymic_ru(father: str, male: bool) -> str:
    """Russian-style patronymic as Kyrgyz documents write it: Эркинович / Эркиновна."""
    if father.endswith("й"):
        return father[:-1] + ("евич" if male else "евна")
    return father + ("ович" if male else "овна")


def _patronymic_kz(father: str, male: bool) -> str:
    """Kazakh patronymic written fused, as in current KZ documents: Қайратұлы / Серікқызы."""
    return father + ("ұлы" if male else "қызы")


# ---------------------------------------------------------------------------------------------------------
# The two demo institutions. Codes of faculties, departments and disciplines are ASCII (they travel in URLs
# and scopes); group codes are written the way each country writes them (KG "ПИ-1-24", KZ "ЮР-24-1").


@dataclass(frozen=True)
class Discipline:
    code: str
    name: str
    control: str  # exam | credit
    credits: int
    department: str
    practice_kind: str  # practice | lab: the subgroup sessions


@dataclass(frozen=True)
class Profile:
    country: str  # KG | KZ
    utc_offset: int  # hours
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    alphabet: str
    faculties: tuple[tuple[str, str], ...]  # (code, name)
    # (code, faculty, name, number of plain teachers besides the head)
    departments: tuple[tuple[str, str, str, int], ...]
    groups: tuple[tuple[str, str, int, tuple[str, ...]], ...]  # (code, department, course, curriculum)
    disciplines: tuple[Discipline, ...]
    lecture_rooms: tuple[str, ...]
    practice_rooms: tuple[str, ...]
    lab_rooms: tuple[str, ...]
    patronymic: Callable[[str, bool], str]  # (father's given name, male) -> patronymic

    def person(self, surname: str, given: str, father: str, male: bool) -> str:
        stem = surname if male else surname + "а"
        return f"{stem} {given} {self.patronymic(father, male)}"


KG_PROFILE = Profile(
    country="KG",
    utc_offset=6,  # Asia/Bishkek
    male=KG_MALE,
    female=KG_FEMALE,
    surnames=KG_SURNAMES,
    alphabet=KG_ALPHABET,
    faculties=(
        ("FET", "Инженердик-технологиялык факультет"),
        ("FEM", "Экономика жана менеджмент факультети"),
    ),
    departments=(
        ("SE", "FET", "Программалык инженерия кафедрасы", 3),
        ("EP", "FET", "Электр энергетикасы кафедрасы", 2),
        ("EC", "FEM", "Экономика жана финансы кафедрасы", 3),
        ("MG", "FEM", "Менеджмент жана гуманитардык илимдер кафедрасы", 6),
    ),
    groups=(
        ("ПИ-1-26", "SE", 1, ("ALG", "PRG", "PHY", "HIS", "KYR")),
        ("ПИ-1-24", "SE", 3, ("DB", "ELT", "ENG", "MGT")),
        ("ЭЭ-1-25", "EP", 2, ("PHY", "ELT", "ALG", "ENG", "HIS")),
        ("ЭК-1-25", "EC", 2, ("MIC", "ACC", "ALG", "ENG")),
        ("ЭК-1-23", "EC", 4, ("ACC", "MGT", "DB", "ENG")),
        ("МН-1-26", "MG", 1, ("MGT", "MIC", "HIS", "KYR", "ENG")),
    ),
    disciplines=(
        Discipline("ALG", "Сызыктуу алгебра жана аналитикалык геометрия", "exam", 4, "SE", "practice"),
        Discipline("PRG", "Программалоонун негиздери", "exam", 5, "SE", "lab"),
        Discipline("DB", "Маалыматтар базасы", "exam", 5, "SE", "lab"),
        Discipline("PHY", "Физика", "exam", 5, "EP", "lab"),
        Discipline("ELT", "Электротехниканын теориялык негиздери", "exam", 5, "EP", "lab"),
        Discipline("MIC", "Микроэкономика", "exam", 4, "EC", "practice"),
        Discipline("ACC", "Бухгалтердик эсеп", "exam", 4, "EC", "practice"),
        Discipline("MGT", "Менеджменттин негиздери", "credit", 3, "MG", "practice"),
        Discipline("ENG", "Англис тили", "credit", 3, "MG", "practice"),
        Discipline("HIS", "Кыргызстандын тарыхы", "credit", 3, "MG", "practice"),
        Discipline("KYR", "Кыргыз тили", "credit", 2, "MG", "practice"),
    ),
    lecture_rooms=("1-101", "1-204", "2-110", "2-215", "3-301", "3-305"),
    practice_rooms=("3-210", "3-212", "3-214", "4-104", "4-106", "4-108", "4-110", "4-112"),
    lab_rooms=("5-201", "5-202", "5-203", "2-012", "2-014", "2-016"),
    patronymic=_patronymic_ru,
)

KZ_PROFILE = Profile(
    country="KZ",
    utc_offset=5,  # Kazakhstan, single time zone since 2024
    male=KZ_MALE,
    female=KZ_FEMALE,
    surnames=KZ_SURNAMES,
    alphabet=KZ_ALPHABET,
    faculties=(
        ("FLE", "Құқық қорғау қызметі факультеті"),
        ("FPT", "Кәсіби даярлау факультеті"),
    ),
    departments=(
        ("CL", "FLE", "Қылмыстық құқық және криминология кафедрасы", 3),
        ("CP", "FLE", "Қылмыстық іс жүргізу және криминалистика кафедрасы", 3),
        ("ST", "FPT", "Арнайы-тактикалық даярлық кафедрасы", 3),
        ("GH", "FPT", "Жалпы гуманитарлық пәндер кафедрасы", 5),
    ),
    groups=(
        ("ЮР-26-1", "CL", 1, ("CON", "HIS", "KAZ", "ENG", "ICT")),
        ("ЮР-24-1", "CL", 3, ("CRL", "CPR", "CRM", "ENG")),
        ("ТІ-26-1", "CP", 1, ("CON", "HIS", "KAZ", "ICT")),
        ("ТІ-25-1", "CP", 2, ("CRL", "FOR", "ENG", "TAC")),
        ("ҚҚ-25-1", "ST", 2, ("CRL", "TAC", "FIR", "KAZ", "ENG")),
        ("ҚҚ-23-1", "ST", 4, ("CPR", "FOR", "TAC", "FIR")),
    ),
    disciplines=(
        Discipline("CRL", "Қылмыстық құқық", "exam", 5, "CL", "practice"),
        Discipline("CRM", "Криминология", "credit", 3, "CL", "practice"),
        Discipline("CON", "Қазақстан Республикасының конституциялық құқығы", "exam", 4, "CL", "practice"),
        Discipline("CPR", "Қылмыстық іс жүргізу", "exam", 5, "CP", "practice"),
        Discipline("FOR", "Криминалистика", "exam", 5, "CP", "lab"),
        Discipline("ICT", "Ақпараттық-коммуникациялық технологиялар", "exam", 5, "CP", "lab"),
        Discipline("TAC", "Тактикалық-арнайы даярлық", "credit", 4, "ST", "practice"),
        Discipline("FIR", "Атыс даярлығы", "credit", 3, "ST", "practice"),
        Discipline("KAZ", "Кәсіби қазақ тілі", "credit", 3, "GH", "practice"),
        Discipline("ENG", "Кәсіби шетел тілі", "credit", 3, "GH", "practice"),
        Discipline("HIS", "Қазақстанның қазіргі заман тарихы", "exam", 5, "GH", "practice"),
    ),
    lecture_rooms=("1-101", "1-203", "2-105", "2-210", "3-301", "3-310"),
    practice_rooms=("3-210", "3-212", "3-214", "4-102", "4-104", "4-106", "4-108", "4-110"),
    lab_rooms=("2-014", "2-016", "5-201", "5-202", "5-203", "5-204"),
    patronymic=_patronymic_kz,
)

KZ_PRESETS = frozenset({"kostanay"})


def profile(preset: str) -> Profile:
    """The demo institution of a preset: a KZ academy for Kazakh presets, a KG university for any other."""
    return KZ_PROFILE if preset in KZ_PRESETS else KG_PROFILE


def _rng(preset: str, purpose: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random.Random: stable across processes (unlike hash()).
    return random.Random(f"ejournal-demo:{preset}:{purpose}")


def _collation_key(alphabet: str, text: str) -> tuple[int, ...]:
    """Order names by the national alphabet (ң after н, ө after о, ү after у), as a group list is printed."""
    return tuple(alphabet.index(ch) if ch in alphabet else -1 if ch in " -" else 1000 + ord(ch)
                 for ch in text.lower())


# ---------------------------------------------------------------------------------------------------------
# Contingent


@dataclass
class _Student:
    group: str
    male: bool
    surname: str = ""
    given: str = ""
    father: str = ""
    full_name: str = ""
    code: str = ""
    subgroup: str = ""


@dataclass
class _Family:
    surname: str
    father: str
    children: list[_Student]


def _staff_plan(p: Profile) -> list[tuple[str, str, str, bool]]:
    """Teaching staff: (code, login, department, is_head). Plain teachers T01.. first, then the heads."""
    plan: list[tuple[str, str, str, bool]] = []
    n = 0
    for dept, _faculty, _name, plain in p.departments:
        for _ in range(plain):
            n += 1
            plan.append((f"T{n:02d}", f"t{n:02d}", dept, False))
    for i, (dept, _faculty, _name, _plain) in enumerate(p.departments, start=1):
        n += 1
        plan.append((f"T{n:02d}", f"head{i}", dept, True))
    return plan


def _curators(p: Profile) -> dict[str, str]:
    """Group code -> curator's staff code: a plain teacher of the group's department, one group each."""
    plan = _staff_plan(p)
    taken: set[str] = set()
    out: dict[str, str] = {}
    for group, dept, _course, _curriculum in p.groups:
        own = [c for c, _login, d, head in plan if d == dept and not head and c not in taken]
        other = [c for c, _login, _d, head in plan if not head and c not in taken]
        code = (own or other)[0]
        taken.add(code)
        out[group] = code
    return out


class _Names:
    """Draws adult and student names, never the same full name twice."""

    def __init__(self, p: Profile, rng: random.Random) -> None:
        self.p, self.rng, self.used = p, rng, set()

    def unique(self, surname: str, father: str, male: bool, avoid: set[str] | None = None) -> tuple[str, str]:
        pool = self.p.male if male else self.p.female
        for _ in range(1000):
            given = self.rng.choice(pool)
            full = self.p.person(surname, given, father, male)
            if given not in (avoid or ()) and full not in self.used:
                self.used.add(full)
                return given, full
        raise RuntimeError(f"no free name for {surname}/{father}")  # pragma: no cover

    def child(self, surname: str, father: str, male: bool) -> tuple[str, str]:
        return self.unique(surname, father, male, avoid={father})

    def anyone(self, male: bool) -> str:
        return self.unique(self.rng.choice(self.p.surnames), self.rng.choice(self.p.male), male)[1]


def _people(preset: str) -> tuple[list[_Student], list[tuple[_Family, bool, str]], dict[str, str]]:
    """Students (coded, in group order), parents (family, is_father, full name) and staff names by code."""
    p = profile(preset)
    rng = _rng(preset, "contingent")
    names = _Names(p, rng)

    students = [_Student(group=g[0], male=rng.random() < 0.5)
                for g in p.groups for _ in range(STUDENTS_PER_GROUP)]

    # Families: each parent has one child here, a few have two in different groups.
    free = list(range(len(students)))
    rng.shuffle(free)
    families: list[_Family] = []
    for i in range(PARENT_COUNT):
        first = students[free.pop()]
        children = [first]
        if i < SIBLING_FAMILIES:
            j = next(k for k in reversed(range(len(free))) if students[free[k]].group != first.group)
            children.append(students[free.pop(j)])
        families.append(_Family(rng.choice(p.surnames), rng.choice(p.male), children))

    for fam in families:
        for child in fam.children:
            child.surname, child.father = fam.surname, fam.father
    for st in students:
        if not st.surname:
            st.surname, st.father = rng.choice(p.surnames), rng.choice(p.male)
        st.given, st.full_name = names.child(st.surname, st.father, st.male)

    # Codes follow the printed group lists: groups in order, students alphabetically; the first half of each
    # list is subgroup 1.
    ordered: list[_Student] = []
    for group, _dept, _course, _curriculum in p.groups:
        members = sorted((s for s in students if s.group == group),
                         key=lambda s: _collation_key(p.alphabet, s.full_name))
        half = (len(members) + 1) // 2
        for i, st in enumerate(members):
            st.subgroup = "1" if i < half else "2"
        ordered.extend(members)
    for n, st in enumerate(ordered, start=1):
        st.code = f"S{n:04d}"

    parents: list[tuple[_Family, bool, str]] = []
    for fam in sorted(families, key=lambda f: min(c.code for c in f.children)):
        is_father = rng.random() < 0.4
        if is_father:
            given = fam.father
            full = p.person(fam.surname, given, rng.choice(p.male), True)
            if full in names.used:  # this father's name is taken already: the mother is the contact then
                is_father = False
            else:
                names.used.add(full)
        if not is_father:
            taken = {c.given for c in fam.children}
            full = names.unique(fam.surname, rng.choice(p.male), False, avoid=taken)[1]
        parents.append((fam, is_father, full))

    staff_names = {code: names.anyone(rng.random() < 0.55) for code, _l, _d, _h in _staff_plan(p)}
    for code in ("D01", "D02", "A01"):
        staff_names[code] = names.anyone(rng.random() < 0.5)
    return ordered, parents, staff_names


def contingent(preset: str = "oshtu", password: str = DEFAULT_PASSWORD) -> dict:
    """Body of `POST /api/v1/import/contingent`: faculties, departments, groups, students, staff, parents."""
    p = profile(preset)
    students, parents, staff_names = _people(preset)
    curators = _curators(p)
    curated = {teacher: group for group, teacher in curators.items()}

    staff: list[dict] = []
    for code, login, dept, head in _staff_plan(p):
        roles = [{"role": "department_head", "scope": dept}] if head else []
        roles.append({"role": "teacher", "scope": None})
        if code in curated:
            roles.append({"role": "curator", "scope": curated[code]})
        staff.append({"code": code, "full_name": staff_names[code], "login": login, "password": password,
                      "department": dept, "roles": roles})
    for i, (faculty, _name) in enumerate(p.faculties, start=1):
        code = f"D{i:02d}"
        staff.append({"code": code, "full_name": staff_names[code], "login": f"dean{i}", "password": password,
                      "roles": [{"role": "directorate", "scope": faculty}]})
    staff.append({"code": "A01", "full_name": staff_names["A01"], "login": "office", "password": password,
                  "roles": [{"role": "academic_office", "scope": None}]})

    return {
        "faculties": [{"code": c, "name": n} for c, n in p.faculties],
        "departments": [{"code": c, "faculty": f, "name": n} for c, f, n, _t in p.departments],
        "groups": [{"code": c, "department": d, "course": k, "subgroups": ["1", "2"]}
                   for c, d, k, _cur in p.groups],
        "students": [
            {"code": s.code, "full_name": s.full_name, "group": s.group, "subgroup": s.subgroup,
             "login": s.code.lower(), "password": password}
            for s in students
        ],
        "staff": staff,
        "parents": [
            {"code": f"P{i:03d}", "full_name": full, "login": f"p{i:03d}", "password": password,
             "children": [c.code for c in sorted(fam.children, key=lambda c: c.code)]}
            for i, (fam, _is_father, full) in enumerate(parents, start=1)
        ],
    }


# ---------------------------------------------------------------------------------------------------------
# Teaching load


def load(preset: str = "oshtu") -> dict:
    """Body of `POST /api/v1/import/load`: disciplines, and per group and discipline a lecture teacher for the
    whole group and a practice/lab teacher for each subgroup, drawn from the discipline's department."""
    p = profile(preset)
    rng = _rng(preset, "load")
    plan = _staff_plan(p)
    by_code = {d.code: d for d in p.disciplines}
    weekly: dict[str, int] = {code: 0 for code, _l, _d, _h in plan}

    def pick(dept: str, exclude: str | None = None) -> str:
        pool = [code for code, _l, d, _h in plan if d == dept and code != exclude]
        best = min(pool, key=lambda c: (weekly[c], rng.random()))
        weekly[best] += 1
        return best

    assignments: list[dict] = []
    for group, _dept, _course, curriculum in p.groups:
        for disc_code in curriculum:
            disc = by_code[disc_code]
            assignments.append({"teacher": pick(disc.department), "discipline": disc.code, "group": group,
                                "kind": "lecture"})
            first = pick(disc.department)
            second = pick(disc.department, exclude=first)  # two teachers, so both subgroups can meet at once
            for sub, teacher in (("1", first), ("2", second)):
                assignments.append({"teacher": teacher, "discipline": disc.code, "group": group,
                                    "kind": disc.practice_kind, "subgroup": sub})
    return {
        "disciplines": [{"code": d.code, "name": d.name, "control": d.control, "credits": d.credits}
                        for d in p.disciplines],
        "assignments": assignments,
    }


# ---------------------------------------------------------------------------------------------------------
# Timetable

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүіһ",
    "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh sch - y - e yu ya a g q n o u u i h".split(),
    strict=True,
)) | {"ъ": "", "ь": ""}


def ascii_code(code: str) -> str:
    """A group code in Latin letters for session refs: "ПИ-1-24" -> "PI-1-24", "ҚҚ-25-1" -> "QQ-25-1"."""
    return "".join(_TRANSLIT.get(ch.lower(), ch) for ch in code).upper()


def term_of(term_start: date, term_end: date | None = None) -> dict:
    """The term around a start date: autumn is term 1 (by default to 31 Dec), spring term 2 (to 31 May)."""
    y = term_start.year
    if term_start.month >= 8:
        code, default_end = f"{y}-{y + 1}-1", date(y, 12, 31)
    else:
        code, default_end = f"{y - 1}-{y}-2", date(y, 5, 31)
    end = term_end or default_end
    if end < term_start:
        raise ValueError(f"term ends {end} before it starts {term_start}")
    return {"code": code, "starts": term_start.isoformat(), "ends": end.isoformat()}


@dataclass
class _Slot:
    day: int  # 0 = Monday
    pair: int  # index into PAIR_STARTS


@dataclass
class _Weekly:
    assignment: dict
    slot: _Slot
    room: str


def weekly_schedule(preset: str = "oshtu") -> list[_Weekly]:
    """One week's pattern: each assignment of the load once a week, placed greedily so that no teacher, group,
    subgroup or room is in two places at once; a discipline's two subgroups meet in parallel when they can."""
    p = profile(preset)
    rng = _rng(preset, "timetable")
    body = load(preset)
    by_code = {d.code: d for d in p.disciplines}

    teacher_busy: set[tuple[str, int, int]] = set()
    group_busy: set[tuple[str, str, int, int]] = set()  # (group, subgroup, day, pair); a lecture takes both
    room_busy: set[tuple[str, int, int]] = set()
    day_load: dict[tuple[str, int], int] = {}
    out: list[_Weekly] = []

    def subs(a: dict) -> tuple[str, ...]:
        return (a["subgroup"],) if a.get("subgroup") else ("1", "2")

    def rooms_for(a: dict) -> tuple[str, ...]:
        if a["kind"] == "lecture":
            return p.lecture_rooms
        return p.lab_rooms if by_code[a["discipline"]].practice_kind == "lab" else p.practice_rooms

    def free(a: dict, s: _Slot) -> bool:
        return (a["teacher"], s.day, s.pair) not in teacher_busy and all(
            (a["group"], sub, s.day, s.pair) not in group_busy for sub in subs(a))

    def try_place(units: list[dict]) -> bool:
        group = units[0]["group"]
        slots = [_Slot(d, q) for d in range(WEEKDAYS) for q in range(len(PAIR_STARTS))]
        # Spread over the week, early pairs first, so each group has a compact two or three pairs a day.
        slots.sort(key=lambda s: (day_load.get((group, s.day), 0), s.pair, rng.random()))
        for s in slots:
            if len({u["teacher"] for u in units}) < len(units) or not all(free(u, s) for u in units):
                continue
            chosen: list[str] = []
            for u in units:
                room = next((r for r in rooms_for(u)
                             if (r, s.day, s.pair) not in room_busy and r not in chosen), None)
                if room is None:
                    break
                chosen.append(room)
            if len(chosen) < len(units):
                continue
            for u, room in zip(units, chosen, strict=True):
                teacher_busy.add((u["teacher"], s.day, s.pair))
                group_busy.update((u["group"], sub, s.day, s.pair) for sub in subs(u))
                room_busy.add((room, s.day, s.pair))
                out.append(_Weekly(u, s, room))
            day_load[(group, s.day)] = day_load.get((group, s.day), 0) + 1
            return True
        return False

    lectures = [a for a in body["assignments"] if a["kind"] == "lecture"]
    practice: dict[tuple[str, str], list[dict]] = {}
    for a in body["assignments"]:
        if a["kind"] != "lecture":
            practice.setdefault((a["group"], a["discipline"]), []).append(a)
    rng.shuffle(lectures)
    pairs = list(practice.values())
    rng.shuffle(pairs)
    for a in lectures:
        if not try_place([a]):
            raise RuntimeError(f"demo timetable: no slot for {a}")  # pragma: no cover
    for both in pairs:
        if try_place(both):
            continue
        for a in both:  # no common slot: each subgroup on its own
            if not try_place([a]):
                raise RuntimeError(f"demo timetable: no slot for {a}")  # pragma: no cover
    out.sort(key=lambda w: (w.slot.day, w.slot.pair, w.assignment["group"], w.assignment.get("subgroup", "")))
    return out


def timetable(
    preset: str = "oshtu", term_start: date = DEFAULT_TERM_START, term_end: date | None = None
) -> dict:
    """Body of `POST /api/v1/import/timetable`: the weekly pattern repeated over the term, the country's
    public holidays left out (RULES.md §5: working days follow the national calendar), local time with offset.
    """
    p = profile(preset)
    term = term_of(term_start, term_end)
    start, end = date.fromisoformat(term["starts"]), date.fromisoformat(term["ends"])
    days_off = holidays.country_holidays(p.country, years=range(start.year, end.year + 1))
    tz = timezone(timedelta(hours=p.utc_offset))
    pattern = weekly_schedule(preset)

    sessions: list[dict] = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        for w in pattern:
            day = monday + timedelta(days=w.slot.day)
            if day < start or day > end or day in days_off:
                continue
            starts_at = datetime.combine(day, PAIR_STARTS[w.slot.pair], tzinfo=tz)
            a = w.assignment
            group_ref = ascii_code(a["group"]) + (f"/{a['subgroup']}" if a.get("subgroup") else "")
            session = {
                "ref": f"{group_ref}:{a['discipline']}:{a['kind']}:{starts_at:%Y-%m-%dT%H:%M}",
                "discipline": a["discipline"],
                "group": a["group"],
                "kind": a["kind"],
                "teacher": a["teacher"],
                "starts_at": starts_at.isoformat(),
                "minutes": PAIR_MINUTES,
                "room": w.room,
            }
            if a.get("subgroup"):
                session["subgroup"] = a["subgroup"]
            sessions.append(session)
        monday += timedelta(days=7)
    return {"term": term, "sessions": sessions}


# ---------------------------------------------------------------------------------------------------------
# The newcomer's table


def demo_logins(preset: str = "oshtu", password: str = DEFAULT_PASSWORD) -> list[dict]:
    """A few accounts per role (the IT admin excluded): role, login, password, code, full name, scope."""
    body = contingent(preset, password)
    rows: list[dict] = []

    def add(role: str, login: str, code: str, name: str, scope: str | None) -> None:
        rows.append({"role": role, "login": login, "password": password, "code": code, "full_name": name,
                     "scope": scope or ""})

    def staff_with(role: str, limit: int) -> None:
        found = [(s, r) for s in body["staff"] for r in s["roles"] if r["role"] == role]
        if role == "teacher":  # plain teachers read best: t01, t02, ...
            found = [(s, r) for s, r in found if len(s["roles"]) == 1] or found
        for s, r in found[:limit]:
            add(role, s["login"], s["code"], s["full_name"], r["scope"])

    staff_with("academic_office", 1)
    staff_with("directorate", 2)
    staff_with("department_head", 2)
    staff_with("curator", 2)
    staff_with("teacher", 3)
    seen_groups: set[str] = set()
    for s in body["students"]:
        if s["group"] not in seen_groups and len(seen_groups) < 3:
            seen_groups.add(s["group"])
            add("student", s["login"], s["code"], s["full_name"], f"{s['group']} / {s['subgroup']}")
    for par in body["parents"][:2]:
        add("parent", par["login"], par["code"], par["full_name"], ", ".join(par["children"]))
    return rows
