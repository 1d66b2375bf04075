"""Back-pressure in one process: a fixed pool of matching threads, a bounded
number of admitted requests (pool + queue_limit) checked before any body is
read, one deadline over the whole request. Over capacity a request gets 503 +
Retry-After at once; nothing waits past the deadline; work abandoned by its
request keeps its slot until the thread is free, and queued work whose
request gave up never runs. The matcher is a stand-in that sleeps."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from tests.store.stub_app import StubMatcher

PATH = "/api/v2/ekyc/face_matching"


class SlowMatcher(StubMatcher):
    def __init__(self, settings: Settings, seconds: float) -> None:
        super().__init__(settings, seconds=seconds)
        self.concurrency = 1
        self.started = 0
        self.lock = threading.Lock()

    def match(self, raw1, raw2, kind1, *, error):
        with self.lock:
            self.started += 1
        return super().match(TINY, TINY, kind1, error=error)


TINY = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478da63f8ffff3f0005fe02fe"
    "a7d6a4bd0000000049454e44ae426082")


@pytest.fixture
def harness(tmp_path, monkeypatch):
    store = SqliteKeyStore(tmp_path / "k.db")
    info, secret = store.create_key(quota=None)

    def make(seconds: float, **settings):
        cfg = Settings(data_dir=tmp_path, workers=1, **settings)
        matcher = SlowMatcher(cfg, seconds)
        app = create_app(cfg, store=store, matcher=matcher)
        return app, matcher

    return make, (info.api_key, secret)


async def fire(app, auth, n: int, body=None, timeout: float = 30) -> list[tuple[int, str, str, float]]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=timeout) as c:
            # warm the credential cache (errorCode 6 stops right after authentication)
            await c.post(f"{PATH}?format_type=file", auth=auth, json={})

            async def one():
                t0 = time.monotonic()
                if body is None:
                    r = await c.post(f"{PATH}?type1=portrait&format_type=file", auth=auth,
                                     files={"img1": ("a.png", TINY), "img2": ("b.png", TINY)})
                else:
                    r = await c.post(f"{PATH}?format_type=base64", auth=auth, content=body(),
                                     headers={"content-type": "application/json"})
                return r.status_code, r.json()["errorCode"], r.headers.get("retry-after", ""), time.monotonic() - t0

            return await asyncio.gather(*[one() for _ in range(n)])


def test_over_capacity_gets_503_with_retry_after_at_once(harness):
    make, auth = harness
    app, matcher = make(0.3, queue_limit=2, key_in_flight=3)  # 1 thread + 2 waiting = 3 admitted, all one key's
    results = asyncio.run(fire(app, auth, 10))
    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 503]
    assert len(ok) == 3 and len(refused) == 7, results
    assert all(r[1] == "503" and r[2] == "1" for r in refused)
    assert max(r[3] for r in refused) < 0.25  # refused at the door, not after waiting
    assert matcher.started == 3


def test_deadline_bounds_the_wait_and_abandoned_work_keeps_its_slot(harness):
    make, auth = harness
    app, matcher = make(1.2, queue_limit=0, request_deadline_s=0.4)

    async def scenario():
        async with app.router.lifespan_context(app):
            svc = app.state.services
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
                files = {"img1": ("a.png", TINY), "img2": ("b.png", TINY)}
                t0 = time.monotonic()
                r1 = await c.post(f"{PATH}?format_type=file", auth=auth, files=files)
                waited = time.monotonic() - t0
                # The thread is still busy with the abandoned work: its slot is still taken.
                busy = svc.admission.taken
                r2 = await c.post(f"{PATH}?format_type=file", auth=auth, files=files)
                await asyncio.sleep(1.2)
                free = svc.admission.taken
                r3 = await c.post(f"{PATH}?format_type=file", auth=auth, files=files)
                return r1, waited, busy, r2, free, r3

    r1, waited, busy, r2, free, r3 = asyncio.run(scenario())
    assert r1.status_code == 503 and r1.json()["errorCode"] == "503" and r1.headers["retry-after"] == "1"
    assert 0.35 < waited < 0.9
    assert busy == 1 and r2.status_code == 503
    assert free == 0 and r3.status_code == 503  # 1.2 s of work against a 0.4 s deadline, again
    assert matcher.started == 2  # r2 was refused at the door, never queued


def test_queued_work_of_a_request_that_gave_up_never_runs(harness):
    make, auth = harness
    app, matcher = make(0.3, queue_limit=5, request_deadline_s=0.45)
    results = asyncio.run(fire(app, auth, 4))
    assert sorted(r[0] for r in results) == [200, 503, 503, 503], results
    assert max(r[3] for r in results) < 1.0
    time.sleep(0.4)
    assert matcher.started == 2  # the first, and the second (already running at the deadline)


def test_slow_upload_is_cut_at_the_deadline(harness):
    make, auth = harness
    app, matcher = make(0.01, request_deadline_s=0.5)
    pulled = []

    async def drip():
        yield b'{"img1": "'
        for _ in range(100):  # 20 s if it were waited for
            await asyncio.sleep(0.2)
            pulled.append(1)
            yield b"AAAA"

    results = asyncio.run(fire(app, auth, 1, body=drip))
    status, code, retry_after, elapsed = results[0]
    assert (status, code, retry_after) == (503, "503", "1")
    assert elapsed < 1.2 and len(pulled) < 10
    assert matcher.started == 0


def test_a_flooding_key_leaves_room_and_turns_for_another(tmp_path):
    """One key sends more than the service admits; another key's request is still admitted (the flooder may
    hold queue_limit slots, not all) and runs next, before the flooder's queued requests (the matching
    threads serve the keys in turn)."""
    store = SqliteKeyStore(tmp_path / "k.db")
    (bulk, bulk_secret), (other, other_secret) = store.create_key(quota=None), store.create_key(quota=None)
    cfg = Settings(data_dir=tmp_path, workers=1, queue_limit=3)  # 4 slots, 3 per key (the default)
    ran: list[str] = []

    class Recording(SlowMatcher):
        def match(self, raw1, raw2, kind1, *, error):
            ran.append(raw1[len(TINY):].decode())
            return super().match(raw1, raw2, kind1, error=error)

    app = create_app(cfg, store=store, matcher=Recording(cfg, 0.3))

    async def scenario():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
                async def one(auth, tag: str):
                    files = {"img1": ("a.png", TINY + tag.encode()), "img2": ("b.png", TINY)}
                    r = await c.post(f"{PATH}?type1=portrait&format_type=file", auth=auth, files=files)
                    return tag, r.status_code, r.headers.get("retry-after", "")

                for auth in ((bulk.api_key, bulk_secret), (other.api_key, other_secret)):
                    await c.post(f"{PATH}?format_type=file", auth=auth, json={})  # warm the credential cache
                flood = [asyncio.create_task(one((bulk.api_key, bulk_secret), f"bulk{i}")) for i in range(6)]
                await asyncio.sleep(0.1)  # the flood is admitted (3) or refused (3), its first one running
                late = await one((other.api_key, other_secret), "other")
                results = await asyncio.gather(*flood), late
                return (*results, (await c.get("/metrics")).text)

    flood, late, metrics = asyncio.run(scenario())
    # the refusals, by reason: this key was at its share, the service was not full
    assert 'facematch_refusals_total{reason="key_busy"} 3.0' in metrics
    assert 'reason="overloaded"' not in metrics
    assert sorted(status for _, status, _ in flood) == [200, 200, 200, 503, 503, 503], flood
    assert all(retry == "1" for _, status, retry in flood if status == 503)
    assert late[1] == 200
    assert len(ran) == 4 and ran[1] == "other", ran  # one bulk request ran before it, two waited behind it
