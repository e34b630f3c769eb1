"""The pages are written once each as their <main>, framed by one shared layout (gateway/pages/_layout.html)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from gateway import web_routes

PAGES = sorted(name for name in web_routes.FILES if name.endswith(".html"))


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "")


def test_every_page_is_framed_with_its_title_its_script_and_no_placeholder_left() -> None:
    assert {"index.html", "checkin.html", "teacher.html", "student.html", "parent.html"} <= set(PAGES)
    assert not any(name.startswith("_") for name in web_routes.FILES)  # fragments are never served alone
    for name in PAGES:
        html = web_routes.FILES[name][0].decode()
        assert html.startswith("<!doctype html>\n<html lang=\"ky\">"), name
        assert html.count("<main") == 1 and html.count("</html>") == 1, name
        assert not re.search(r"\{(title|main|script|button)\}|<!-- (login|title):", html), name
        tags = Tags()
        tags.feed(html)
        assert tags.tags[:3] == ["html", "head", "meta"], name
        assert tags.scripts == [f"/web/{name.removesuffix('.html')}.js"], name
        title = re.search(r"<title>(.+)</title>", html)
        assert title is not None and title.group(1).strip(), name


def test_the_login_form_is_put_where_a_page_asks_for_it_with_its_button() -> None:
    index = web_routes.FILES["index.html"][0].decode()
    checkin = web_routes.FILES["checkin.html"][0].decode()
    assert '<form id="login"' in index and 'data-t="enter"></button>' in index
    assert '<form id="login"' in checkin and 'data-t="enter_and_checkin"></button>' in checkin
    assert "<title>Катышууну белгилөө</title>" in checkin
    assert '<form id="login"' not in web_routes.FILES["grid.html"][0].decode()
