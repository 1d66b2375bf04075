from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from facematch.store.sqlite import SqliteKeyStore
from tests.conftest import app_clients, jpeg

PATH = "/api/v2/ekyc/face_matching"
PUBLIC_IP = "93.184.216.34"


class FakeWeb:
    """Images served by an injected transport; a stub resolver maps every
    ``*.example`` host to a public address. Records every request."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self.files.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers={"content-type": "image/jpeg"})

    async def resolve(self, host: str, port: int) -> list[str]:
        if host.endswith(".example"):
            return [PUBLIC_IP]
        if host == "intranet.example.lan":
            return ["10.1.2.3"]
        raise OSError("unknown host")


@pytest.fixture
def web(astronaut, astronaut_selfie, cameraman, no_face) -> FakeWeb:
    w = FakeWeb()
    w.files = {"/card.jpg": jpeg(astronaut), "/selfie.jpg": jpeg(astronaut_selfie),
               "/other.jpg": jpeg(cameraman), "/noface.jpg": jpeg(no_face), "/text.jpg": b"not an image"}
    return w


@pytest.fixture
def store(tmp_path) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "keys.db")


@pytest.fixture
def make_client(store, model_pool, web, tmp_path):
    with app_clients(store=store, pool=model_pool, handler=web.handler, resolver=web.resolve, data_dir=tmp_path) as make:
        yield make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def key(store) -> tuple[str, str]:
    info, secret = store.create_key(quota=100, label="test")
    return info.api_key, secret
