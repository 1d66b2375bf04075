"""What a browser loads: the demo page (three static files at ``/demo/``)
and the API's interactive documentation (Swagger UI at ``/docs``), all
served by the service itself so that they work without Internet access.
Swagger UI's files come from the ``fastapi-offline`` package, which ships
them. (FastAPI's ReDoc page is off: ReDoc loads its logo from a CDN.)

The page is just another client of the public v2 endpoint (it POSTs
multipart files with HTTP Basic from the browser); nothing here matches,
authenticates or stores anything. Redirects and asset URLs are relative, so the
page also works behind a reverse proxy that mounts the service under a prefix.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.openapi.docs import get_swagger_ui_html
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


#: Swagger UI's files, served at ``/docs/{name}``.
DOCS_DIR = files("fastapi_offline") / "static"
DOCS_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
DOCS_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Cache-Control": "public, max-age=86400"}


async def _to_demo(request: Request) -> Response:
    # Relative: from "/" and from "/demo" alike, "demo/" resolves to "/demo/".
    return RedirectResponse("demo/", status_code=302)


async def _asset(request: Request) -> Response:
    entry = FILES.get(request.path_params.get("name", ""))
    if entry is None:
        return Response("not found", status_code=404, media_type="text/plain")
    name, media_type = entry
    return Response((WEB_DIR / name).read_bytes(), media_type=media_type, headers=HEADERS)


async def _swagger(request: Request) -> Response:
    # Relative URLs, as for the demo page: from "/docs", "docs/x" is "/docs/x".
    return get_swagger_ui_html(openapi_url="openapi.json", title="facematch - Swagger UI",
                               swagger_js_url="docs/swagger-ui-bundle.js", swagger_css_url="docs/swagger-ui.css",
                               swagger_favicon_url="docs/favicon.png")


async def _docs_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in DOCS_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response((DOCS_DIR / name).read_bytes(), media_type=DOCS_FILES[name], headers=DOCS_HEADERS)


def install(app: FastAPI) -> None:
    """Serve the demo page at ``/demo/`` (``/`` and ``/demo`` redirect to it)
    and Swagger UI at ``/docs``; create ``app`` with ``docs_url=None,
    redoc_url=None`` so that FastAPI's own, CDN-loading pages are not there."""
    app.add_route("/docs", _swagger, methods=["GET"], include_in_schema=False)
    app.add_route("/docs/{name}", _docs_asset, methods=["GET"], include_in_schema=False)
    app.add_route("/", _to_demo, methods=["GET"], include_in_schema=False)
    app.add_route("/demo", _to_demo, methods=["GET"], include_in_schema=False)
    app.add_route("/demo/", _asset, methods=["GET"], include_in_schema=False)
    app.add_route("/demo/{name}", _asset, methods=["GET"], include_in_schema=False)
