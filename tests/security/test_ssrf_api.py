"""SSRF through the HTTP API (``format_type=url``): every attempt to make the
service reach loopback, private, link-local, cloud-metadata, multicast or
reserved addresses -- as plain, decimal, octal, hex and short IPv4, IPv6,
IPv4-mapped/compatible/NAT64/6to4 IPv6, names that resolve there, redirects
there, odd schemes and authority tricks -- is refused with errorCode 2, and
the transport never receives a request for the target. Bodies that are too
big, too slow, empty or not images are refused too (errorCode 2), without
being read past the limits.

The cases are in ``ssrf_cases.py``; ``docs/security.md`` counts them.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from facematch.settings import Settings
from tests.security.conftest import PATH, PUBLIC_IP, no_traceback
from tools.hostile.ssrf_cases import BLOCKED_URLS, REDIRECTS


def get(api, key, img1: str, img2: str = "http://cdn.example/face.jpg") -> httpx.Response:
    return api.get(PATH, params={"img1": img1, "img2": img2, "type1": "card", "format_type": "url"}, auth=key)


def assert_refused(r: httpx.Response) -> None:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    body = r.json()
    assert body["errorCode"] == "2" and body["errorMessage"] == "Url is unavailable"
    no_traceback(r)


#: The img2 slot goes through the same code; one case per family is tried there too.
IMG2_SAMPLE = {"v4-decimal", "v4-octal", "v6-mapped-loopback", "v4-192", "v6-ula", "metadata-v4", "metadata-aws-v6",
               "v4-multicast", "dns-private", "dns-rebind-mixed", "scheme-file", "scheme-gopher",
               "userinfo-public-at-private", "crlf-in-url", "unicode-dots"}
SLOTS = [(u, "img1") for _, u in BLOCKED_URLS] + [(u, "img2") for i, u in BLOCKED_URLS if i in IMG2_SAMPLE]
SLOT_IDS = [f"img1-{i}" for i, _ in BLOCKED_URLS] + [f"img2-{i}" for i, _ in BLOCKED_URLS if i in IMG2_SAMPLE]


@pytest.mark.parametrize("url, slot", SLOTS, ids=SLOT_IDS)
def test_blocked_url_is_refused_without_contact(env, url, slot):
    other = "http://cdn.example/face.jpg"
    r = get(env.api, env.key, url, other) if slot == "img1" else get(env.api, env.key, other, url)
    assert_refused(r)
    assert env.internet.contacted() <= {PUBLIC_IP}, env.internet.contacted()
    for req in env.internet.requests:  # only the other, public image was fetched
        assert req.url.path == "/face.jpg" and req.headers["host"] == "cdn.example"


def test_ip_literals_never_reach_the_resolver(env):
    """Every IP spelling is recognised as an address, not looked up as a name."""
    for name, url in BLOCKED_URLS:
        if name.startswith(("v4-", "v6-", "metadata-", "link-", "unicode-", "fullwidth-")) and "name" not in name:
            get(env.api, env.key, url)
    assert set(env.dns.lookups) <= {"cdn.example"}, env.dns.lookups


@pytest.mark.parametrize("location", [loc for _, loc in REDIRECTS], ids=[i for i, _ in REDIRECTS])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_blocked_target_is_refused(env, location, status):
    env.internet.routes["/redirect"] = lambda r: httpx.Response(status, headers={"location": location})
    r = get(env.api, env.key, "http://cdn.example/redirect")
    assert_refused(r)
    assert env.internet.contacted() == {PUBLIC_IP}
    assert {q.url.path for q in env.internet.requests} <= {"/redirect", "/face.jpg"}


def test_redirect_chain_is_bounded(make_app, sec_key, internet):
    api = make_app(url_fetch={"max_redirects": 3})
    internet.routes["/loop"] = lambda r: httpx.Response(302, headers={"location": "/loop"})
    assert_refused(get(api, sec_key, "http://cdn.example/loop"))
    assert [q.url.path for q in internet.requests].count("/loop") == 4  # first hop + 3 redirects


def test_redirect_to_public_image_is_followed(api, sec_key, internet):
    """The guard is not a blanket refusal: a public redirect works."""
    internet.routes["/moved"] = lambda r: httpx.Response(302, headers={"location": "http://img.example/face.jpg"})
    r = api.get(PATH, params={"img1": "http://cdn.example/moved", "img2": "http://cdn.example/face.jpg",
                              "type1": "portrait", "format_type": "url"}, auth=sec_key)
    assert r.json()["errorCode"] == "0", r.text[:300]


BODY_CASES = {
    "html": lambda r: httpx.Response(200, content=b"<html>hi</html>", headers={"content-type": "text/html"}),
    "json": lambda r: httpx.Response(200, content=b'{"a": 1}', headers={"content-type": "application/json"}),
    "svg": lambda r: httpx.Response(200, content=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                    headers={"content-type": "image/svg+xml"}),
    "empty": lambda r: httpx.Response(200, content=b"", headers={"content-type": "image/jpeg"}),
    "not-found": lambda r: httpx.Response(404),
    "server-error": lambda r: httpx.Response(500),
    "redirect-without-location": lambda r: httpx.Response(302),
    "declared-too-large": lambda r: httpx.Response(200, headers={"content-type": "image/jpeg",
                                                                 "content-length": str(10**9)}, content=b""),
    "garbage-image": lambda r: httpx.Response(200, content=b"\xff\xd8\xff" + b"\x00" * 500,
                                              headers={"content-type": "image/jpeg"}),
}


@pytest.mark.parametrize("case", list(BODY_CASES))
def test_bad_bodies_are_refused(env, case):
    env.internet.routes["/bad"] = BODY_CASES[case]
    assert_refused(get(env.api, env.key, "http://cdn.example/bad"))


def test_oversize_body_is_cut_off_at_the_limit(make_app, sec_key, internet):
    """No Content-Length, an endless body: reading stops just past max_image_bytes."""
    api = make_app(limits={"max_image_bytes": 256 * 1024})
    sent = []

    async def endless():
        for _ in range(10_000):  # 640 MiB if it were all read
            sent.append(1)
            yield b"\x00" * 65536

    internet.routes["/huge"] = lambda r: httpx.Response(200, content=endless(), headers={"content-type": "image/jpeg"})
    assert_refused(get(api, sec_key, "http://cdn.example/huge"))
    assert len(sent) <= 256 * 1024 // 65536 + 2


def test_slow_body_is_cut_off_by_the_fetch_timeout(make_app, sec_key, internet):
    """A slowloris server dripping bytes: the whole fetch is bounded by url_fetch.timeout_s."""
    api = make_app(url_fetch={"timeout_s": 0.5})

    async def drip():
        for _ in range(600):  # 60 s if it were waited for
            await asyncio.sleep(0.1)
            yield b"\xff"

    internet.routes["/slow"] = lambda r: httpx.Response(200, content=drip(), headers={"content-type": "image/jpeg"})
    t0 = time.monotonic()
    assert_refused(get(api, sec_key, "http://cdn.example/slow"))
    assert time.monotonic() - t0 < 3


def test_failed_url_stops_the_other_download(make_app, sec_key, internet):
    """img1 refused at once, img2 slow: the img2 download is stopped, not left
    running after the response (no work outside admission control)."""
    api = make_app(url_fetch={"timeout_s": 20})
    state = {"chunks": 0, "closed": False}

    async def drip():
        try:
            for _ in range(200):
                await asyncio.sleep(0.05)
                state["chunks"] += 1
                yield b"\xff"
        finally:
            state["closed"] = True

    internet.routes["/slow"] = lambda r: httpx.Response(200, content=drip(), headers={"content-type": "image/jpeg"})
    t0 = time.monotonic()
    r = get(api, sec_key, "http://cdn.example/slow", "file:///etc/passwd")
    assert_refused(r)
    assert time.monotonic() - t0 < 2
    seen = state["chunks"]
    time.sleep(0.3)
    assert state["chunks"] <= seen + 1


def test_allowlist_is_off_by_default_and_opens_only_what_it_names(make_app, sec_key, internet):
    assert Settings.model_fields["url_allowlist"].get_default(call_default_factory=True) == []
    api = make_app(url_allowlist=["10.0.0.0/8"])
    r = api.get(PATH, params={"img1": "http://internal.example/face.jpg", "img2": "http://cdn.example/face.jpg",
                              "type1": "portrait", "format_type": "url"}, auth=sec_key)
    assert r.json()["errorCode"] == "0"
    assert_refused(get(api, sec_key, "http://192.168.1.1/face.jpg"))
    assert_refused(get(api, sec_key, "http://169.254.169.254/latest/"))


