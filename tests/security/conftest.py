"""The app with everything outside it faked and recorded: an httpx transport
that stands for the internet (every request it receives is kept), a stub DNS
resolver (every lookup kept), a SQLite key store in tmp_path, and the real
model pool. No test here reaches the network."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from tests.conftest import app_clients, jpeg
from tools.hostile.fakes import PATH, PUBLIC_IP, PUBLIC_IP6, Internet, StubDNS  # noqa: F401 - re-exported


@pytest.fixture(scope="session")
def face_jpeg(astronaut) -> bytes:
    return jpeg(astronaut)


@pytest.fixture
def internet(face_jpeg) -> Internet:
    net = Internet()
    net.reset(face_jpeg)
    return net


@pytest.fixture
def dns() -> StubDNS:
    return StubDNS()


class Env:
    """One app for a whole module (fast): ``api``, ``key``, ``internet``, ``dns``."""

    def __init__(self, api: TestClient, key: tuple[str, str], internet: Internet, dns: StubDNS, store) -> None:
        self.api, self.key, self.internet, self.dns, self.store = api, key, internet, dns, store


@pytest.fixture(scope="module")
def module_env(model_pool, tmp_path_factory, face_jpeg):
    tmp = tmp_path_factory.mktemp("security")
    store = SqliteKeyStore(tmp / "keys.db")
    info, secret = store.create_key(quota=None, label="security")
    net, resolver = Internet(), StubDNS()
    net.reset(face_jpeg)
    app = create_app(Settings(data_dir=tmp), store=store, pool=model_pool,
                     transport=httpx.MockTransport(net.handler), resolver=resolver)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(client, (info.api_key, secret), net, resolver, store)


@pytest.fixture
def env(module_env, face_jpeg) -> Env:
    """The module's app with its recordings cleared."""
    module_env.internet.reset(face_jpeg)
    module_env.dns.lookups.clear()
    return module_env


@pytest.fixture
def sec_store(tmp_path) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "keys.db")


@pytest.fixture
def sec_key(sec_store) -> tuple[str, str]:
    info, secret = sec_store.create_key(quota=None, label="security")
    return info.api_key, secret


@pytest.fixture
def make_app(sec_store, model_pool, internet, dns, tmp_path):
    """``make_app(**settings) -> TestClient`` (server exceptions become 500s, as in production)."""
    with app_clients(store=sec_store, pool=model_pool, handler=internet.handler, resolver=dns, data_dir=tmp_path,
                     raise_server_exceptions=False) as make:
        yield make


@pytest.fixture
def api(make_app) -> TestClient:
    return make_app()


def no_traceback(response: httpx.Response) -> None:
    text = response.text
    assert "Traceback" not in text and 'File "' not in text and "Error:" not in text, text[:500]


async def slow_stream(delay_s: float, chunks: int, chunk: bytes = b"\xff" * 16):
    for _ in range(chunks):
        await asyncio.sleep(delay_s)
        yield chunk
