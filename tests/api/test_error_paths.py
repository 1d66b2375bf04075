"""Every path answers in the v2 envelope with a request id, the real Matcher
running on fake models (``tests.support.fakes``): errors are mapped in one
table, an unexpected exception anywhere is errorCode 500 (logged, never a
traceback), and a POST with nothing uploaded is errorCode 1."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from tests.conftest import jpeg
from tests.support.fakes import fake_pool

PATH = "/api/v2/ekyc/face_matching"


def image(colour: tuple[int, int, int]) -> bytes:
    rgb = np.zeros((120, 100, 3), np.uint8)
    rgb[:] = colour
    rgb[10:20, 10:20] = 255  # not flat: the fake detector sees a face
    return jpeg(rgb)


@pytest.fixture
def store(tmp_path):
    return SqliteKeyStore(tmp_path / "k.db")


@pytest.fixture
def key(store):
    info, secret = store.create_key(quota=None)
    return info.api_key, secret


@pytest.fixture
def client(tmp_path, store):
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store, pool=fake_pool()),
                    raise_server_exceptions=False) as c:
        yield c


def assert_envelope(r, error_code: str, status: int) -> dict:
    body = r.json()
    assert r.status_code == status and body["errorCode"] == error_code, (r.status_code, body)
    assert body["data"]["request_id"] == r.headers["x-request-id"] and len(r.headers["x-request-id"]) == 32
    assert "Traceback" not in r.text
    return body


def test_files_named_as_clients_name_them_are_uploads(client, key):
    """A file name that is not ASCII, in quotes as UTF-8 (browsers, httpx, OkHttp) or as an RFC 5987
    ``filename*`` alone (urllib3 before 1.25: ``requests`` of 2019 and older), is an upload like any other."""
    one, two = image((200, 40, 40)), image((200, 40, 40))

    def part(disposition: bytes, data: bytes) -> bytes:
        return b"--B\r\nContent-Disposition: form-data; " + disposition + b"\r\nContent-Type: image/jpeg\r\n\r\n" \
            + data + b"\r\n"

    body = (part(b"name=\"img1\"; filename*=utf-8''%E1%BA%A3nh%20CCCD.jpg", one)
            + part('name="img2"; filename="ch\u00e2n dung.jpg"'.encode(), two) + b"--B--\r\n")
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key, content=body,
                    headers={"content-type": "multipart/form-data; boundary=B"})
    assert assert_envelope(r, "0", 200)["data"]["match"] == "1"


def test_a_trailing_slash_is_answered_not_redirected(client, key):
    """Starlette redirected ``.../face_matching/`` with a 307 to an absolute ``http://`` URL (the request's
    own scheme: plain HTTP behind a balancer that terminates TLS), and a client following it sent the
    images again over it. The v2 path answers with a slash as without; no path redirects to an absolute URL."""
    r = client.post(f"{PATH}/?type1=portrait&format_type=file", auth=key, follow_redirects=False,
                    files={"img1": ("a.jpg", image((200, 40, 40))), "img2": ("b.jpg", image((200, 40, 40)))})
    assert assert_envelope(r, "0", 200)["data"]["match"] == "1"
    for path in (f"{PATH}/?format_type=url", "/healthz/", "/readyz/", "/metrics/", "/docs/", "/openapi.json/",
                 "/demo", "/"):
        r = client.get(path, follow_redirects=False)
        assert not (300 <= r.status_code < 400) or not r.headers["location"].startswith("http"), (path, r.headers)


def test_the_matcher_on_fake_models_answers_the_contract(client, key):
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key,
                    files={"img1": ("a.jpg", image((200, 40, 40))), "img2": ("b.jpg", image((200, 40, 40)))})
    d = assert_envelope(r, "0", 200)["data"]
    assert d["match"] == "1" and float(d["distance"]) < 0.05 and d["face1"] and d["face2"]
    other = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key,
                        files={"img1": ("a.jpg", image((200, 40, 40))), "img2": ("b.jpg", image((30, 40, 220)))})
    assert assert_envelope(other, "0", 200)["data"]["match"] == "-1"


def test_no_face_is_3_with_the_other_face(client, key):
    flat = jpeg(np.full((120, 100, 3), 90, np.uint8))
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key,
                    files={"img1": ("a.jpg", image((200, 40, 40))), "img2": ("b.jpg", flat)})
    d = assert_envelope(r, "3", 422)["data"]
    assert d["invalidCode"] == "5" and d["face1"] and not d["face2"]


@pytest.mark.parametrize("headers", [{}, {"content-length": "0"}])
def test_a_post_with_no_body_is_1_not_6(client, key, headers):
    """Nothing was uploaded: the contract's errorCode 1, whatever format_type says."""
    for query in ("format_type=file", "format_type=base64", "type1=card&format_type=file"):
        r = client.post(f"{PATH}?{query}", auth=key, headers=headers)
        assert_envelope(r, "1", 400)


def test_an_unexpected_exception_in_the_matcher_is_500_in_the_envelope(tmp_path, store, key, caplog):
    class Broken:
        concurrency = 1

        def match(self, *args, **kwargs):
            raise RuntimeError("secret internal detail")

        def close(self):
            pass

    with TestClient(create_app(Settings(data_dir=tmp_path), store=store, matcher=Broken()),
                    raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR, "facematch.api"):
        r = c.post(f"{PATH}?format_type=file", auth=key,
                   files={"img1": ("a.jpg", image((1, 2, 3))), "img2": ("b.jpg", image((1, 2, 3)))})
    body = assert_envelope(r, "500", 500)
    assert body["errorMessage"] == "Internal error" and "secret internal detail" not in r.text
    assert any(getattr(rec, "request_id", "") == r.headers["x-request-id"] for rec in caplog.records)


def test_an_exception_outside_the_route_is_500_in_the_envelope(tmp_path, store, monkeypatch):
    """Metrics, logging or a middleware failing: still the envelope, with an id."""
    from facematch.api import metrics

    def broken(*args, **kwargs):
        raise RuntimeError("metrics broke")

    monkeypatch.setattr(metrics, "observe", broken)
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store, pool=fake_pool()),
                    raise_server_exceptions=False) as c:
        r = c.post(f"{PATH}?format_type=file", files={"img1": ("a", b"x"), "img2": ("b", b"y")})
    assert_envelope(r, "500", 500)


def test_readyz_with_the_database_down_is_503_in_the_envelope(tmp_path, store, monkeypatch):
    from facematch.store import StoreUnavailableError

    def down():
        raise StoreUnavailableError("sqlite")

    with TestClient(create_app(Settings(data_dir=tmp_path), store=store, pool=fake_pool()),
                    raise_server_exceptions=False) as c:
        monkeypatch.setattr(store, "ping", down)
        r = c.get("/readyz")
    assert_envelope(r, "503", 503)
    assert r.headers["retry-after"] == "1"


def test_unknown_paths_still_carry_a_request_id(client):
    r = client.get("/nope")
    assert r.status_code == 404 and len(r.headers["x-request-id"]) == 32
