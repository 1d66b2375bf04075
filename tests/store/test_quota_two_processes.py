"""Quota integrity across processes: 200 concurrent requests against a quota
of 50, split over two service processes sharing one database, give exactly 50
successes and a counter of exactly 50 -- with SQLite and with PostgreSQL.

The two processes are real uvicorn servers running the real app, store and
quota path with a stand-in matcher (``stub_app``), so the run takes seconds;
``benchmarks/quota_integrity.py`` repeats it with the real matcher.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import cv2
import pytest

from facematch.store import open_store
from tests.conftest import jpeg
from tools.service_proc import Service, fire, free_port, uvicorn_command

REQUESTS, QUOTA = 200, 50


def run_two_processes(db_url: str, tmp_path, image: bytes, env: dict[str, str] | None = None,
                      factory: str = "tests.store.stub_app:create_app") -> tuple[Counter, int]:
    store = open_store(db_url)
    info, secret = store.create_key(quota=QUOTA, label="quota-test")
    base_env = {"FACEMATCH_DATABASE_URL": db_url, "FACEMATCH_DATA_DIR": str(tmp_path),
                "FACEMATCH_QUEUE_LIMIT": str(REQUESTS), "FACEMATCH_LOG_LEVEL": "WARNING",
                "FACEMATCH_STUB_MATCH_S": "0.005", "FACEMATCH_STUB_COUNT_FILE": str(tmp_path / "matches"),
                **(env or {})}
    services = []
    try:
        for n in range(2):
            port = free_port()
            services.append(Service(uvicorn_command(port, factory), port, base_env, tmp_path / f"svc{n}.log").launch())
        for s in services:
            s.wait_ready()
        results = asyncio.run(fire([s.url for s in services], (info.api_key, secret), image, REQUESTS))
        used = store.get(info.api_key).used
    finally:
        for s in services:
            s.stop()
        if hasattr(store, "close"):
            store.close()
    return Counter((status, code) for status, code, _ in results), used


@pytest.fixture(scope="module")
def small_image(astronaut) -> bytes:
    return jpeg(cv2.resize(astronaut, (128, 128)))


def test_quota_exact_across_two_processes(db_url, tmp_path, small_image):
    counts, used = run_two_processes(db_url, tmp_path, small_image)
    assert counts[(200, "0")] == QUOTA, counts
    assert counts[(429, "4")] == REQUESTS - QUOTA, counts
    assert used == QUOTA
    # More requests than the quota passed the pre-check and were matched: the
    # atomic consume, not the pre-check, is what held the line.
    assert (tmp_path / "matches").stat().st_size > QUOTA
