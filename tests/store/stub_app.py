"""The real service with a stand-in matcher, for the quota tests that need
hundreds of requests in seconds on two cores.

Everything but the matcher is the production code path: uvicorn, the
app, authentication, the key store (SQLite or PostgreSQL), admission, the
deadline, quota pre-check and consume. The stand-in decodes both images with
the real decoder, sleeps ``FACEMATCH_STUB_MATCH_S`` seconds (default 0.02)
on the worker thread, and returns a fixed match. ``benchmarks/quota_integrity.py``
runs the same check against the real matcher.

    uvicorn --factory tests.store.stub_app:create_app
"""

from __future__ import annotations

import os
import time

import numpy as np
from fastapi import FastAPI

from facematch.api import app as app_module
from facematch.errors import InputError, NoContentError
from facematch.imaging.decode import decode_image
from facematch.matcher import Face, ImageAnalysis, MatchResult
from facematch.settings import Settings
from facematch.types import ImageKind


class StubMatcher:
    """Satisfies ``api.app.MatchService``: decodes both images with the real
    decoder and limits, sleeps, returns a fixed match."""

    calibration = None

    def __init__(self, settings: Settings, *, seconds: float | None = None) -> None:
        self.limits = settings.limits
        self.concurrency = settings.workers
        self.seconds = float(os.environ.get("FACEMATCH_STUB_MATCH_S", "0.02")) if seconds is None else seconds

    def match(self, raw1: bytes, raw2: bytes, kind1: ImageKind = ImageKind.CARD, *,
              error: type[InputError] = NoContentError) -> MatchResult:
        for raw in (raw1, raw2):
            decode_image(raw, max_bytes=self.limits.max_image_bytes, max_pixels=self.limits.max_image_pixels,
                         error=error)
        time.sleep(self.seconds)
        if count_file := os.environ.get("FACEMATCH_STUB_COUNT_FILE"):  # one byte per match, for the tests
            with open(count_file, "ab") as f:
                f.write(b".")
        face = Face((10.0, 10.0, 50.0, 50.0), 0.99, np.zeros((5, 2)), np.zeros(128), np.zeros((8, 8, 3), np.uint8))
        a = ImageAnalysis("img1", kind1, face, 1)
        b = ImageAnalysis("img2", ImageKind.PORTRAIT, face, 1)
        return MatchResult(0.0, 99.0, 1, a, b, "stub")

    def close(self) -> None:
        pass


def create_app() -> FastAPI:
    from facematch import logs

    settings = Settings()
    logs.configure(settings.log_level)
    return app_module.create_app(settings, matcher=StubMatcher(settings))
