"""The FastAPI application: the v2 ``face_matching`` contract.

Request flow: authenticate (errorCode 5) -> check ``type1``/``format_type``
against the request (6) -> quota pre-check (4) -> read the two images (1 or 2)
-> decode, detect, embed, compare on a bounded worker pool (3 when a face is
missing) -> consume one request of quota atomically (4 if another request took
the last one meanwhile) -> the envelope. Only this module and ``envelope``
know about HTTP.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from facematch import web
from facematch.api import envelope, metrics, multipart, openapi
from facematch.api.auth import Authenticator
from facematch.api.ratelimit import Admission, FailedAuthLimiter, guarded_authenticate
from facematch.errors import (FaceMatchError, FormatTypeError, NoContentError, QuotaExceededError,
                              ServiceUnavailableError, UrlUnavailableError)
from facematch.imaging.base64_input import decode_base64_image
from facematch.imaging.decode import decode_image
from facematch.imaging.fetch import Resolver, UrlFetcher, system_resolver
from facematch.models.bundle import ModelPool
from facematch.checks.suite import CheckLimits
from facematch.pipeline import CARD, PORTRAIT, ImageAnalysis, MatcherConfig, MatchResult, analyze, compare
from facematch.scoring import Calibration
from facematch.settings import Settings
from facematch.store import KeyStore, open_store

log = logging.getLogger("facematch.api")
PATH = "/api/v2/ekyc/face_matching"
TYPE1_VALUES = (CARD, PORTRAIT)
FORMAT_TYPES = ("url", "file", "base64")


@dataclass
class Services:
    settings: Settings
    store: KeyStore
    auth: Authenticator
    pool: ModelPool
    calibration: Calibration
    fetcher: UrlFetcher
    executor: ThreadPoolExecutor
    side_executor: ThreadPoolExecutor | None  # the second image of a request; None: one after the other
    config: MatcherConfig
    auth_limiter: FailedAuthLimiter
    admission: Admission  # requests past the door: matching threads + queue_limit


class _BodyTooLarge(NoContentError):
    http_status = 413


def create_served_app() -> FastAPI:
    """The app of one worker process of ``facematch serve --processes N``
    (uvicorn's factory): settings from the environment and the same JSON
    logs as the single-process server, uvicorn's access log (which would
    print query strings: image URLs) off."""
    from facematch import logs

    settings = Settings()
    logs.configure(settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None, *, store: KeyStore | None = None, pool: ModelPool | None = None,
               transport: httpx.AsyncBaseTransport | None = None, resolver: Resolver = system_resolver) -> FastAPI:
    """Build the app. Tests inject a store, a model pool, an httpx transport
    and a DNS resolver; by default everything comes from ``settings``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        key_store = store or open_store(settings.resolved_database_url())
        # Two bundles per matching thread: a request analyses its second image
        # on a side thread while its own thread does the first.
        model_pool = pool or await anyio.to_thread.run_sync(lambda: ModelPool.load(2 * settings.workers))
        client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)
        threads = max(1, model_pool.size // 2)
        executor = ThreadPoolExecutor(threads, thread_name_prefix="facematch-match")
        # Request threads + side threads == bundles, so borrowing never waits for long.
        side_threads = model_pool.size - threads
        side_executor = ThreadPoolExecutor(side_threads, thread_name_prefix="facematch-side") if side_threads else None
        app.state.services = Services(
            settings=settings, store=key_store, auth=Authenticator(key_store), pool=model_pool,
            calibration=Calibration.load(settings.match.calibration_file),
            fetcher=UrlFetcher.from_settings(settings, client, resolver), executor=executor,
            side_executor=side_executor,
            config=MatcherConfig(checks=CheckLimits().with_overrides(settings.check_limits)),
            auth_limiter=FailedAuthLimiter(settings.auth_fail_limit, settings.auth_fail_window_s),
            admission=Admission(threads + settings.queue_limit))
        try:
            yield
        finally:
            await client.aclose()
            executor.shutdown(wait=False, cancel_futures=True)
            if side_executor:
                side_executor.shutdown(wait=False, cancel_futures=True)
            if store is None and hasattr(key_store, "close"):
                key_store.close()  # pooled database connections of a store this app opened

    app = FastAPI(title="facematch", version="2", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Face matching for eKYC: an ID card (CMND/CCCD) photo against a live portrait.")
    metrics.install(app)  # GET /metrics
    openapi.install(app, PATH)  # the three input modes, described by hand
    web.install(app)  # the demo page at /demo/ ("/" redirects there) and Swagger UI at /docs

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        try:
            await anyio.to_thread.run_sync(svc.store.ping)
        except ServiceUnavailableError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ready", "calibration": svc.calibration.version})

    # In /openapi.json through api/openapi.py (one operation per method).
    @app.api_route(PATH, methods=["GET", "POST"], include_in_schema=False)
    async def face_matching(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        result: MatchResult | None = None
        retry_after = 1
        try:
            result = await _handle(request, svc)
            body, status = envelope.success(result, request_id), 200
        except FaceMatchError as exc:
            body, status = envelope.failure(exc, request_id), exc.http_status
            retry_after = getattr(exc, "retry_after", 1)
        except Exception:  # noqa: BLE001 - never leak a traceback to the client
            log.exception("unhandled error", extra={"request_id": request_id})
            exc = ServiceUnavailableError("internal")
            body, status = envelope.failure(exc, request_id), 500
        headers = {"X-Request-ID": request_id}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="facematch"'
        if status in (429, 503) and body["errorCode"] != "4":
            headers["Retry-After"] = str(retry_after)
        log.info("request", extra={"request_id": request_id, "fields": {
            "method": request.method, "status": status, "errorCode": body["errorCode"],
            "invalidCode": body["data"].get("invalidCode", ""),
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "stages": {k: round(v, 1) for k, v in (result.timings if result else {}).items()}}})
        metrics.observe(request, body, status, result, time.perf_counter() - started)
        if svc.settings.legacy_http_200:
            status = 200
        return JSONResponse(body, status_code=status, headers=headers)

    return app


async def _handle(request: Request, svc: Services) -> MatchResult:
    api_key = await guarded_authenticate(svc.auth_limiter, svc.auth.authenticate, request.headers.get("authorization"),
                                         request.client.host if request.client else None)
    type1, mode = _request_mode(request)
    if not await anyio.to_thread.run_sync(svc.store.has_quota, api_key):
        raise QuotaExceededError("quota")
    decode_error = UrlUnavailableError if mode == "url" else NoContentError
    # Admission before any body is read or URL fetched (503 when full); one
    # deadline over reading, fetching, queueing and matching (503 past it).
    with svc.admission.slot() as slot:
        try:
            async with asyncio.timeout(svc.settings.request_deadline_s):
                raw1, raw2 = await _read_images(request, svc, mode)
                result = await _run_limited(svc, slot, _match_bytes, svc, raw1, raw2, type1, decode_error)
        except TimeoutError:
            raise ServiceUnavailableError("deadline") from None
    if not await anyio.to_thread.run_sync(svc.store.consume, api_key):
        raise QuotaExceededError("quota_race")
    return result


def _request_mode(request: Request) -> tuple[str, str]:
    """``type1`` and the input mode; errorCode 6 when they disagree with the request."""
    q = request.query_params
    type1 = q.get("type1", CARD).strip().lower() or CARD
    if type1 not in TYPE1_VALUES:
        raise FormatTypeError("type1")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    actual = "url" if request.method == "GET" else {
        "multipart/form-data": "file", "application/json": "base64"}.get(ctype, "unknown")
    declared = q.get("format_type", "").strip().lower() or actual
    if declared not in FORMAT_TYPES or declared != actual:
        raise FormatTypeError("format_type")
    return type1, declared


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge("body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge("body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_images(request: Request, svc: Services, mode: str) -> tuple[bytes, bytes]:
    limits = svc.settings.limits
    if mode == "url":
        urls = [request.query_params.getlist(name) for name in ("img1", "img2")]
        if any(len(u) != 1 or not u[0].strip() for u in urls):
            raise UrlUnavailableError("missing_url")
        fetches = [asyncio.ensure_future(svc.fetcher.fetch(u[0].strip())) for u in urls]
        try:
            raw1, raw2 = await asyncio.gather(*fetches)
        finally:  # when one fails, gather leaves the other downloading: stop it, let it close
            for f in fetches:
                f.cancel()
            await asyncio.gather(*fetches, return_exceptions=True)
        return raw1, raw2
    body = await _read_body(request, limits.max_body_bytes)
    if mode == "file":
        try:
            parts = multipart.parse(request.headers.get("content-type", ""), body)
        except multipart.MultipartError:
            raise NoContentError("bad_multipart") from None
        return _upload(parts, "img1", limits.max_image_bytes), _upload(parts, "img2", limits.max_image_bytes)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deeply nested JSON
        raise NoContentError("bad_json") from None
    if not isinstance(doc, dict):
        raise NoContentError("bad_json")
    return (decode_base64_image(doc.get("img1"), max_bytes=limits.max_image_bytes),
            decode_base64_image(doc.get("img2"), max_bytes=limits.max_image_bytes))


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


async def _run_limited(svc: Services, slot, fn, *args):
    """Run CPU-bound work on the fixed pool. The request's admission ``slot``
    stays taken until the work has finished, even if the request gave up (a
    thread cannot be interrupted); work still queued when its request gives
    up (deadline, client gone) is cancelled and never runs."""
    future = svc.executor.submit(fn, *args)
    slot.hold_until(future)
    return await asyncio.wrap_future(future)


def _analyze_bytes(svc: Services, raw: bytes, role: str, kind: str, decode_error: type[FaceMatchError]) -> ImageAnalysis:
    limits = svc.settings.limits
    t0 = time.perf_counter()
    rgb = decode_image(raw, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels, error=decode_error)
    decode_ms = (time.perf_counter() - t0) * 1000
    with svc.pool.bundle() as bundle:
        result = analyze(bundle, rgb, role, kind, svc.config)
    result.timings["decode"] = decode_ms
    return result


def _match_bytes(svc: Services, raw1: bytes, raw2: bytes, type1: str, decode_error: type[FaceMatchError]) -> MatchResult:
    """Decode and analyse both images, the second on a side thread when there
    is one (decoding, detection and the embedding release the GIL), then
    compare. When both images fail, the first image's error is the answer."""
    kind1 = CARD if type1 == CARD else PORTRAIT
    if svc.side_executor is None:
        a = _analyze_bytes(svc, raw1, "img1", kind1, decode_error)
        b = _analyze_bytes(svc, raw2, "img2", PORTRAIT, decode_error)
        return compare(a, b, svc.calibration)
    second = svc.side_executor.submit(_analyze_bytes, svc, raw2, "img2", PORTRAIT, decode_error)
    try:
        a = _analyze_bytes(svc, raw1, "img1", kind1, decode_error)
    except BaseException:
        if not second.cancel():
            concurrent.futures.wait([second])  # its bundle and thread are back before this request ends
        raise
    return compare(a, second.result(), svc.calibration)
