"""The web front (issue 9): plain HTML pages, small vanilla JavaScript modules and one stylesheet, served as
static files by the gateway, with no build chain. The pages hold no data and no rules of their own: they call
the public JSON API (/api/v1/...) with the access token the browser keeps in sessionStorage, so every access
decision stays where it is for any other client, and the files themselves are public."""

from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Request, Response

from gateway.http import http, problem
from kernel.errors import NotFound

PAGES = Path(__file__).parent / "pages"
MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json"}
# Read once at start: only these files are ever served, so no path from a request reaches the file system.
FILES = {
    str(p.relative_to(PAGES)): (p.read_bytes(), MEDIA[p.suffix])
    for p in sorted(PAGES.rglob("*"))
    if p.is_file() and p.suffix in MEDIA
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
