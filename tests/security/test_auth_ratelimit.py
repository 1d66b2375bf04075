"""Failed-authentication limit per client address: after N failures within
the window, 429 + Retry-After, before any secret is hashed; other addresses
are unaffected; the block lifts when the window passes."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from facematch.api.app import create_app
from facematch.api.errors import status_of
from facematch.api.ratelimit import Admission, FailedAuthLimiter, FairPool, client_address
from facematch.errors import RateLimitedError, ServiceUnavailableError
from facematch.settings import Settings
from tests.security.conftest import PATH, no_traceback


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_blocks_after_n_failures_and_lifts_after_window():
    clock = Clock()
    lim = FailedAuthLimiter(3, 60, clock=clock)
    for _ in range(3):
        lim.check("1.2.3.4")
        lim.record_failure("1.2.3.4")
        clock.now += 1
    with pytest.raises(RateLimitedError) as err:
        lim.check("1.2.3.4")
    assert status_of(err.value) == 429 and err.value.retry_after == 57
    lim.check("5.6.7.8")  # someone else
    clock.now += 56.5
    with pytest.raises(RateLimitedError):
        lim.check("1.2.3.4")
    clock.now += 0.6  # the first failure left the window
    lim.check("1.2.3.4")


def test_limiter_memory_is_bounded():
    clock = Clock()
    lim = FailedAuthLimiter(5, 60, max_clients=100, clock=clock)
    for i in range(10_000):
        lim.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert lim.tracked() <= 100


def test_limiter_off():
    lim = FailedAuthLimiter(0, 60)
    for _ in range(100):
        lim.record_failure("a")
    lim.check("a")


def test_client_address_groups_ipv6_by_64():
    assert client_address("2001:db8:1:2:aaaa::1") == client_address("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::1") != client_address("2001:db8:1:2::1")
    assert client_address("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_address("192.0.2.7") == "192.0.2.7"
    assert client_address(None) == "unknown" and client_address("testclient") == "testclient"


def test_admission_slots():
    adm = Admission(2)
    with adm.slot(), adm.slot():
        with pytest.raises(ServiceUnavailableError), adm.slot():
            pass
        assert adm.taken == 2
    assert adm.taken == 0


def test_admission_keeps_room_for_other_keys():
    adm = Admission(3, per_owner=2)
    with adm.slot("a"), adm.slot("a"):
        with pytest.raises(ServiceUnavailableError, match="key_busy"), adm.slot("a"):
            pass
        with adm.slot("b"):  # the slot "a" may not take is there for "b"
            assert adm.held("a") == 2 and adm.held("b") == 1
            with pytest.raises(ServiceUnavailableError, match="overloaded"), adm.slot("c"):
                pass
    assert adm.taken == 0 and adm.held("a") == 0


def test_fair_pool_serves_keys_in_turn_and_skips_cancelled_work():
    pool = FairPool(1)
    started, gate, order = threading.Event(), threading.Event(), []
    try:
        first = pool.submit("bulk", lambda: started.set() or gate.wait())  # holds the only thread
        assert started.wait(5)
        jobs = [pool.submit("bulk", lambda i=i: order.append(f"bulk{i}")) for i in range(4)]
        jobs.append(pool.submit("other", lambda: order.append("other")))
        jobs.append(pool.submit("third", lambda: order.append("third")))
        assert jobs[2].cancel()  # a request that gave up while queued
        gate.set()
        for job in [first, *jobs]:
            if job is not jobs[2]:
                job.result(timeout=5)
        # the keys served least recently first, not first come first served; the cancelled one never ran
        assert order == ["other", "third", "bulk0", "bulk1", "bulk3"]
        failing = pool.submit("x", lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failing.result(timeout=5)
        assert pool.submit("x", lambda: 7).result(timeout=5) == 7  # the thread survived
    finally:
        gate.set()
        pool.shutdown()


@pytest.fixture
def limited(sec_store, model_pool, tmp_path):
    clients = []

    def make(host: str) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, client=(host, 50000))
        c.__enter__()
        clients.append(c)
        return c

    app = create_app(Settings(data_dir=tmp_path, auth_fail_limit=3, auth_fail_window_s=60), store=sec_store,
                     pool=model_pool, transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    yield make
    for c in clients:
        c.__exit__(None, None, None)


def post(client: TestClient, auth) -> httpx.Response:
    return client.post(f"{PATH}?format_type=base64", auth=auth, json={"img1": "x", "img2": "y"})


def test_api_429_after_failures_per_address(limited, sec_key, monkeypatch):
    import facematch.api.auth as auth_module

    calls = []
    real_verify = auth_module.verify_secret
    monkeypatch.setattr(auth_module, "verify_secret", lambda *a: calls.append(1) or real_verify(*a))

    attacker = limited("203.0.113.9")
    for _ in range(3):
        r = post(attacker, (sec_key[0], "wrong-secret"))
        assert r.status_code == 401 and r.json()["errorCode"] == "5"
    assert len(calls) == 3
    for auth in [(sec_key[0], "wrong-again"), ("fm_unknown", "x"), sec_key]:  # even good credentials: blocked
        r = post(attacker, auth)
        assert r.status_code == 429, r.text
        assert r.json()["errorCode"] == "429" and r.json()["errorMessage"] == "Too many failed authentication attempts"
        assert 50 <= int(r.headers["retry-after"]) <= 60
        no_traceback(r)
    assert len(calls) == 3  # no scrypt work for a blocked address

    # Another address is not affected, and a good key works there.
    r = post(limited("198.51.100.20"), sec_key)
    assert r.status_code == 400 and r.json()["errorCode"] == "1"

    # The window passes: the address may try again.
    svc = attacker.app.state.services
    base = svc.auth_limiter._clock()
    svc.auth_limiter._clock = lambda: base + 61
    r = post(attacker, sec_key)
    assert r.status_code == 400 and r.json()["errorCode"] == "1"


def test_api_legacy_200_still_says_429_in_the_body(sec_store, model_pool, tmp_path, sec_key):
    app = create_app(Settings(data_dir=tmp_path, auth_fail_limit=1, legacy_http_200=True), store=sec_store,
                     pool=model_pool)
    with TestClient(app, client=("192.0.2.1", 1)) as c:
        assert post(c, ("k", "bad")).json()["errorCode"] == "5"
        r = post(c, ("k", "bad"))
        assert r.status_code == 200 and r.json()["errorCode"] == "429" and "retry-after" in r.headers


def test_concurrent_secret_checks_are_bounded(monkeypatch, sec_store):
    """A flood of bad credentials runs at most ``max_concurrent_kdf`` scrypt
    checks at once (16 MiB each); one that cannot start in time gets 503."""
    import base64
    import threading
    import time

    import facematch.api.auth as auth_module
    from facematch.api.auth import Authenticator
    from facematch.errors import AuthError

    lock, state = threading.Lock(), {"active": 0, "peak": 0}

    def slow_verify(secret, stored):
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        time.sleep(0.05)
        with lock:
            state["active"] -= 1
        return False

    monkeypatch.setattr(auth_module, "verify_secret", slow_verify)
    header = "Basic " + base64.b64encode(b"fm_nobody:guess").decode()

    def run(auth: Authenticator, n: int) -> list[str]:
        out: list[str] = []

        def one():
            try:
                auth.authenticate(header)
            except AuthError:
                out.append("401")
            except ServiceUnavailableError:
                out.append("503")

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    assert run(Authenticator(sec_store, max_concurrent_kdf=2), 12) == ["401"] * 12
    assert state["peak"] == 2
    busy = run(Authenticator(sec_store, max_concurrent_kdf=1, kdf_wait_s=0.01), 6)
    assert "503" in busy and "401" in busy
