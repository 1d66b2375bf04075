"""Work whose request gave up (its deadline passed) stops at its next stage (``facematch.cancel``): the real
``Matcher`` on fakes of the models, one of them slow, in the real app; the decode budget's queue."""

from __future__ import annotations

import asyncio
import contextvars
import io
import threading
import time

import httpx
import pytest
from PIL import Image

from facematch import cancel
from facematch.api.app import create_app
from facematch.imaging.decode import DecodeBudget
from facematch.matcher import build_matcher
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from facematch.types import ImageKind
from tests.support.fakes import FakeDetector, FakeEmbedder, FakeLandmarker

PATH = "/api/v2/ekyc/face_matching"


def png(colour: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (64, 48), colour)
    img.putpixel((3, 3), (255, 255, 255))  # not flat: the fake detector finds a face
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class SlowDetector(FakeDetector):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def detect(self, rgb):
        time.sleep(self.seconds)
        return super().detect(rgb)


class CountingEmbedder(FakeEmbedder):
    def __init__(self, calls: list[float]) -> None:
        self.calls = calls

    def embed(self, chip):
        self.calls.append(time.monotonic())
        return super().embed(chip)


def slow_pool(seconds: float, calls: list[float], size: int = 2) -> ModelPool:
    return ModelPool([ModelBundle(SlowDetector(seconds), FakeLandmarker(), CountingEmbedder(calls))
                      for _ in range(size)])


def test_work_given_up_before_it_starts_does_nothing_and_gives_the_models_back():
    calls: list[float] = []
    pool = slow_pool(0.0, calls)
    matcher = build_matcher(Settings(), pool=pool, parallel=True, check_calibration=False)
    gone = threading.Event()
    gone.set()
    with cancel.scope(gone), pytest.raises(cancel.Abandoned):
        matcher.match(png((200, 40, 40)), png((40, 40, 200)), ImageKind.PORTRAIT)
    matcher.close()
    assert calls == []
    with pool.bundle(), pool.bundle():  # both bundles are back (a third would wait for ever)
        pass


def test_both_images_stop_at_their_next_stage():
    """The mark reaches the side thread that analyses img2: neither image is embedded."""
    calls: list[float] = []
    matcher = build_matcher(Settings(), pool=slow_pool(0.3, calls, size=4), parallel=True, check_calibration=False)
    gone = threading.Event()
    threading.Timer(0.1, gone.set).start()  # while both images are in detection
    with cancel.scope(gone), pytest.raises(cancel.Abandoned):
        matcher.match(png((200, 40, 40)), png((40, 40, 200)), ImageKind.PORTRAIT)
    assert calls == []
    # Without a mark (the CLI, evaluation) nothing changes.
    result = contextvars.Context().run(matcher.match, png((200, 40, 40)), png((200, 40, 40)), ImageKind.PORTRAIT)
    matcher.close()
    assert result.image1.face is not None and result.image2.face is not None and len(calls) == 2


def test_a_decode_given_up_while_waiting_leaves_the_line_and_the_next_moves_up():
    budget = DecodeBudget(10)
    order: list[str] = []
    release, gone = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def take(name: str, n: int, mark: threading.Event | None = None, hold: threading.Event | None = None) -> None:
        try:
            with cancel.scope(mark or threading.Event()), budget.hold(n):
                order.append(name)
                if hold is not None:
                    hold.wait(5)
            outcome[name] = "decoded"
        except cancel.Abandoned:
            outcome[name] = "abandoned"

    a = threading.Thread(target=take, args=("a", 8, None, release))
    a.start()
    while budget.held != 8:
        time.sleep(0.01)
    b = threading.Thread(target=take, args=("b", 5, gone))  # waits for a; its request will give up
    b.start()
    time.sleep(0.1)
    c = threading.Thread(target=take, args=("c", 5))  # behind b
    c.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    gone.set()
    b.join(2)
    assert outcome.get("b") == "abandoned" and time.monotonic() - t0 < 1.0
    release.set()
    for t in (a, c):
        t.join(5)
    assert order == ["a", "c"] and outcome == {"a": "decoded", "b": "abandoned", "c": "decoded"}
    assert budget.held == 0
    with budget.hold(10):  # the line is not stuck on b's ticket
        assert budget.held == 10


def test_a_request_past_its_deadline_stops_its_work_and_frees_its_slot(tmp_path):
    """Detection takes 0.6 s, the deadline is 0.3 s: the answer is 503 at the deadline, the image is never
    embedded, and the admission slot is free once detection returns, not after the whole match."""
    store = SqliteKeyStore(tmp_path / "k.db")
    info, secret = store.create_key(quota=None)
    auth = (info.api_key, secret)
    files = {"img1": ("a.png", png((200, 40, 40))), "img2": ("b.png", png((200, 40, 40)))}

    async def one(deadline: float, calls: list[float]):
        cfg = Settings(data_dir=tmp_path, workers=1, request_deadline_s=deadline)
        app = create_app(cfg, store=store, pool=slow_pool(0.6, calls))
        async with app.router.lifespan_context(app):
            svc = app.state.services
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
                await c.post(f"{PATH}?format_type=file", auth=auth, json={})  # warm the credential cache
                r = await c.post(f"{PATH}?type1=portrait&format_type=file", auth=auth, files=files)
                t0 = time.monotonic()
                while svc.admission.taken and time.monotonic() - t0 < 5:
                    await asyncio.sleep(0.02)
                freed = time.monotonic() - t0
                await asyncio.sleep(0.2)
                return r, freed

    calls: list[float] = []
    r, freed = asyncio.run(one(0.3, calls))
    assert r.status_code == 503 and r.json()["errorCode"] == "503"
    assert calls == []  # neither image embedded after the deadline
    assert freed < 0.6
    r, _ = asyncio.run(one(5.0, calls))  # the same work within its deadline
    assert r.status_code == 200 and r.json()["errorCode"] == "0" and len(calls) == 2


def _multipart(files: dict[str, tuple[str, bytes]]) -> tuple[bytes, bytes]:
    """A multipart body and its content type, as httpx writes them."""
    request = httpx.Request("POST", "http://t/", files=files)
    return request.read(), request.headers["content-type"].encode()


async def _asgi(app, auth: tuple[str, str], body: bytes, ctype: bytes, sent: int, leave_after: float) -> list[dict]:
    """One v2 request straight through the ASGI interface, as a server passes it: the first ``sent`` bytes of
    ``body``, then, ``leave_after`` seconds later, the client closes the connection (``http.disconnect``)."""
    import base64

    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": PATH, "raw_path": PATH.encode(), "query_string": b"type1=portrait&format_type=file",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("t", 80),
             "headers": [(b"host", b"t"), (b"authorization", b"Basic " + token), (b"content-type", ctype),
                         (b"content-length", str(len(body)).encode())]}
    parts = [{"type": "http.request", "body": body[:sent], "more_body": sent < len(body)}]
    messages: list[dict] = []

    async def receive() -> dict:
        if parts:
            return parts.pop()
        await asyncio.sleep(leave_after)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return messages


def test_a_client_that_leaves_is_logged_as_gone_never_as_an_error_and_its_work_stops(tmp_path, caplog):
    """Before: a client closing the connection while uploading was logged as an unhandled error with a
    traceback and counted as HTTP 500; one leaving during its match had the match run to the end for nobody.
    Now both are status 499 ``client_gone`` in the log, ``facematch_client_gone_total`` in the metrics, not
    charged, and the match stops at its next stage."""
    import logging

    store = SqliteKeyStore(tmp_path / "k.db")
    info, secret = store.create_key(quota=5)
    auth = (info.api_key, secret)
    body, ctype = _multipart({"img1": ("a.png", png((200, 40, 40))), "img2": ("b.png", png((200, 40, 40)))})
    calls: list[float] = []
    cfg = Settings(data_dir=tmp_path, workers=1)
    app = create_app(cfg, store=store, pool=slow_pool(0.6, calls))

    async def scenario():
        async with app.router.lifespan_context(app):
            svc = app.state.services
            uploading = await _asgi(app, auth, body, ctype, sent=len(body) // 2, leave_after=0.05)
            t0 = time.monotonic()
            matching = await _asgi(app, auth, body, ctype, sent=len(body), leave_after=0.2)
            gone_after = time.monotonic() - t0
            while svc.admission.taken and time.monotonic() - t0 < 5:
                await asyncio.sleep(0.02)
            freed = time.monotonic() - t0
            metrics = app.state.metrics.render().decode()
            return uploading, matching, gone_after, freed, metrics

    with caplog.at_level(logging.INFO, logger="facematch.api"):
        uploading, matching, gone_after, freed, metrics = asyncio.run(scenario())
    records = [r for r in caplog.records if r.name == "facematch.api"]
    assert not [r for r in records if r.levelno >= logging.WARNING], [r.getMessage() for r in records]
    lines = [r.fields for r in records if r.getMessage() == "request"]
    assert [(f["status"], f["reason"], f["during"]) for f in lines] == [
        (499, "client_gone", "reading"), (499, "client_gone", "matching")]
    assert 'facematch_client_gone_total{during="reading"} 1.0' in metrics
    assert 'facematch_client_gone_total{during="matching"} 1.0' in metrics
    assert "facematch_requests_total{" not in metrics  # nothing was answered
    assert gone_after < 0.5  # the handler returned when the client left, not when the match would have ended
    assert calls == [] and freed < 1.0  # detection finished (0.6 s), nothing after it ran
    assert store.get(info.api_key).used == 0  # never charged


def test_a_client_that_leaves_while_its_urls_download_stops_the_downloads(tmp_path, caplog):
    """URL mode has no body to read: before, the service noticed a client that had left only once both
    images had downloaded (a slow host: up to the fetch timeout) and their match was queued. Now the
    downloads stop when the client leaves, logged as 499 ``client_gone`` ``fetching``, never charged."""
    import base64
    import gc
    import logging

    store = SqliteKeyStore(tmp_path / "k.db")
    info, secret = store.create_key(quota=5)
    token = base64.b64encode(f"{info.api_key}:{secret}".encode())
    started: list[str] = []
    stopped: list[str] = []

    async def slow_host(request: httpx.Request) -> httpx.Response:
        started.append(request.url.path)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            stopped.append(request.url.path)
            raise
        return httpx.Response(200, content=png((200, 40, 40)), headers={"content-type": "image/png"})

    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    calls: list[float] = []
    app = create_app(Settings(data_dir=tmp_path, workers=1), store=store, pool=slow_pool(0.0, calls),
                     transport=httpx.MockTransport(slow_host), resolver=resolve)
    query = b"type1=portrait&format_type=url&img1=http://a.example/1.png&img2=http://a.example/2.png"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": PATH, "raw_path": PATH.encode(), "query_string": query, "root_path": "",
             "client": ("127.0.0.1", 50000), "server": ("t", 80),
             "headers": [(b"host", b"t"), (b"authorization", b"Basic " + token)]}
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.sleep(0.2)  # the client gives up
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def scenario() -> tuple[float, str]:
        async with app.router.lifespan_context(app):
            t0 = time.monotonic()
            await app(scope, receive, send)
            took = time.monotonic() - t0
            taken = app.state.services.admission.taken
            return took, app.state.metrics.render().decode() + f"\ntaken {taken}"

    with caplog.at_level(logging.INFO):
        took, metrics = asyncio.run(scenario())
        gc.collect()  # a future whose exception nobody read is logged by asyncio when it is collected
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    lines = [r.fields for r in caplog.records if r.name == "facematch.api" and r.getMessage() == "request"]
    assert [(f["status"], f["reason"], f["during"]) for f in lines] == [(499, "client_gone", "fetching")]
    assert 'facematch_client_gone_total{during="fetching"} 1.0' in metrics and metrics.endswith("taken 0")
    assert took < 2.0  # when the client left, not after the 10 s downloads
    assert sorted(started) == sorted(stopped) == ["/1.png", "/2.png"]  # both downloads began and were stopped
    assert calls == [] and store.get(info.api_key).used == 0
