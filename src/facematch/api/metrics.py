"""Prometheus metrics at ``/metrics``.

Each app has its own registry (tests build many apps in one process), so
nothing here is a module-level global. Label values are bounded: the v2
``errorCode`` and ``invalidCode`` strings, the input mode, the HTTP status and
the pipeline stage names of ``MatchResult.timings``.

Exposed (besides the standard ``process_*``/``python_*`` collectors):

- ``facematch_requests_total{mode,error_code,invalid_code,status}``: v2 requests
  answered; ``invalid_code`` is ``none`` when the response carries no warning code.
- ``facematch_request_duration_seconds{error_code}``: whole-request latency.
- ``facematch_stage_duration_seconds{stage}``: per pipeline stage
  (``decode``, ``img1.detect``, ``img2.embed``, ...), successful matches only.
- ``facematch_quota_rejections_total``: requests refused with errorCode 4.
- ``facematch_refusals_total{reason}``: requests refused with 503 or 429, by the
  error's fixed reason: ``overloaded`` (every slot taken: add replicas),
  ``key_busy`` (one key at FACEMATCH_KEY_IN_FLIGHT: that client floods),
  ``deadline``, ``auth_busy``, ``auth_rate_limited``, ``sqlite_*`` and
  ``postgres_*`` (the database).
- ``facematch_client_gone_total{during}``: v2 requests whose client closed the
  connection before the answer, ``reading`` (while sending its images),
  ``fetching`` (while the service downloaded them from their URLs; the
  downloads stop) or ``matching`` (while its match waited or ran; the work
  stops): not answered,
  not in ``facematch_requests_total``. Many ``matching``: clients give up
  sooner than the service answers (their timeout is below its deadline, or it
  is overloaded).
- ``facematch_admitted_requests``: requests admitted now (reading images, waiting
  for or running on a matching thread).

Counters are per process: with several replicas, scrape each one (they are
independent series with an ``instance`` label added by Prometheus).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from fastapi import FastAPI

    from facematch.contract.models import Envelope
    from facematch.matcher import MatchResult

STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TOTAL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_STAGE_NAME = re.compile(r"^[a-z0-9_.]{1,40}$")
_REASON = re.compile(r"^[a-z0-9_]{1,40}$")  # the fixed reasons of facematch.errors
_MODES = {"multipart/form-data": "file", "application/json": "base64"}


class Metrics:
    """The metric objects of one app, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        process_collector.ProcessCollector(registry=r)
        platform_collector.PlatformCollector(registry=r)
        gc_collector.GCCollector(registry=r)
        self.requests = Counter(
            "facematch_requests", "v2 face_matching requests answered, by input mode, errorCode, invalidCode and "
            "HTTP status (before FACEMATCH_LEGACY_HTTP_200).",
            ["mode", "error_code", "invalid_code", "status"], registry=r)
        self.duration = Histogram(
            "facematch_request_duration_seconds", "Whole v2 request latency (auth, reading, matching, quota).",
            ["error_code"], buckets=TOTAL_BUCKETS, registry=r)
        self.stages = Histogram(
            "facematch_stage_duration_seconds", "Latency of one pipeline stage of a successful match.",
            ["stage"], buckets=STAGE_BUCKETS, registry=r)
        self.quota_rejections = Counter(
            "facematch_quota_rejections", "Requests refused because the key's quota is used up (errorCode 4).",
            registry=r)
        self.refusals = Counter(
            "facematch_refusals", "v2 requests refused with 503 or 429, by reason (overloaded, key_busy, deadline, "
            "auth_busy, auth_rate_limited, sqlite_* and postgres_*: the database).", ["reason"], registry=r)
        self.gone = Counter(
            "facematch_client_gone", "v2 requests whose client closed the connection before the answer, while "
            "sending its images (reading), while they were downloaded from their URLs (fetching) or while its match "
            "waited or ran (matching).", ["during"], registry=r)
        self.admitted = Gauge(
            "facematch_admitted_requests", "Requests admitted now: reading images, waiting for or running on a "
            "matching thread (503 when all FACEMATCH_WORKERS + FACEMATCH_QUEUE_LIMIT slots are taken).", registry=r)

    def observe(self, mode: str, body: Envelope, status: int, result: MatchResult | None, seconds: float,
                reason: str | None = None) -> None:
        error_code = body.errorCode
        invalid_code = body.data.invalidCode or "none"
        self.requests.labels(mode, error_code, invalid_code, str(status)).inc()
        self.duration.labels(error_code).observe(seconds)
        if error_code == "4":
            self.quota_rejections.inc()
        if error_code in ("503", "429"):
            self.refusals.labels(reason if reason and _REASON.match(reason) else "other").inc()
        if result is not None:
            for stage, ms in result.timings.items():
                if _STAGE_NAME.match(stage):
                    self.stages.labels(stage).observe(ms / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def request_mode(request: Request) -> str:
    """The input mode as the request shows it (not as ``format_type`` claims)."""
    if request.method == "GET":
        return "url"
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return _MODES.get(ctype, "other")


def observe(request: Request, body: Envelope, status: int, result: MatchResult | None, seconds: float,
            reason: str | None = None) -> None:
    """Record one answered v2 request on the app's metrics (no-op if not installed); ``reason``: a failure's
    fixed reason (``FaceMatchError.detail``)."""
    m: Metrics | None = getattr(request.app.state, "metrics", None)
    if m is not None:
        m.observe(request_mode(request), body, status, result, seconds, reason)


def client_gone(request: Request, during: str) -> None:
    """Record a v2 request whose client left before its answer (``during``: ``reading``, ``fetching`` or
    ``matching``)."""
    m: Metrics | None = getattr(request.app.state, "metrics", None)
    if m is not None:
        m.gone.labels(during).inc()


def install(app: FastAPI) -> Metrics:
    """Create the app's metrics and serve them at ``GET /metrics`` (Prometheus text format)."""
    m = Metrics()
    app.state.metrics = m

    def _admitted() -> float:
        admission = getattr(getattr(app.state, "services", None), "admission", None)
        return float(getattr(admission, "taken", 0))

    m.admitted.set_function(_admitted)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(m.render(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return m
