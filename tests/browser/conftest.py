"""Browser tests of the web front (issue 9): Debian's Chromium (/usr/bin/chromium, installed by deploy/test's
ensure_chromium; Playwright's own browsers are never downloaded) driven by Playwright against the test stack.
Every page records its console: an error there, or an uncaught exception, fails the test. Screenshots land in
tests/browser/screenshots/ (ignored by git), in Kyrgyz, the pages' default language."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright  # pinned in requirements.txt: missing, the run fails, not skips
from webpages import CHROMIUM, Pages, build_journal, launch


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: deploy/test installs it (ensure_chromium in deploy/lib.sh)")
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def web(stack, browser):
    pages = Pages(browser, stack.url)
    yield pages
    pages.close()
    assert not pages.errors, "the browser console had errors:\n" + "\n".join(pages.errors)


@pytest.fixture(scope="module")
def journal(stack):
    return build_journal(stack)
