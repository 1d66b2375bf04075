"""The one table from errors to HTTP, and the handlers that apply it.

``STATUS`` maps each class of the error tree (``facematch.errors``) to its
HTTP status; a subclass not listed takes its nearest listed base. Headers:
``WWW-Authenticate`` on 401, ``Retry-After`` on 503 and on the
failed-authentication 429. Every response carries ``X-Request-ID``.

``install`` puts this on every path: a handler for ``FaceMatchError`` raised
by any route (``/readyz`` included), and an outermost middleware that gives
each request its id and answers an exception from anywhere (a route, a
middleware, the metrics) with the envelope and errorCode 500, logged with the
request id, never a traceback to the client.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facematch.contract import envelope
from facematch.contract.models import Envelope
from facematch.errors import (
    AuthError,
    BodyTooLargeError,
    FaceMatchError,
    FormatTypeError,
    InternalError,
    NoContentError,
    NoFaceError,
    QuotaExceededError,
    RateLimitedError,
    ServiceUnavailableError,
    UrlUnavailableError,
)

log = logging.getLogger("facematch.api")

STATUS: dict[type[FaceMatchError], int] = {
    FaceMatchError: 500,
    InternalError: 500,
    NoContentError: 400,
    BodyTooLargeError: 413,
    UrlUnavailableError: 400,
    FormatTypeError: 400,
    NoFaceError: 422,
    AuthError: 401,
    QuotaExceededError: 429,
    RateLimitedError: 429,
    ServiceUnavailableError: 503,
}


def status_of(error: FaceMatchError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def headers_of(error: FaceMatchError, request_id: str) -> dict[str, str]:
    headers = {"X-Request-ID": request_id}
    if isinstance(error, AuthError):
        headers["WWW-Authenticate"] = 'Basic realm="facematch"'
    if isinstance(error, (ServiceUnavailableError, RateLimitedError)):
        headers["Retry-After"] = str(error.retry_after)
    return headers


def as_domain_error(exc: BaseException, request_id: str) -> FaceMatchError:
    """``exc`` itself when it is a domain error; otherwise it is a bug: logged
    (with its traceback, in the server's log only) and answered as InternalError."""
    if isinstance(exc, FaceMatchError):
        return exc
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    return InternalError("internal")


def render(error: FaceMatchError, request_id: str) -> tuple[Envelope, int, dict[str, str]]:
    """The envelope, HTTP status and headers of a failed request."""
    return envelope.failure(error, request_id), status_of(error), headers_of(error, request_id)


def respond(body: Envelope, status: int, headers: dict[str, str]) -> Response:
    """The envelope as sent: serialised by pydantic-core from the model (``Envelope.to_json``). Never stored
    by a cache on the way or in a browser (``no-store``): an answer holds face crops, biometric data, and a
    ``format_type=url`` request is a GET."""
    return Response(body.to_json(), status_code=status, headers={**headers, "Cache-Control": "no-store"},
                    media_type="application/json")


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost: a request id for every request (``request.state.request_id``
    and the ``X-Request-ID`` header) and the envelope for any exception that
    escapes the app, instead of Starlette's plain-text 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:  # the response is half sent: nothing can be said any more
                log.error("error after the response started", exc_info=exc, extra={"request_id": rid})
                return
            await respond(*render(as_domain_error(exc, rid), rid))(scope, receive, send_with_id)


def install(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        rid = request_id(request)
        return respond(*render(as_domain_error(exc, rid), rid))

    app.add_exception_handler(FaceMatchError, domain_error)
    app.add_middleware(RequestIdMiddleware)
