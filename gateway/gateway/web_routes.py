"""The web front (issue 9): plain HTML pages, small vanilla JavaScript modules and one stylesheet, served as
static files by the gateway, with no build chain. The pages hold no data and no rules of their own: they call
the public JSON API (/api/v1/...) with the access token the browser keeps in sessionStorage, so every access
decision stays where it is for any other client, and the files themselves are public."""

from __future__ import annotations

import re
from pathlib import Path

from werkzeug.wrappers import Request, Response

from gateway.http import http, problem
from kernel.errors import NotFound

PAGES = Path(__file__).parent / "pages"
MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json"}
DEFAULT_TITLE = "Электрондук журнал"
_TITLE = re.compile(r"\A<!-- title: (.*?) -->\n")
_LOGIN = re.compile(r"^  <!-- login: (\w+) -->\n", re.M)


def _fragment(name: str) -> str:
    """A shared piece of the pages (`_NAME.html`), without its first line (the comment that says what it is)."""
    return (PAGES / name).read_text(encoding="utf-8").split("\n", 1)[1]


def page(path: Path) -> bytes:
    """A page as the browser gets it: its <main> (the file) in the one frame every page shares (_layout.html),
    with the title its first line names, the login form where it says `<!-- login: BUTTON -->`, and the script
    of the same name."""
    text = path.read_text(encoding="utf-8")
    title = DEFAULT_TITLE
    if m := _TITLE.match(text):
        title, text = m.group(1), text[m.end():]
    login = _fragment("_login.html")
    main = _LOGIN.sub(lambda m: login.replace("{button}", m.group(1)), text).rstrip("\n")
    frame = _fragment("_layout.html")
    return frame.replace("{title}", title).replace("{script}", path.stem).replace("{main}", main).encode()


def _served(path: Path) -> bytes:
    return page(path) if path.suffix == ".html" else path.read_bytes()


# Read once at start: only these files are ever served, so no path from a request reaches the file system.
FILES = {
    str(p.relative_to(PAGES)): (_served(p), MEDIA[p.suffix])
    for p in sorted(PAGES.rglob("*"))
    if p.is_file() and p.suffix in MEDIA and not p.name.startswith("_")
}


def static(name: str) -> Response:
    if name not in FILES:
        return problem(NotFound(f"no page {name}"))
    body, media = FILES[name]
    # no-cache: a redeployed gateway's pages and scripts are picked up at once (they are small)
    return Response(body, mimetype=media, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


class WebPages:
    """Mixed into GatewayService: the pages under /web/ (the check-in page stays at /checkin)."""

    @http("GET", "/web")
    def web_root(self, request: Request) -> Response:
        return Response(status=302, headers={"Location": "/web/"})

    @http("GET", "/web/")
    def web_index(self, request: Request) -> Response:
        return static("index.html")

    @http("GET", "/web/<path:name>")
    def web_file(self, request: Request, name: str) -> Response:
        return static(name)
