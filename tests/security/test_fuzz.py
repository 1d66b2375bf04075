"""A short property-based fuzz of the API (a few hundred generated requests,
derandomised so CI is stable): never a 5xx, never a traceback, always the v2
envelope with a known errorCode and the matching HTTP status.
``benchmarks/fuzz.py`` runs the same generator for >= 10,000 requests."""

from __future__ import annotations

import cv2
import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from tests.conftest import jpeg
from tools.hostile.fakes import Internet, StubDNS
from tools.hostile.fuzz_requests import blank_png, check_response, fuzz_internet_routes, mutated, requests, seed_images


@pytest.fixture(scope="module")
def fuzz_env(model_pool, tmp_path_factory, astronaut):
    tmp = tmp_path_factory.mktemp("fuzz")
    store = SqliteKeyStore(tmp / "keys.db")
    info, secret = store.create_key(quota=None)
    face = cv2.resize(astronaut, (128, 128))
    net = Internet()
    net.routes = fuzz_internet_routes(jpeg(face), blank_png())
    app = create_app(Settings(data_dir=tmp, auth_fail_limit=0, url_fetch={"timeout_s": 2}), store=store,
                     pool=model_pool, transport=httpx.MockTransport(net.handler), resolver=StubDNS())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, (info.api_key, secret), mutated(seed_images(face))


def test_fuzz_api(fuzz_env):
    client, key, images = fuzz_env
    strategy = requests(images, key)
    seen: dict[str, int] = {}

    @settings(max_examples=200, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data):
        req = data.draw(strategy)
        r = req.send(client)
        if r is None:
            return  # the client library refused to send it
        problem = check_response(r)
        assert problem is None, (problem, req.method, req.query, req.headers, (req.body or b"")[:200], r.text[:300])
        code = r.json().get("errorCode", str(r.status_code)) if r.headers.get("content-type", "").startswith(
            "application/json") else str(r.status_code)
        seen[code] = seen.get(code, 0) + 1

    one()
    # The generator reaches every layer: auth failures, mode errors, content errors, URL refusals, matches.
    assert {"1", "2", "5", "6"} <= set(seen), seen
