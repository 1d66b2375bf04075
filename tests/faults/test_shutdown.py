"""A rolling update stops a replica with SIGTERM while it holds requests: every request it admitted is still
answered (``facematch serve`` waits request_deadline_s and a margin for them; it waited 5 s before, and the
requests still queued then were cut with HTTP 500). The real service and matcher, one matching thread."""

from __future__ import annotations

import asyncio
import math
import signal
import time

import cv2
import httpx

from facematch.store import open_store
from tests.conftest import jpeg
from tools.service_proc import Service, free_port, serve_command

REQUESTS = 40  # at least; more where one match is quicker: about 10 s of matching on one thread in all, more
#: than the 5 s that were waited
MAX_REQUESTS = 160


def test_sigterm_lets_every_admitted_request_finish(tmp_path, astronaut, astronaut_selfie):
    store = open_store(f"sqlite:///{tmp_path / 'facematch.db'}")
    info, secret = store.create_key(quota=None)
    auth = (info.api_key, secret)
    card = jpeg(cv2.resize(astronaut, (3200, 2400)))
    files = {"img1": ("card.jpg", card, "image/jpeg"), "img2": ("selfie.jpg", jpeg(astronaut_selfie), "image/jpeg")}
    port = free_port()
    env = {"FACEMATCH_DATA_DIR": str(tmp_path), "FACEMATCH_WORKERS": "1", "FACEMATCH_QUEUE_LIMIT": str(MAX_REQUESTS),
           "FACEMATCH_KEY_IN_FLIGHT": str(MAX_REQUESTS), "FACEMATCH_LOG_LEVEL": "WARNING"}
    svc = Service(serve_command(port), port, env, tmp_path / "service.log").start()
    try:
        url = f"{svc.url}?type1=portrait&format_type=file"
        with httpx.Client(timeout=60) as c:
            assert c.post(url, auth=auth, files=files).json()["errorCode"] == "0"  # warm
            t0 = time.monotonic()
            assert c.post(url, auth=auth, files=files).json()["errorCode"] == "0"
            one = time.monotonic() - t0
        requests = min(MAX_REQUESTS, max(REQUESTS, math.ceil(10.0 / one)))

        async def rolling_update() -> list[int | str]:
            limits = httpx.Limits(max_connections=requests + 2)
            async with httpx.AsyncClient(timeout=120, limits=limits) as c:
                async def one_request() -> int | str:
                    try:
                        r = await c.post(url, auth=auth, files=files)
                        return r.status_code if r.json()["errorCode"] == "0" else r.json()["errorCode"]
                    except ValueError:  # not the envelope: uvicorn's own "Internal Server Error" for a cut one
                        return r.status_code
                    except httpx.HTTPError as exc:
                        return type(exc).__name__
                tasks = [asyncio.create_task(one_request()) for _ in range(requests)]
                await asyncio.sleep(1.0)  # every request sent and admitted, most still queued
                svc.proc.send_signal(signal.SIGTERM)
                return await asyncio.gather(*tasks)

        outcomes = asyncio.run(rolling_update())
        assert svc.proc.wait(timeout=60) is not None
    finally:
        svc.stop()
    assert requests * one > 8, "the work in flight must outlast the 5 s that were waited before, by far"
    assert outcomes == [200] * requests, outcomes
