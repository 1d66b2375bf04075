"""``facematch.client`` against the real app in-process (real models, injected
store and URL transport, as in tests/api), plus the wire-level edge cases on
``httpx.MockTransport``."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from facematch import client as fmc
from facematch.client import (
    AuthenticationError,
    Client,
    ClientError,
    MatchResponse,
    MatchWarning,
    NoContentError,
    NoFaceError,
    QuotaExceededError,
    TransportError,
    UnexpectedResponseError,
)
from facematch.types import ErrorCode, InvalidCode
from tests.api.conftest import key, make_client, store, web  # noqa: F401 - fixtures
from tests.conftest import jpeg

ROOT = Path(__file__).resolve().parents[2]


class AppTransport(httpx.BaseTransport):
    """``httpx.ASGITransport`` driven from sync code through a started
    TestClient's portal: the event loop that ran the app's lifespan."""

    def __init__(self, test_client) -> None:
        self._asgi = httpx.ASGITransport(app=test_client.app)
        self._portal = test_client.portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call():
            resp = await self._asgi.handle_async_request(
                httpx.Request(request.method, request.url, headers=request.headers, content=body))
            return resp.status_code, resp.headers.raw, await resp.aread()

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=content)


@pytest.fixture
def fm(make_client, key):  # noqa: F811
    with Client("http://testserver", *key, transport=AppTransport(make_client())) as c:
        yield c


def assert_same_person(r: MatchResponse) -> None:
    assert isinstance(r, MatchResponse)
    assert r.matching > 75 and r.match == 1 and r.is_match
    assert r.face1[:3] == r.face2[:3] == b"\xff\xd8\xff"
    assert 0.5 <= r.face1_score <= 1 and 0.5 <= r.face2_score <= 1
    assert r.invalid_message == InvalidCode(r.invalid_code).message
    assert all(isinstance(w, MatchWarning) and w.message == InvalidCode(w.code).message for w in r.warnings)
    assert re.fullmatch(r"[0-9a-f]{32}", r.request_id)
    assert r.face1_box is not None and len(r.face1_box) == 4 and r.distance is not None and r.calibration
    assert r.network == r.raw["data"]["network"] and r.network
    assert r.raw["errorCode"] == "0"


def test_file_mode_with_paths_and_bytes(fm, tmp_path, astronaut, astronaut_selfie):
    card = tmp_path / "card.jpg"
    card.write_bytes(jpeg(astronaut))
    r = fm.match(card, jpeg(astronaut_selfie), type1="portrait")
    assert_same_person(r)
    with open(card, "rb") as f:
        r2 = fm.match(str(card), f, type1="portrait", mode="file")  # str path, binary file object
    assert_same_person(r2)
    assert r2.request_id != r.request_id


def test_base64_mode_with_pil_and_numpy(fm, astronaut, astronaut_selfie, cameraman):
    r = fm.match(Image.fromarray(astronaut), astronaut_selfie, type1="portrait", mode="base64")
    assert_same_person(r)
    other = fm.match(astronaut, Image.fromarray(cameraman).convert("L"), type1="portrait", mode="base64")
    assert other.match == -1 and other.matching < 50


def test_url_mode_is_chosen_for_urls(fm, web):  # noqa: F811
    r = fm.match("http://cdn.example/card.jpg", "https://cdn.example/selfie.jpg", type1="portrait")
    assert_same_person(r)
    assert sorted(req.url.path for req in web.requests) == ["/card.jpg", "/selfie.jpg"]


def test_card_type_reports_warnings_as_typed_values(fm, astronaut, astronaut_selfie):
    r = fm.match(astronaut, astronaut_selfie)  # type1="card": a portrait is not an ID card
    assert r.match == 1
    for w in r.warnings:
        assert w.image in ("img1", "img2") and w.check
        assert w.value is None or isinstance(w.value, float)


def test_errors_are_typed_with_error_code(make_client, key, store, astronaut, astronaut_selfie, no_face, web):  # noqa: F811
    transport = AppTransport(make_client())
    with Client("http://testserver", key[0], key[1] + "x", transport=transport) as bad:
        with pytest.raises(AuthenticationError) as exc:
            bad.match(astronaut, astronaut_selfie)
    assert exc.value.error_code == 5 and exc.value.http_status == 401
    assert exc.value.message == ErrorCode(5).message and isinstance(exc.value, ClientError)
    assert re.fullmatch(r"[0-9a-f]{32}", exc.value.request_id)

    with Client("http://testserver", *key, transport=transport) as fm:
        with pytest.raises(NoFaceError) as exc:
            fm.match(astronaut, no_face, type1="portrait")
        assert exc.value.error_code == 3 and exc.value.http_status == 422
        assert exc.value.invalid_code == 5 and exc.value.invalid_message == InvalidCode(5).message
        assert exc.value.face1[:3] == b"\xff\xd8\xff" and exc.value.face2 == b""

        with pytest.raises(NoContentError) as exc:
            fm.match(b"not an image", astronaut_selfie)
        assert exc.value.error_code == 1

        with pytest.raises(fmc.UrlUnavailableError) as exc:
            fm.match("http://cdn.example/missing.jpg", "http://cdn.example/selfie.jpg")
        assert exc.value.error_code == 2

        store.set_quota(key[0], 0)
        with pytest.raises(QuotaExceededError) as exc:
            fm.match(astronaut, astronaut_selfie)
        assert exc.value.error_code == 4 and exc.value.http_status == 429


def test_legacy_http_200_still_raises(make_client, key, astronaut):  # noqa: F811
    with Client("http://testserver", key[0], "wrong", transport=AppTransport(make_client(legacy_http_200=True))) as c:
        with pytest.raises(AuthenticationError) as exc:
            c.match(astronaut, astronaut)
    assert exc.value.http_status == 200 and exc.value.error_code == 5


def test_one_exception_class_per_error_code():
    assert {int(c) for c in ErrorCode} - {0} <= set(fmc.ERRORS)
    for code, cls in fmc.ERRORS.items():
        assert issubclass(cls, ClientError) and cls.error_code == code


def _mock(handler, **options) -> Client:
    return Client("http://svc", "k", "s", transport=httpx.MockTransport(handler), **options)


def test_requests_follow_the_contract():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"matching": "80.00", "match": "1", "face1": "", "face2": "",
                                                  "face1_score": "0.9", "face2_score": "0.9", "invalidCode": "0",
                                                  "invalidMessage": "Successful"},
                                         "errorCode": "0", "errorMessage": "Success"},
                              headers={"X-Request-ID": "abc"})

    png = Image.new("RGB", (8, 8))
    with _mock(handler) as c:
        assert c.match(b"\xff\xd8\xffdata", png, mode="file").request_id == "abc"
        c.match(b"raw1", b"raw2", type1="portrait", mode="base64")
        c.match("https://a.example/1.jpg", "https://a.example/2.jpg")
    post_file, post_b64, get = seen
    assert post_file.method == "POST" and post_file.url.params["format_type"] == "file"
    assert post_file.url.params["type1"] == "card"
    assert post_file.headers["content-type"].startswith("multipart/form-data")
    assert post_file.headers["authorization"] == "Basic " + base64.b64encode(b"k:s").decode()
    assert b'name="img1"; filename="img1.jpg"' in post_file.content
    assert b'name="img2"; filename="img2.jpg"' in post_file.content  # the PIL image went as JPEG
    assert post_b64.headers["content-type"] == "application/json"
    assert post_b64.url.params["type1"] == "portrait" and post_b64.url.params["format_type"] == "base64"
    import json

    assert json.loads(post_b64.content) == {"img1": base64.b64encode(b"raw1").decode(),
                                            "img2": base64.b64encode(b"raw2").decode()}
    assert get.method == "GET" and dict(get.url.params) == {
        "img1": "https://a.example/1.jpg", "img2": "https://a.example/2.jpg", "type1": "card", "format_type": "url"}


def test_bad_inputs_raise_before_sending():
    def handler(request):
        raise AssertionError("nothing may be sent")

    with _mock(handler) as c:
        with pytest.raises(ValueError, match="mode='url'"):
            c.match("https://a.example/1.jpg", b"bytes", mode="file")
        with pytest.raises(ValueError, match="two http"):
            c.match("https://a.example/1.jpg", b"bytes", mode="url")
        with pytest.raises(ValueError, match="type1"):
            c.match(b"a", b"b", type1="selfie")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="uint8"):
            c.match(np.zeros((4, 4, 3), np.float32), b"b")
        with pytest.raises(TypeError):
            c.match(12345, b"b")  # type: ignore[arg-type]


def test_transport_and_non_envelope_failures():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    with _mock(refuse, retries=0) as c, pytest.raises(TransportError) as exc:
        c.match(b"a", b"b")
    assert exc.value.error_code is None and isinstance(exc.value.__cause__, httpx.ConnectError)

    with _mock(lambda r: httpx.Response(502, text="<html>Bad gateway</html>")) as c, \
            pytest.raises(UnexpectedResponseError) as exc:
        c.match(b"a", b"b")
    assert exc.value.http_status == 502 and exc.value.error_code is None

    envelope = {"data": {"request_id": "r1"}, "errorCode": "503", "errorMessage": "Service temporarily unavailable"}
    with _mock(lambda r: httpx.Response(503, json=envelope, headers={"Retry-After": "2"}), retries=0) as c, \
            pytest.raises(fmc.ServiceUnavailableError) as exc:
        c.match(b"a", b"b")
    assert exc.value.retry_after == 2.0 and exc.value.request_id == "r1"

    envelope = {"data": {}, "errorCode": "77", "errorMessage": "Something new"}
    with _mock(lambda r: httpx.Response(400, json=envelope)) as c, pytest.raises(ClientError) as exc:
        c.match(b"a", b"b")
    assert type(exc.value) is ClientError and exc.value.error_code == 77


def test_retries_what_was_not_charged_and_nothing_else(monkeypatch):
    """503 (after its Retry-After, capped) and a refused connection are sent again, up to ``retries`` times,
    the same body each time; a timeout or a 429 is not (it may have been a charged match, or a lockout)."""
    slept: list[float] = []
    monkeypatch.setattr(fmc, "_sleep", slept.append)
    busy = {"data": {"request_id": "r"}, "errorCode": "503", "errorMessage": "Service temporarily unavailable"}
    ok = {"data": {"matching": "80.00", "match": "1", "face1": "", "face2": "", "face1_score": "0.9",
                   "face2_score": "0.9", "invalidCode": "0", "invalidMessage": "", "warnings": [],
                   "request_id": "r"}, "errorCode": "0", "errorMessage": "Success"}
    bodies: list[bytes] = []
    answers = iter([httpx.ConnectError("refused"), httpx.Response(503, json=busy, headers={"Retry-After": "30"}),
                    httpx.Response(200, json=ok)])

    def flaky(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with _mock(flaky, retries=2, max_retry_wait_s=5) as c:
        assert c.match(b"card-bytes", b"selfie-bytes").matching == 80.0
    assert slept == [1.0, 5.0]  # a refused connection: 1 s; Retry-After 30 capped at 5
    assert len(bodies) == 3 and len(set(bodies)) == 1 and b"card-bytes" in bodies[0]

    slept.clear()
    with _mock(lambda r: httpx.Response(503, json=busy), retries=2) as c, \
            pytest.raises(fmc.ServiceUnavailableError):
        c.match(b"a", b"b")
    assert slept == [1.0, 1.0]  # no Retry-After: 1 s, then the last answer raised

    calls: list[int] = []

    def timeout(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    limited = {"data": {}, "errorCode": "429", "errorMessage": "Too many failed authentication attempts"}
    with _mock(timeout, retries=2) as c, pytest.raises(TransportError):
        c.match(b"a", b"b")
    with _mock(lambda r: calls.append(1) or httpx.Response(429, json=limited, headers={"Retry-After": "9"}),
               retries=2) as c, pytest.raises(fmc.RateLimitedError):
        c.match(b"a", b"b")
    assert calls == [1, 1] and slept == [1.0, 1.0]


def test_match_response_is_frozen():
    r = MatchResponse.from_envelope({"data": {"matching": "70.5", "match": "0", "invalidCode": "11",
                                              "warnings": [{"code": "11", "message": "m", "check": "face_size",
                                                            "image": "img2", "value": 0.1, "limit": None}]},
                                     "errorCode": "0"})
    assert r.matching == 70.5 and r.match == 0 and r.invalid_code == 11
    assert r.warnings == (MatchWarning(11, "m", "face_size", "img2", 0.1, None),)
    with pytest.raises(AttributeError):
        r.matching = 1.0  # type: ignore[misc]


def _python_blocks(markdown: str, marker: str) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", markdown, flags=re.S)
    return [b for b in blocks if marker in b]


@pytest.mark.parametrize("doc", ["docs/api.md", "README.md"])
def test_docs_client_example_runs(doc, make_client, key, tmp_path, monkeypatch, capsys, astronaut,  # noqa: F811
                                  astronaut_selfie):
    """The facematch.client examples of docs/api.md and the README, run as written against the in-process app."""
    blocks = _python_blocks((ROOT / doc).read_text(encoding="utf-8"), "from facematch.client import")
    assert blocks, f"{doc} has no facematch.client example"
    transport = AppTransport(make_client())
    real = fmc.Client
    monkeypatch.setattr(fmc, "Client", lambda *a, **kw: real(*a, transport=transport, **kw))
    monkeypatch.setenv("EKYC_API_KEY", key[0])
    monkeypatch.setenv("EKYC_API_SECRET", key[1])
    monkeypatch.chdir(tmp_path)
    from tools.synth import cards

    rng = np.random.default_rng(5)
    card, _ = cards.render_card(astronaut[0:300, 113:338], rng)
    (tmp_path / "card.jpg").write_bytes(jpeg(cards.photograph(card, rng)))
    (tmp_path / "selfie.jpg").write_bytes(jpeg(astronaut_selfie))
    for code in blocks:
        exec(compile(code, "docs/api.md", "exec"), {"__name__": "__docs__"})
    out = capsys.readouterr().out
    # The selfie is the card's own photo mirrored (the fixture has no other photo of the astronaut): a match,
    # and finding 10 ``same_photo`` says the card's photograph was shown again (docs/presentation-attacks.md).
    assert "% -> match 1; warning 10: " in out and "True" in out, out
    assert "same_photo on img2" in out or doc == "README.md", out
    assert (tmp_path / "face1.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


def test_public_names_are_pinned():
    assert sorted(fmc.__all__) == sorted([
        "Client", "MatchResponse", "MatchWarning", "ImageInput", "Mode",
        "ClientError", "NoContentError", "UrlUnavailableError", "NoFaceError", "QuotaExceededError",
        "AuthenticationError", "FormatTypeError", "RateLimitedError", "ServiceUnavailableError",
        "InternalServerError", "TransportError", "UnexpectedResponseError", "ERRORS", "PATH"])
    assert all(hasattr(fmc, name) for name in fmc.__all__)


@pytest.mark.parametrize("mode", ["file", "base64"])
def test_chip_data_goes_up_and_the_verification_comes_back(make_client, key, astronaut_selfie, tmp_path, mode):  # noqa: F811
    from tests.support import pki
    from tests.unit.test_dg2 import dg2, face_image, face_record, jpeg2000, portrait_image

    issuer = pki.make_pki("ec")
    (tmp_path / "csca.pem").write_bytes(issuer.csca_pem())
    dg2_bytes = dg2(face_record(face_image(jpeg2000(portrait_image()))))
    with Client("http://testserver", *key,
                transport=AppTransport(make_client(chip={"csca": str(tmp_path / "csca.pem")}))) as c:
        r = c.match(dg2_bytes, astronaut_selfie, "chip", mode, chip_data={"sod": pki.make_sod({2: dg2_bytes}, issuer)})
        assert r.chip is not None and r.chip["status"] == "valid" and r.chip["verified"] is True
        with pytest.raises(ValueError, match="chip_data"):
            c.match(dg2_bytes, astronaut_selfie, "card", mode, chip_data={"sod": b"x"})
