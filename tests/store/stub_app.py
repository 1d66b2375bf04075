"""The real service with a stand-in matcher, for the quota tests that need
hundreds of requests in seconds on two cores.

Everything but ``_match_bytes`` is the production code path: uvicorn, the
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
from contextlib import contextmanager

import numpy as np


class StubPool:
    def __init__(self, size: int) -> None:
        self.size = size

    @contextmanager
    def bundle(self):
        yield None


def _stub_match(svc, raw1: bytes, raw2: bytes, type1: str, decode_error):
    from facematch.imaging.decode import decode_image
    from facematch.pipeline import Face, ImageAnalysis, MatchResult

    limits = svc.settings.limits
    for raw in (raw1, raw2):
        decode_image(raw, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels, error=decode_error)
    time.sleep(float(os.environ.get("FACEMATCH_STUB_MATCH_S", "0.02")))
    if count_file := os.environ.get("FACEMATCH_STUB_COUNT_FILE"):  # one byte per match, for the tests
        with open(count_file, "ab") as f:
            f.write(b".")
    face = Face((10.0, 10.0, 50.0, 50.0), 0.99, np.zeros((5, 2)), np.zeros(128), b"\xff\xd8\xff\xd9")
    a = ImageAnalysis("img1", type1, face, 1)
    b = ImageAnalysis("img2", "portrait", face, 1)
    return MatchResult(0.0, 99.0, 1, a, b, "stub")


def create_app():
    from facematch import logs
    from facematch.api import app as app_module
    from facematch.settings import Settings

    settings = Settings()
    logs.configure(settings.log_level)
    app_module._match_bytes = _stub_match
    return app_module.create_app(settings, pool=StubPool(settings.workers))
