"""Image bombs and malformed requests through the HTTP API: each gets its
contract error (errorCode 1 for unreadable uploads, 6 for a mode mismatch,
413 for an oversized body), never a 5xx or a traceback, and memory stays
bounded. Odd but valid images (animated, CMYK, 16-bit, ...) are matched."""

from __future__ import annotations

import asyncio
import base64
import json
import resource

import cv2
import httpx
import pytest

from tests.conftest import jpeg
from tests.security.conftest import PATH, no_traceback
from tools.hostile.samples import NO_CONTENT, OK, malformed_images

FACE_SIDE = 256


@pytest.fixture(scope="module")
def face(astronaut):
    return cv2.resize(astronaut, (FACE_SIDE, FACE_SIDE))


@pytest.fixture(scope="module")
def cases(face):
    return malformed_images(face)


@pytest.fixture(scope="module")
def good(face) -> bytes:
    return jpeg(face)


def _names() -> list[str]:
    import numpy as np

    return list(malformed_images(np.zeros((16, 16, 3), dtype="uint8")))


CASE_NAMES = _names()


def check(r: httpx.Response, codes: set[str]) -> dict:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    no_traceback(r)
    body = r.json()
    assert set(body) == {"data", "errorCode", "errorMessage"}
    assert body["errorCode"] in codes, (body["errorCode"], body["errorMessage"])
    return body


@pytest.mark.parametrize("name", CASE_NAMES)
def test_image_as_upload(env, cases, good, name):
    data, codes = cases[name]
    r = env.api.post(f"{PATH}?type1=portrait&format_type=file", auth=env.key,
                     files={"img1": ("x.jpg", data, "image/jpeg"), "img2": ("y.jpg", good, "image/jpeg")})
    check(r, codes)
    if codes == {NO_CONTENT}:
        assert r.status_code == 400


VALID_PREFIXES = ("valid", "animated", "cmyk", "grey", "palette", "rgba", "exif", "progressive")


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if not n.startswith(VALID_PREFIXES)])
def test_image_as_base64(env, cases, good, name):
    data, codes = cases[name]
    r = env.api.post(f"{PATH}?type1=portrait&format_type=base64", auth=env.key,
                     json={"img1": base64.b64encode(good).decode(), "img2": base64.encodebytes(data).decode()})
    check(r, codes)


def test_bombs_leave_memory_bounded(env, cases, good):
    """All the decompression bombs in a row: peak RSS grows by far less than one decoded bomb."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    for name, (data, _) in cases.items():
        if name.startswith("bomb"):
            for _ in range(3):
                r = env.api.post(f"{PATH}?format_type=file", auth=env.key,
                                 files={"img1": ("b.png", data), "img2": ("g.jpg", good)})
                check(r, {NO_CONTENT})
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"peak RSS grew {grown_mib:.0f} MiB"


def test_oversized_image_in_small_body(make_app, sec_key, good):
    api = make_app(limits={"max_image_bytes": 20_000})
    big = good + b"\x00" * 30_000
    for r in (api.post(f"{PATH}?format_type=file", auth=sec_key, files={"img1": ("a", big), "img2": ("b", good)}),
              api.post(f"{PATH}?format_type=base64", auth=sec_key,
                       json={"img1": base64.b64encode(big).decode(), "img2": "x"})):
        body = check(r, {NO_CONTENT})
        assert body["errorMessage"] == "The photo does not contain content"


def stream_post(app, url: str, auth, chunks: int, chunk_size: int, headers: dict) -> tuple[httpx.Response, int]:
    """POST a streamed body through the ASGI interface; returns the response
    and how many chunks the app pulled before answering."""
    pulled = 0

    async def body():
        nonlocal pulled
        for _ in range(chunks):
            pulled += 1
            yield b"A" * chunk_size

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.post(url, auth=auth, content=body(), headers=headers)

    return asyncio.run(go()), pulled


@pytest.mark.parametrize("declared", [False, True])
@pytest.mark.parametrize("mode, ctype", [("base64", "application/json"), ("file", "multipart/form-data; boundary=x")])
def test_oversized_body_refused_before_fully_read(make_app, sec_key, declared, mode, ctype):
    api = make_app(limits={"max_body_bytes": 1_000_000})
    headers = {"content-type": ctype}
    if declared:
        headers["content-length"] = str(100 * 65536)
    r, pulled = stream_post(api.app, f"{PATH}?format_type={mode}", sec_key, 100, 65536, headers)  # 6.5 MB offered
    assert r.status_code == 413
    check(r, {NO_CONTENT})
    assert pulled <= (0 if declared else 1_000_000 // 65536 + 2), pulled


BAD_BASE64 = ["", " ", "\n\n", "###", "aGVsbG8", "aGVsbG8=", "\u00e9\u00e8\u00ea", "data:image/png;base64,",
              "data:image/png;base64,!!!!", "====", "A", "AB=C", "\x00\x00", "/9j/" * 3, "%2F9j%2F4AAQ"]


@pytest.mark.parametrize("value", BAD_BASE64)
def test_invalid_base64(env, good, value):
    r = env.api.post(f"{PATH}?format_type=base64", auth=env.key,
                     json={"img1": value, "img2": base64.b64encode(good).decode()})
    check(r, {NO_CONTENT})


BAD_JSON: list[bytes] = [
    b"", b"{", b"[]", b'"img1"', b"5", b"null", b"true", b"{}", b'{"img1": {}}', b'{"img1": [1, 2]}',
    b'{"img1": 1e400, "img2": -0}', b'{"img2": "aGVsbG8="}', b'{"img1": null, "img2": null}',
    b'{"img1": "a", "img1": "b", "img2": "c"}', b"\xff\xfe{\x00}\x00", b'{"img1": "\\ud800", "img2": "x"}',
    b"[" * 100_000, b'{"a":' * 50_000, b'{"img1": "' + b"A" * 200_000, b"NaN", b'{"img1": NaN, "img2": Infinity}',
]


@pytest.mark.parametrize("body", BAD_JSON, ids=[f"json{i}" for i in range(len(BAD_JSON))])
def test_json_of_the_wrong_shape(env, body):
    r = env.api.post(f"{PATH}?format_type=base64", auth=env.key, content=body,
                     headers={"content-type": "application/json"})
    check(r, {NO_CONTENT})


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary", close: bool = True) -> bytes:
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


def _multipart_cases(good: bytes) -> dict[str, tuple[bytes, str]]:
    ct = "multipart/form-data; boundary=b0undary"
    return {
        "missing-img2": (multipart([("img1", "a.jpg", good)]), ct),
        "missing-both": (multipart([("other", "a.jpg", good)]), ct),
        "duplicate-img1": (multipart([("img1", "a.jpg", good), ("img1", "b.jpg", good), ("img2", "c.jpg", good)]), ct),
        "duplicate-img2": (multipart([("img1", "a.jpg", good), ("img2", "b.jpg", good), ("img2", "c.jpg", good)]), ct),
        "img1-text-field": (multipart([("img1", None, b"not a file"), ("img2", "b.jpg", good)]), ct),
        "empty-img1": (multipart([("img1", "a.jpg", b""), ("img2", "b.jpg", good)]), ct),
        "empty-both": (multipart([("img1", "a.jpg", b""), ("img2", "b.jpg", b"")]), ct),
        "no-parts": (b"--b0undary--\r\n", ct),
        "empty-body": (b"", ct),
        "wrong-boundary": (multipart([("img1", "a.jpg", good), ("img2", "b.jpg", good)], boundary="other"), ct),
        "no-boundary-param": (multipart([("img1", "a.jpg", good), ("img2", "b.jpg", good)]), "multipart/form-data"),
        "unterminated": (multipart([("img1", "a.jpg", good), ("img2", "b.jpg", good)], close=False), ct),
        "garbage": (b"\x00\xff" * 500, ct),
        "too-many-fields": (multipart([(f"f{i}", None, b"x") for i in range(100)] + [("img1", "a", good),
                                                                                  ("img2", "b", good)]), ct),
        "too-many-files": (multipart([(f"f{i}", f"{i}.jpg", b"x") for i in range(20)] + [("img1", "a", good),
                                                                                       ("img2", "b", good)]), ct),
        "path-traversal-filename": (multipart([("img1", "../../../../etc/passwd", b"x"),
                                               ("img2", "..\\..\\boot.ini", b"y")]), ct),
        "huge-header-line": (b"--b0undary\r\nContent-Disposition: form-data; name=\"img1\"; filename=\""
                             + b"A" * 200_000 + b"\"\r\n\r\nx\r\n--b0undary--\r\n", ct),
        "header-injection": (multipart([("img1\r\nX-Evil: 1", "a.jpg", good), ("img2", "b.jpg", good)]), ct),
    }


def test_multipart_cases_are_all_errorcode_1(env, good):
    cases = _multipart_cases(good)
    for name, (body, ctype) in cases.items():
        r = env.api.post(f"{PATH}?format_type=file", auth=env.key, content=body, headers={"content-type": ctype})
        assert r.status_code < 500, name
        assert r.json()["errorCode"] == NO_CONTENT, (name, r.json()["errorCode"])
        no_traceback(r)


@pytest.mark.parametrize("query, ctype, body", [
    ("format_type=file", "text/plain", b"img1=x"),
    ("format_type=base64", "application/x-www-form-urlencoded", b"img1=x&img2=y"),
    ("format_type=base64", "", b'{"img1": "x", "img2": "y"}'),
    ("format_type=base64", "application/json-patch+json", b"{}"),
    ("format_type=%00", "application/json", b"{}"),
    ("format_type=base64&type1=%E2%80%AEcard", "application/json", b"{}"),
    ("format_type=base64&type1=" + "x" * 5000, "application/json", b"{}"),
    ("format_type=BASE64&format_type=file", "application/json", b"{}"),
])
def test_mode_mismatch_is_6(env, query, ctype, body):
    headers = {"content-type": ctype} if ctype else {}
    r = env.api.post(f"{PATH}?{query}", auth=env.key, content=body, headers=headers)
    body_ = check(r, {"6", NO_CONTENT})
    assert body_["errorCode"] == "6" or "BASE64" in query


@pytest.mark.parametrize("header", [
    "Basic", "Basic ", "Bearer abc", "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"nocolon").decode(), "Basic " + base64.b64encode(b":").decode(),
    "Basic " + base64.b64encode(b"k" * 500 + b":s").decode(), "Basic " + "A" * 10_000, "basic ===",
    "Basic " + base64.b64encode("kh\u00f3a:b\u00ed m\u1eadt".encode()).decode(),
])
def test_malformed_authorization_is_5(env, header):
    r = env.api.post(f"{PATH}?format_type=base64", content=b"{}",
                     headers={"authorization": header, "content-type": "application/json"})
    assert r.status_code == 401
    check(r, {"5"})


def test_other_methods_and_paths_are_not_5xx(env):
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        r = env.api.request(method, PATH, auth=env.key)
        assert r.status_code in (405, 400, 401), (method, r.status_code)
    for path in (PATH + "/", PATH + "%00", "/api/v2/ekyc/face_matching/../../etc/passwd", "/" + "a" * 5000):
        assert env.api.get(path).status_code < 500


def test_face_upload_is_still_matched(env, good):
    """The battery's baseline: the same app answers a proper request with 0."""
    r = env.api.post(f"{PATH}?type1=portrait&format_type=file", auth=env.key,
                     files={"img1": ("a.jpg", good), "img2": ("b.jpg", good)})
    assert check(r, {OK})["data"]["match"] == "1"
    json.dumps(r.json())
