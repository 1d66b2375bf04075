from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from tests.conftest import jpeg

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
    clients = []

    def make(**settings_kwargs) -> TestClient:
        settings = Settings(data_dir=tmp_path, **settings_kwargs)
        app = create_app(settings, store=store, pool=model_pool, transport=httpx.MockTransport(web.handler),
                         resolver=web.resolve)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def key(store) -> tuple[str, str]:
    info, secret = store.create_key(quota=100, label="test")
    return info.api_key, secret
