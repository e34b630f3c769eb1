"""What the browser tests share: Debian's Chromium, the pages opened in fresh contexts with their console
watched, the screenshots, and the journal the tests work in."""

from __future__ import annotations

import os
from pathlib import Path

from support import eventually, person

CHROMIUM = os.environ.get("EJOURNAL_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
PW = "browser-password-1"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def launch(playwright):
    """Debian's Chromium (ensure_chromium in deploy/lib.sh installs it); Playwright's own browsers are never
    downloaded."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])


class Pages:
    """Opens pages (each in a fresh context: its own sessionStorage, as another person's phone or PC) and
    collects their console errors and uncaught exceptions."""

    def __init__(self, browser, url: str):
        self.browser, self.url, self.errors, self.contexts = browser, url, [], []
        self.expected: list[str] = []

    def expect_refusal(self, status: int) -> None:
        """The browser itself logs every 4xx answer to the console; a test that provokes one names its status."""
        self.expected.append(f"the server responded with a status of {status}")

    def _console(self, page, message) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.errors.append(f"console {message.type}: {message.text} ({page.url})")

    def open(self, path: str, viewport: dict = DESKTOP, context=None):
        if context is None:
            context = self.browser.new_context(
                viewport=viewport, locale="ky-KG", is_mobile=viewport == PHONE, has_touch=viewport == PHONE
            )
            self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: self._console(page, m))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e} ({page.url})"))
        page.goto(self.url + path)
        return page

    def login(self, page, login: str, password: str = PW) -> None:
        page.locator("input[name=login]").fill(login)
        page.locator("input[name=password]").fill(password)
        page.locator("form button[type=submit]").click()

    @staticmethod
    def shot(page, name: str) -> None:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        for c in self.contexts:
            c.close()


def build_journal(stack):
    """A group of three students, their teacher, and two sessions of one discipline: one on 2028-10-05 at 09:00
    (open for entry and check-in at 09:05), one on 2028-10-01 (past its self-correction window by then)."""
    admin = stack.admin()
    contingent = {
        "faculties": [{"code": "WBF", "name": "Веб факультети"}],
        "departments": [{"code": "WBD", "faculty": "WBF", "name": "Веб кафедрасы"}],
        "groups": [
            {"code": "WB-1", "department": "WBD", "course": 1, "subgroups": []},
            {"code": "WB-2", "department": "WBD", "course": 1, "subgroups": []},
        ],
        "students": [person(f"WBS{i}", f"Студент Веб {i}", PW, group="WB-1") for i in (1, 2, 3)]
        + [person("WBX1", "Башка тайпанын студенти", PW, group="WB-2")],
        "staff": [
            {**person("WBT", "Окутуучу Веб", PW, roles=[{"role": "teacher"}]), "department": "WBD"},
            {
                **person("WBH", "Кафедра башчысы Веб", PW, roles=[{"role": "department_head", "scope": "WBD"}]),
                "department": "WBD",
            },
            person("WBDR", "Дирекция Веб", PW, roles=[{"role": "directorate", "scope": "WBF"}]),
            person("WBO", "Окуу бөлүмү Веб", PW, roles=[{"role": "academic_office"}]),
        ],
        "parents": [person("WBP", "Ата-эне Веб", PW, children=["WBS2"])],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent, timeout=120)
    assert r.status_code == 200, r.text
    load = {
        "disciplines": [{"code": "WBDIS", "name": "Веб дисциплина", "control": "exam", "credits": 3}],
        "assignments": [{"teacher": "WBT", "discipline": "WBDIS", "group": "WB-1", "kind": "lecture"}],
    }
    assert stack.api("POST", "/api/v1/import/load", admin, json=load).status_code == 200
    body = {
        "term": {"code": "WB-2026", "starts": "2028-09-01", "ends": "2028-12-31"},
        "sessions": [
            {
                "ref": f"wb:{day}",
                "discipline": "WBDIS",
                "group": "WB-1",
                "kind": "lecture",
                "teacher": "WBT",
                "starts_at": f"2028-10-{day}T09:00:00+06:00",
                "minutes": 80,
            }
            for day in ("01", "05")
        ],
    }
    r = eventually(
        lambda: (lambda r: r if r.status_code == 200 else None)(
            stack.api("POST", "/api/v1/import/timetable", admin, json=body)
        ),
        timeout=60,
    )
    ids = r.json()["sessions"]
    teacher = eventually(
        lambda: (lambda r: r.json()["access_token"] if r.status_code == 200 else None)(
            stack.api("POST", "/api/v1/auth/login", json={"login": "wbt", "password": PW})
        ),
        timeout=30,
    )
    # the gateway's read model has the sessions once the teacher sees them
    for sid in ids.values():
        eventually(lambda sid=sid: stack.api("GET", f"/api/v1/sessions/{sid}", teacher).status_code == 200, timeout=30)
    return {"today": ids["wb:05"], "past": ids["wb:01"], "teacher": teacher, "students": ["WBS1", "WBS2", "WBS3"]}
