"""The demo page: three static files served at ``/demo/``.

The page is just another client of the public v2 endpoint (it POSTs
multipart files with HTTP Basic from the browser); nothing here matches,
authenticates or stores anything. Redirects and asset URLs are relative, so the
page also works behind a reverse proxy that mounts the service under a prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

if TYPE_CHECKING:
    from fastapi import FastAPI

WEB_DIR = Path(__file__).resolve().parent
#: The only files served: name in the URL -> (file, media type).
FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "index.html": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
}
HEADERS = {
    # Same-origin everything; images from data: (face crops) and blob: (previews, webcam).
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data: blob:; media-src 'self' blob:; form-action 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Permissions-Policy": "camera=(self)",
}


async def _to_demo(request: Request) -> Response:
    # Relative: from "/" and from "/demo" alike, "demo/" resolves to "/demo/".
    return RedirectResponse("demo/", status_code=302)


async def _asset(request: Request) -> Response:
    entry = FILES.get(request.path_params.get("name", ""))
    if entry is None:
        return Response("not found", status_code=404, media_type="text/plain")
    name, media_type = entry
    return Response((WEB_DIR / name).read_bytes(), media_type=media_type, headers=HEADERS)


def install(app: FastAPI) -> None:
    """Serve the page at ``/demo/`` and redirect ``/`` and ``/demo`` to it."""
    app.add_route("/", _to_demo, methods=["GET"], include_in_schema=False)
    app.add_route("/demo", _to_demo, methods=["GET"], include_in_schema=False)
    app.add_route("/demo/", _asset, methods=["GET"], include_in_schema=False)
    app.add_route("/demo/{name}", _asset, methods=["GET"], include_in_schema=False)
