"""The web front in a real browser (issue 9): the teacher's keyboard journal grid, the student's QR check-in on
a phone, and a closed cell's correction request; each checked through the public API afterwards."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
import zxingcpp
from PIL import Image
from webpages import PHONE, PW

from support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NOW = "2028-10-05T09:05:00+06:00"  # five minutes into the session of 2028-10-05; 2028-10-01 is past correction


def login_page(web, path: str, login: str, viewport=None):
    page = web.open(f"/web/?next={quote(path)}", **({"viewport": viewport} if viewport else {}))
    web.login(page, login)
    page.wait_for_url(f"**{path}")
    return page


def test_teacher_fills_a_session_in_the_grid_from_the_keyboard(stack, web, journal):
    stack.set_clock(NOW)
    page = web.open("/web/")
    assert page.locator("html").get_attribute("lang") == "ky"
    web.shot(page, "login")
    web.login(page, "wbt")
    page.get_by_role("link", name="Окутуучу: бүгүнкү сабактар жана журнал").click()
    page.locator("#sessions li").first.wait_for()  # the real today's list (empty) is shown first
    page.locator("#pick input[name=date]").fill("2028-10-05")
    page.locator("#pick button").click()
    page.get_by_role("link", name="Журнал").first.wait_for()
    web.shot(page, "teacher-day")
    page.get_by_role("link", name="Журнал").first.click()
    page.wait_for_url("**/web/grid.html?*")
    today = journal["today"]
    header = page.locator(f"th#s{today}")
    header.get_by_text("Толтурууга болот").wait_for()  # the window state of the column: editable
    first = page.locator(f'td[data-session="{today}"][data-student="WBS1"]')
    first.click()
    page.keyboard.press("1")  # present (the first of the preset's codes a teacher sets); the focus moves down
    page.keyboard.press("2")  # absent
    page.keyboard.press("1")
    header.get_by_label("Тема").first.fill("Киришүү")
    header.get_by_label("Иштин түрү").fill("лекция")
    web.shot(page, "grid-typed")
    first.focus()
    page.keyboard.press("Control+Enter")
    page.get_by_text("Сакталды").wait_for()
    web.shot(page, "grid-saved")
    stored = stack.api("GET", f"/api/v1/sessions/{today}", journal["teacher"]).json()
    assert {m["student"]: m["status"] for m in stored["marks"]} == {
        "WBS1": "present",
        "WBS2": "absent",
        "WBS3": "present",
    }
    assert (stored["topic"], stored["work_kind"]) == ("Киришүү", "лекция")
    assert page.locator(f'td[data-session="{today}"][data-student="WBS2"]').inner_text().strip() == "НБ"
    # grades per assessment: a new one from the form, a grade typed, saved
    form = page.locator("#new-assessment")
    form.get_by_label("Аталышы").fill("1-лабораториялык иш")
    form.get_by_label("Күнү").fill("2028-10-05")
    form.get_by_label("Эң жогорку балл").fill("10")
    form.get_by_role("button", name="Түзүү").click()
    grade = page.get_by_label("Баа: WBS1, 1-лабораториялык иш")
    grade.fill("8.5")
    with page.expect_response(lambda r: r.url.endswith("/grades") and r.request.method == "PUT") as put:
        page.locator("#save-grades").click()
    assert put.value.status == 200
    items = stack.api("GET", "/api/v1/assessments?group=WB-1&discipline=WBDIS", journal["teacher"]).json()["items"]
    work = [a for a in items if a["title"] == "1-лабораториялык иш"]
    assert len(work) == 1 and [(g["student"], g["value"]) for g in work[0]["grades"]] == [("WBS1", 8.5)], items
    web.shot(page, "grid-grades")


def test_student_scans_the_qr_on_a_phone_logs_in_and_is_checked_in(stack, web, journal):
    stack.set_clock(NOW)
    screen = login_page(web, f"/web/qr.html?session={journal['today']}", "wbt")
    qr = screen.locator("#qr")
    eventually(lambda: qr.get_attribute("src"), timeout=15)
    screen.wait_for_function("document.querySelector('#qr').naturalWidth > 0")
    web.shot(screen, "qr-page")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert found, "no QR code on the screen"
    url = found[0].text
    assert url.startswith(stack.url + "/checkin?t=")
    phone = web.open(url.removeprefix(stack.url), viewport=PHONE)
    phone.locator("#login").wait_for()
    assert phone.evaluate("location.search") == ""  # the code left the address bar, kept for the login
    web.login(phone, "wbs3")
    phone.get_by_text("Белгиленди: катышты").wait_for()
    assert phone.locator(".brand").inner_text() == "Электрондук журнал"
    web.shot(phone, "checkin-phone")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    # the check-in is recorded (through the command queue) and shows on the teacher's live roster
    eventually(
        lambda: any(
            s["student"] == "WBS3" and s["checked_in_at"]
            for s in stack.api("GET", f"/api/v1/sessions/{journal['today']}/roster", journal["teacher"]).json()[
                "students"
            ]
        ),
        timeout=30,
    )
    screen.get_by_text("Белгиленди: 1 / 3").wait_for(timeout=15000)  # the page polls the roster
    assert screen.locator("#roster tr", has_text="WBS3").locator("td").last.inner_text().strip() != ""
    web.shot(screen, "qr-roster")


def test_a_closed_cell_offers_the_correction_request_and_it_is_filed(stack, web, journal):
    stack.set_clock(NOW)
    page = login_page(web, "/web/grid.html?group=WB-1&discipline=WBDIS", "wbt")
    past = journal["past"]
    page.locator(f"th#s{past}").get_by_text("Мөөнөтү бүткөн").wait_for()  # closed
    cell = page.locator(f'td[data-session="{past}"][data-student="WBS2"]')
    assert cell.get_attribute("aria-readonly") == "true"
    cell.get_by_role("button", name="Оңдоону суроо: WBS2, 2028-10-01").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Маани").select_option("absent")
    dialog.get_by_label("Себеби").fill("Студент сабакта болгон эмес, журналга кеч киргизилди")
    web.shot(page, "correction-dialog")
    dialog.get_by_role("button", name="Жөнөтүү").click()
    page.get_by_text("Оңдоо суроосу жөнөтүлдү").wait_for()
    web.shot(page, "correction-filed")
    mine = stack.api("GET", "/api/v1/corrections", journal["teacher"]).json()["items"]
    filed = [c for c in mine if c["target"].get("session") == past and c["target"]["student"] == "WBS2"]
    assert len(filed) == 1 and filed[0]["value"] == "absent", mine


def test_a_student_requests_a_make_up_of_an_absence_from_the_record_page(stack, web, journal):
    stack.set_clock(NOW)
    today = journal["today"]
    r = stack.api(
        "PUT",
        f"/api/v1/sessions/{today}/attendance",
        journal["teacher"],
        json={"marks": [{"student": "WBS2", "status": "absent"}]},
    )
    assert r.status_code == 200, r.text
    student = stack.login("wbs2", PW)
    eventually(
        lambda: any(
            s["status"] == "absent"
            for d in stack.api("GET", "/api/v1/students/WBS2/record", student).json()["disciplines"]
            for s in d["attendance"]["sessions"]
        ),
        timeout=30,
    )
    page = login_page(web, "/web/student.html", "wbs2", viewport=PHONE)
    page.get_by_role("button", name="Отработкага суроо: 2028-10-05").click()
    page.get_by_text("Отработкага суроо жөнөтүлдү").wait_for()
    web.shot(page, "student-record-phone")
    mine = stack.api("GET", "/api/v1/makeups", student).json()["items"]
    assert [(m["session"], m["student"]) for m in mine] == [(today, "WBS2")], mine


def test_every_role_page_opens_in_each_language_with_labelled_controls(stack, web, journal):
    """Every page of a role: no console error, the page's lang attribute follows the language switch, the
    preset's institution name shows, and every form control has a label (an associated label or aria-label)."""
    stack.set_clock(NOW)
    pages = [
        ("wbt", "/web/teacher.html?date=2028-10-05"),
        ("wbt", "/web/grid.html?group=WB-1&discipline=WBDIS"),
        ("wbt", f"/web/qr.html?session={journal['today']}"),
        ("wbs1", "/web/student.html"),
        ("wbp", "/web/parent.html"),
        ("wbdr", "/web/queue.html?q=excuses"),
        ("wbh", "/web/queue.html?q=corrections"),
        ("wbo", "/web/queue.html?q=statements&group=WB-1&discipline=WBDIS"),
        ("wbh", "/web/queue.html?q=filling&teacher=WBT&term=WB-2026"),
    ]
    unlabelled = """[...document.querySelectorAll('input, select, textarea, button')]
        .filter((e) => e.offsetParent !== null || e.closest('dialog[open]'))
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map((e) => e.outerHTML)"""
    for login, path in pages:
        page = login_page(web, path, login)
        page.get_by_text("М.М. Адышев атындагы Ош технологиялык университети").wait_for()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(unlabelled) == [], path
        assert page.locator("h1").count() == 1 and page.locator("main#main").count() == 1
        for lang, name, word in (
            ("ru", "Русский", "Выйти"),
            ("kk", "Қазақша", "Шығу"),
            ("en", "English", "Log out"),
            ("ky", "Кыргызча", "Чыгуу"),
        ):
            page.get_by_role("button", name=name).click()
            page.get_by_role("button", name=word).wait_for()
            assert page.locator("html").get_attribute("lang") == lang
        page.close()


def test_the_check_in_page_says_not_your_session_and_expired_in_words(stack, web, journal):
    """The other clear results of a scan: a student of another group, and a code past its TTL plus the grace
    time (the clock moves on three minutes between the scan and the login)."""
    stack.set_clock(NOW)
    url = stack.api("POST", f"/api/v1/sessions/{journal['today']}/checkin-codes", journal["teacher"]).json()["url"]
    web.expect_refusal(403)
    phone = web.open(url.removeprefix(stack.url), viewport=PHONE)
    web.login(phone, "wbx1")
    phone.get_by_text("Бул сабак сиздин тизмеңизде жок").wait_for()
    web.shot(phone, "checkin-not-yours")
    url = stack.api("POST", f"/api/v1/sessions/{journal['today']}/checkin-codes", journal["teacher"]).json()["url"]
    late = web.open(url.removeprefix(stack.url), viewport=PHONE)
    late.locator("#login").wait_for()
    stack.set_clock("2028-10-05T09:08:30+06:00")  # past the 20 s TTL plus the 120 s grace
    web.expect_refusal(410)
    web.login(late, "wbs1")
    late.get_by_text("Коддун мөөнөтү бүттү: экрандагы кодду кайра сканерлеңиз").wait_for()
    web.shot(late, "checkin-expired")
    present = stack.api("GET", f"/api/v1/sessions/{journal['today']}/roster", journal["teacher"]).json()["students"]
    assert not any(s["student"] == "WBX1" for s in present)


def test_the_directorate_approves_an_excuse_and_the_head_visas_a_correction_on_their_queues(stack, web, journal):
    stack.set_clock(NOW)
    student = stack.login("wbs1", PW)
    excuse = stack.api(
        "POST",
        "/api/v1/excuses",
        student,
        json={"student": "WBS1", "from": "2028-10-01", "to": "2028-10-01", "kind": "sick", "document": "справка № 17"},
    )
    assert excuse.status_code in (200, 201), excuse.text
    reason = "Журналга кате киргизилген: студент катышкан"
    correction = stack.api(
        "POST",
        "/api/v1/corrections",
        journal["teacher"],
        json={
            "target": {"kind": "attendance", "session": journal["past"], "student": "WBS3"},
            "value": "present",
            "reason": reason,
        },
    )
    assert correction.status_code == 201, correction.text
    page = login_page(web, "/web/queue.html?q=excuses", "wbdr")
    row = page.locator("tr", has_text="справка № 17")
    row.get_by_label("Эскертүү").fill("документ текшерилди")
    row.get_by_role("button", name="Макулдоо").click()
    page.get_by_text("Аткарылды").wait_for()
    web.shot(page, "queue-excuses")
    decided = stack.api("GET", "/api/v1/excuses?state=approved", student).json()["items"]
    assert [(e["id"], e["note"]) for e in decided] == [(excuse.json()["id"], "документ текшерилди")], decided
    page = login_page(web, "/web/queue.html?q=corrections", "wbh")
    page.locator("tr", has_text=reason).get_by_role("button", name="Виза коюу").click()
    page.get_by_text("Аткарылды").wait_for()
    web.shot(page, "queue-corrections")
    mine = stack.api("GET", "/api/v1/corrections", journal["teacher"]).json()["items"]
    steps = [s["action"] for c in mine if c["id"] == correction.json()["id"] for s in c["steps"]]
    assert "visa" in steps, mine
