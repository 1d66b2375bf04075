"""The FastAPI application: the v2 ``face_matching`` contract over HTTP.

Request flow: authenticate (errorCode 5) -> check ``type1``/``format_type``
against the request (6) -> quota pre-check (4) -> read the two images (1 or 2)
-> ``Matcher.match`` on a bounded pool of matching threads (3 when a face is
missing) -> consume one request of quota atomically (4 if another request took
the last one meanwhile) -> the envelope (``facematch.contract``). Errors are
mapped to HTTP in one table (``api.errors``).

The key check and the quota pre-check share one worker-thread hop. The
request log line carries the milliseconds of each span (``auth``, ``read``,
``match`` with ``core`` the matcher's own part on its thread, ``consume``,
``envelope``, ``json``): where a request's time went, with no image data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote_plus

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from facematch import cancel, web
from facematch.api import errors, metrics, multipart
from facematch.api.auth import Authenticator
from facematch.api.ratelimit import Admission, FailedAuthLimiter, FairPool, guarded_authenticate
from facematch.contract import envelope, schema
from facematch.contract.models import CHIP_FIELDS, Envelope, FormatType
from facematch.errors import (
    BodyTooLargeError,
    FormatTypeError,
    InputError,
    NoContentError,
    QuotaExceededError,
    ServiceUnavailableError,
    UrlUnavailableError,
)
from facematch.imaging.base64_input import decode_base64_image
from facematch.imaging.fetch import Resolver, UrlFetcher, system_resolver
from facematch.matcher import MatchResult, build_matcher
from facematch.models.bundle import ModelPool
from facematch.passive_auth import ChipCheck, TrustStore, verify
from facematch.settings import Settings
from facematch.store import KeyStore, open_store
from facematch.types import ImageKind

log = logging.getLogger("facematch.api")
PATH = "/api/v2/ekyc/face_matching"
FORMAT_TYPES = tuple(FormatType)
T = TypeVar("T")


class ClientGone(Exception):
    """The client closed the connection before its answer: while sending its images (``reading``), while
    the service downloaded them from its URLs (``fetching``: the downloads stop), or while its match waited
    for a thread or ran (``matching``, which then stops: ``facematch.cancel``). Nobody is
    left to answer: logged with status 499 (nginx's "client closed request"), counted in
    ``facematch_client_gone_total``, never charged, and not an error of the service."""

    def __init__(self, during: str) -> None:
        super().__init__(during)
        self.during = during


class MatchService(Protocol):
    """What the API needs of the matcher (``facematch.matcher.Matcher``; tests pass stand-ins)."""

    concurrency: int

    def match(self, raw1: bytes, raw2: bytes, kind1: ImageKind = ..., *,
              error: type[InputError] = ...) -> MatchResult: ...

    def close(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    store: KeyStore
    auth: Authenticator
    matcher: MatchService
    calibration_version: str
    fetcher: UrlFetcher
    executor: FairPool  # the matching threads, serving the keys in turn
    auth_limiter: FailedAuthLimiter
    admission: Admission  # requests past the door: matching threads + queue_limit
    trust: TrustStore | None = None  # the CSCAs chip data is verified against (FACEMATCH_CHIP__CSCA)


@dataclass(frozen=True)
class ChipInput:
    """What a ``type1=chip`` request sent besides the DG2: EF.SOD and more data groups, as read."""

    sod: bytes | None = None
    groups: dict[int, bytes] = field(default_factory=dict)
    unreadable: bool = False  # a field was sent that is not base64: the verification is ``malformed``


#: Request fields of the chip's other data groups (docs/chip.md), and the data group each is.
CHIP_GROUPS = {name: group for name, group in CHIP_FIELDS.items() if group is not None}


def load_trust(settings: Settings) -> TrustStore | None:
    """The configured CSCAs (and CRLs), loaded once at start; ``ValueError`` saying what is wrong otherwise."""
    chip = settings.chip
    if chip.csca is None:
        if chip.crl is not None:
            raise ValueError("FACEMATCH_CHIP__CRL needs FACEMATCH_CHIP__CSCA (the CAs the CRLs belong to)")
        return None
    try:
        return TrustStore.load(chip.csca, chip.crl)
    except ValueError as exc:
        raise ValueError(f"FACEMATCH_CHIP__CSCA / FACEMATCH_CHIP__CRL: {exc}") from None


def create_served_app() -> FastAPI:
    """The app of one worker process of ``facematch serve --processes N``
    (uvicorn's factory): settings from the environment and the same JSON
    logs as the single-process server, uvicorn's access log (which would
    print query strings: image URLs) off."""
    from facematch import logs, memory

    memory.tune_malloc()
    settings = Settings()
    logs.configure(settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None, *, store: KeyStore | None = None, pool: ModelPool | None = None,
               matcher: MatchService | None = None, transport: httpx.AsyncBaseTransport | None = None,
               resolver: Resolver = system_resolver) -> FastAPI:
    """Build the app. Tests inject a store, a model pool (or a whole
    matcher), an httpx transport and a DNS resolver; by default everything
    comes from ``settings``."""
    cfg = settings or Settings()
    trust = load_trust(cfg)  # refused here, at start, when unreadable

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key_store = store or open_store(cfg.resolved_database_url())
        the_matcher: MatchService
        if matcher is not None:
            the_matcher = matcher
        else:
            the_matcher = await anyio.to_thread.run_sync(lambda: build_matcher(cfg, pool=pool))
        client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)
        threads = the_matcher.concurrency
        executor = FairPool(threads, name="facematch-match")
        per_key = cfg.key_in_flight or max(threads, cfg.queue_limit)
        app.state.services = Services(
            settings=cfg, store=key_store, auth=Authenticator(key_store), matcher=the_matcher,
            calibration_version=getattr(getattr(the_matcher, "calibration", None), "version", ""),
            fetcher=UrlFetcher.from_settings(cfg, client, resolver), executor=executor,
            auth_limiter=FailedAuthLimiter(cfg.auth_fail_limit, cfg.auth_fail_window_s),
            admission=Admission(threads + cfg.queue_limit, per_key), trust=trust)
        try:
            yield
        finally:
            await client.aclose()
            executor.shutdown()
            if matcher is None:
                the_matcher.close()
            if store is None and hasattr(key_store, "close"):
                key_store.close()  # pooled database connections of a store this app opened

    # No redirect to the path with or without its trailing slash: Starlette's is an absolute URL built from the
    # request's own scheme, plain http behind a balancer that terminates TLS, and a client following a 307
    # sends the images (and with some clients the credentials) again, over it. The v2 path answers with a
    # trailing slash as without.
    app = FastAPI(title="facematch", version="2", lifespan=lifespan, docs_url=None, redoc_url=None,
                  redirect_slashes=False,
                  description="Face matching for eKYC: an ID card (CMND/CCCD) photo against a live portrait.")
    metrics.install(app)  # GET /metrics
    schema.install(app)  # /openapi.json from the contract's models
    web.install(app)  # the demo page at /demo/ ("/" redirects there) and Swagger UI at /docs
    errors.install(app)  # every error in the envelope, with a request id (outermost)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        await anyio.to_thread.run_sync(svc.store.ping)  # StoreUnavailableError: 503 in the envelope
        return JSONResponse({"status": "ready", "calibration": svc.calibration_version})

    # One handler for both methods; it reads the request itself (contract/schema.py says why).
    @app.api_route(PATH + "/", methods=["GET", "POST"], include_in_schema=False)
    @app.get(PATH, **schema.get_operation())
    @app.post(PATH, **schema.post_operation())
    async def face_matching(request: Request) -> Response:
        svc: Services = request.app.state.services
        rid = errors.request_id(request)
        started = time.perf_counter()
        result: MatchResult | None = None
        spans: dict[str, float] = {}  # milliseconds per step of the request, for the log
        reason: str | None = None  # a failure's fixed reason, for the log
        try:
            result = await _handle(request, svc, spans)
            t0 = time.perf_counter()
            body, status, headers = envelope.success(result, rid), 200, {"X-Request-ID": rid}
            _lap(spans, "envelope", t0)
        except ClientGone as gone:
            _log_request(request, rid, started, spans, 499, "client_gone", during=gone.during)
            metrics.client_gone(request, gone.during)
            return Response(status_code=499)  # to a closed connection: the server drops it
        except Exception as exc:  # noqa: BLE001 - every failure answers in the envelope (api.errors)
            error = errors.as_domain_error(exc, rid)
            reason = error.detail or None
            body, status, headers = errors.render(error, rid)
        t0 = time.perf_counter()
        response = errors.respond(body, 200 if svc.settings.legacy_http_200 else status, headers)
        _lap(spans, "json", t0)
        _log_request(request, rid, started, spans, status, reason, body, result)
        metrics.observe(request, body, status, result, time.perf_counter() - started, reason)
        return response

    return app


def _log_request(request: Request, rid: str, started: float, spans: dict[str, float], status: int,
                 reason: str | None, body: Envelope | None = None, result: MatchResult | None = None,
                 during: str | None = None) -> None:
    """The request's one log line: codes, who, why, the decision and timings; never a picture or base64.
    Without ``body`` nothing was answered (the client left ``during`` reading or matching)."""
    data = body.data if body is not None else None
    fields: dict[str, Any] = {
        "method": request.method, "status": status, "errorCode": body.errorCode if body else None,
        "invalidCode": data.invalidCode if data else None,
        # the authenticated key's public id (none before authentication succeeds: a failed attempt's
        # "key" may be anything) and a failure's reason (fixed strings, facematch.errors: no user data)
        "key": getattr(request.state, "api_key", None), "reason": reason,
        "client_request_id": _client_request_id(request),
        # the decision, for an audit of who was accepted or refused and why: the answer's match and
        # matching, and each warning as image:check (no picture, no embedding)
        "match": (data.match or None) if data else None, "matching": (data.matching or None) if data else None,
        "warnings": [f"{w.image}:{w.check}" for w in data.warnings or []] if data else [],
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "stages": {k: round(v, 1) for k, v in (result.timings if result else {}).items()},
        "spans": dict(spans)}  # a copy: a timed-out match's thread may still add "core"
    if during is not None:
        fields["during"] = during
    log.info("request", extra={"request_id": rid, "fields": fields})


#: A client's own id for the request (``X-Request-ID`` or ``X-Correlation-ID``), logged beside the service's
#: so that a bank can find its transaction in the service's log; anything else is not logged.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _client_request_id(request: Request) -> str | None:
    for header in ("x-request-id", "x-correlation-id"):
        value = request.headers.get(header, "").strip()
        if _CLIENT_ID.fullmatch(value):
            return value
    return None


def _lap(spans: dict[str, float], name: str, t0: float) -> float:
    """Record the milliseconds since ``t0`` as span ``name``; the time now."""
    now = time.perf_counter()
    spans[name] = round((now - t0) * 1000.0, 2)
    return now


async def _handle(request: Request, svc: Services, spans: dict[str, float]) -> MatchResult:
    t = time.perf_counter()

    def authenticate(header: str | None) -> tuple[str, bool]:  # the key and its quota pre-check: one thread hop
        api_key = svc.auth.authenticate(header)
        return api_key, svc.store.has_quota(api_key)

    api_key, quota_left = await guarded_authenticate(svc.auth_limiter, authenticate,
                                                     request.headers.get("authorization"),
                                                     request.client.host if request.client else None)
    t = _lap(spans, "auth", t)
    request.state.api_key = api_key
    kind1, mode = _request_mode(request)
    if not quota_left:
        raise QuotaExceededError("quota")
    decode_error: type[InputError] = UrlUnavailableError if mode == "url" else NoContentError
    # Admission before any body is read or URL fetched (503 when full); one
    # deadline over reading, fetching, queueing and matching (503 past it).
    with svc.admission.slot(api_key) as slot:
        try:
            async with asyncio.timeout(svc.settings.request_deadline_s):
                raw1, raw2, chip = await _read_images(request, svc, mode)
                t = _lap(spans, "read", t)

                def work() -> MatchResult:
                    t1 = time.perf_counter()
                    try:
                        return _match(svc, raw1, raw2, kind1, chip, decode_error)
                    finally:
                        _lap(spans, "core", t1)  # on the matching thread: "match" less this is the thread hop

                result = await _run_limited(svc, slot, work, request)
                t = _lap(spans, "match", t)
        except TimeoutError:
            raise ServiceUnavailableError("deadline") from None
    if not await anyio.to_thread.run_sync(svc.store.consume, api_key):
        raise QuotaExceededError("quota_race")
    _lap(spans, "consume", t)
    return result


def _match(svc: Services, raw1: bytes, raw2: bytes, kind1: ImageKind, chip: ChipInput,
           error: type[InputError]) -> MatchResult:
    """The match, and with ``type1=chip`` the chip data's passive authentication (``passive_auth``): its
    result goes into ``data.chip`` and its findings onto img1 (the match is computed whatever it says)."""
    result = svc.matcher.match(raw1, raw2, kind1, error=error)
    if kind1 is ImageKind.CHIP:
        limits = svc.settings.chip
        check = ChipCheck("malformed") if chip.unreadable else verify(
            chip.sod, {2: raw1, **chip.groups}, svc.trust, max_sod_bytes=limits.max_sod_bytes,
            max_group_bytes=limits.max_data_group_bytes)
        result.chip = check
        result.image1.findings += check.findings(result.image1.role)
    return result


def _request_mode(request: Request) -> tuple[ImageKind, str]:
    """img1's kind (``type1``) and the input mode. errorCode 6 when they
    disagree with the request; errorCode 1 when a POST sends no body at all
    (nothing was uploaded, whatever the mode)."""
    q = request.query_params
    try:
        kind1 = ImageKind(q.get("type1", "").strip().lower() or ImageKind.CARD)
    except ValueError:
        raise FormatTypeError("type1") from None
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and not ctype and request.headers.get("content-length", "0") in ("", "0") \
            and "transfer-encoding" not in request.headers:
        raise NoContentError("no_body")
    actual = "url" if request.method == "GET" else {
        "multipart/form-data": "file", "application/json": "base64"}.get(ctype, "unknown")
    declared = q.get("format_type", "").strip().lower() or actual
    if declared not in FORMAT_TYPES or declared != actual:
        raise FormatTypeError("format_type")
    return kind1, declared


#: The v2 path's query parameters. Any other name right after an ``img1`` or ``img2`` URL written into the
#: query string unencoded, with a query of its own, is that URL's parameter (``_url_params``).
_V2_PARAMS = frozenset({"img1", "img2", "type1", "format_type"})


def _url_params(query_string: bytes) -> list[list[str]]:
    """The values of ``img1`` and of ``img2`` in a ``format_type=url`` query string. The contract's reference
    client writes the URLs in unencoded (``"?img1=%s&img2=%s&..." % (card_url, portrait_url)``), so a URL
    with a query of its own, a signed one (``card.jpg?X-Amz-Credential=...&X-Amz-Signature=...``) or one
    with a token and an expiry, arrives cut at its first ``&``. A value holding a literal ``?`` and followed by
    pieces of other names, up to the next v2 parameter (``_V2_PARAMS``), was not encoded: its pieces are
    joined back, and the URL is taken as written. Every other value is decoded as ``request.query_params``
    decodes it, as before."""
    found: dict[str, list[list[str]]] = {"img1": [], "img2": []}  # each value as its raw pieces
    verbatim: str | None = None  # the unencoded URL being continued
    for piece in query_string.decode("latin-1").split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        key = unquote_plus(name)
        if verbatim is not None and key not in _V2_PARAMS:
            found[verbatim][-1].append(piece)
            continue
        verbatim = None
        if key in found:
            found[key].append([value])
            verbatim = key if "?" in value else None
    return [["&".join(v).encode("latin-1").decode("utf-8", "replace") if len(v) > 1 else unquote_plus(v[0])
             for v in found[k]] for k in ("img1", "img2")]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError("body_too_large")
    body = bytearray()  # one buffer: a list of the server's messages cost ~17 bytes a byte sent in tiny chunks
    try:
        async for chunk in request.stream():
            if len(body) + len(chunk) > limit:
                raise BodyTooLargeError("body_too_large")
            body += chunk
    except ClientDisconnect:
        raise ClientGone("reading") from None
    return bytes(body)


async def _read_images(request: Request, svc: Services, mode: str) -> tuple[bytes, bytes, ChipInput]:
    limits = svc.settings.limits
    if mode == "url":
        urls = _url_params(request.scope.get("query_string", b""))
        if any(len(u) != 1 or not u[0].strip() for u in urls):
            raise UrlUnavailableError("missing_url")
        fetches = [asyncio.ensure_future(svc.fetcher.fetch(u[0].strip())) for u in urls]
        both = asyncio.gather(*fetches)
        try:  # no body to read: the client can leave at once
            raw1, raw2 = await _unless_client_leaves(both, request, "fetching")
        finally:  # when one fails, gather leaves the other downloading: stop it, let it close
            for f in fetches:
                f.cancel()
            await asyncio.gather(*fetches, return_exceptions=True)
            if both.done() and not both.cancelled():
                both.exception()  # read: a stopped download's CancelledError, which asyncio would log as an error
        return raw1, raw2, ChipInput()
    body = await _read_body(request, limits.max_body_bytes)
    if mode == "file":
        try:
            parts = multipart.parse(request.headers.get("content-type", ""), body)
        except multipart.MultipartError:
            raise NoContentError("bad_multipart") from None
        fields = {p.name: p.data for p in parts if p.name == "sod" or p.name in CHIP_GROUPS}
        return (_upload(parts, "img1", limits.max_image_bytes), _upload(parts, "img2", limits.max_image_bytes),
                ChipInput(fields.get("sod") or None, {CHIP_GROUPS[k]: v for k, v in fields.items() if k in CHIP_GROUPS
                                                      and v}))
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deeply nested JSON
        raise NoContentError("bad_json") from None
    if not isinstance(doc, dict):
        raise NoContentError("bad_json")
    return (decode_base64_image(doc.get("img1"), max_bytes=limits.max_image_bytes),
            decode_base64_image(doc.get("img2"), max_bytes=limits.max_image_bytes), _chip_fields(doc, svc.settings))


def _chip_fields(doc: dict[str, Any], settings: Settings) -> ChipInput:
    """``sod`` and ``dg*`` of a JSON body, base64; a field that is not (or is over its limit) makes the
    verification ``malformed``, never an error of the request."""
    limit = max(settings.chip.max_sod_bytes, settings.chip.max_data_group_bytes)
    decoded: dict[str, bytes] = {}
    for name in ("sod", *CHIP_GROUPS):
        if doc.get(name) in (None, ""):
            continue
        try:
            decoded[name] = decode_base64_image(doc[name], max_bytes=limit)
        except NoContentError:
            return ChipInput(unreadable=True)
    return ChipInput(decoded.get("sod"), {CHIP_GROUPS[k]: v for k, v in decoded.items() if k in CHIP_GROUPS})


def _upload(parts: list[multipart.Part], name: str, max_bytes: int) -> bytes:
    items = [p for p in parts if p.name == name]
    if len(items) != 1 or items[0].filename is None:
        raise NoContentError(f"{name}_missing")
    data = items[0].data
    if not data:
        raise NoContentError(f"{name}_empty")
    if len(data) > max_bytes:
        raise NoContentError(f"{name}_too_large")
    return data


async def _run_limited(svc: Services, slot: Any, fn: Callable[[], T], request: Request) -> T:
    """Run CPU-bound work on the fixed pool. The request's admission ``slot``
    stays taken until the work has finished, even if the request gave up (a
    thread cannot be interrupted). When the request gives up (its deadline
    passes, or its client closes the connection: ``ClientGone``), work still
    queued is cancelled and never runs, and work already running stops at its
    next stage (``facematch.cancel``)."""
    abandoned = threading.Event()

    def run() -> T:
        with cancel.scope(abandoned):
            return fn()

    future = svc.executor.submit(slot.owner, run)
    slot.hold_until(future)
    work = asyncio.wrap_future(future)
    try:
        return await _unless_client_leaves(work, request, "matching")
    finally:
        if not work.done():  # the deadline or the client: nothing will read the result
            abandoned.set()
            work.cancel()  # and the pool's future with it, if it is still queued


async def _unless_client_leaves(work: asyncio.Future[T], request: Request, during: str) -> T:
    """``work``'s result, or ``ClientGone(during)`` as soon as the client closes the connection (``work`` is
    left running: the caller stops it). Where the watch itself fails (no word of the client), the work is
    awaited as before."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
        if not work.done() and gone.exception() is None:
            raise ClientGone(during)
        return await work
    finally:
        gone.cancel()


async def _disconnected(request: Request) -> None:
    """Returns when the client has closed the connection (ASGI ``http.disconnect``). Called once the body
    has been read, or where there is none (URL mode): the server then answers ``receive`` only when the
    connection closes (or the response is sent)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
