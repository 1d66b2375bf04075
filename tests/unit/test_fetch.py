"""SSRF guard and limits of ``facematch.imaging.fetch``.

No network: the HTTP client runs on ``httpx.MockTransport`` and DNS is a stub
that records each lookup. Coroutines are driven with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from facematch.errors import UrlUnavailableError
from facematch.imaging.fetch import UrlFetcher, system_resolver
from facematch.settings import Settings

PUBLIC_IP = "93.184.216.34"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60 + b"\xff\xd9"

Handler = Callable[[httpx.Request], httpx.Response]


def image_response(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "image/jpeg"}, content=JPEG)


class StubResolver:
    """Answers from a fixed table and records every (host, port) it was asked."""

    def __init__(self, table: dict[str, list[str]] | None = None, *, delay: float = 0.0) -> None:
        self.table = table or {}
        self.delay = delay
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        if self.delay:
            await asyncio.sleep(self.delay)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class Harness:
    """One fetcher on a mock transport; remembers the requests that reached it."""

    def __init__(
        self,
        handler: Handler = image_response,
        dns: dict[str, list[str]] | None = None,
        *,
        resolver: StubResolver | None = None,
        **options: Any,
    ) -> None:
        self.handler = handler
        self.resolver = resolver or StubResolver({"images.example.com": [PUBLIC_IP], **(dns or {})})
        self.requests: list[httpx.Request] = []
        self.options = {"max_bytes": 1024, "timeout_s": 2.0, "max_redirects": 3, **options}

    def _record(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    async def _fetch(self, url: str) -> bytes:
        transport = httpx.MockTransport(self._record)
        async with httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False) as client:
            fetcher = UrlFetcher(client=client, resolver=self.resolver, **self.options)
            return await fetcher.fetch(url)

    def fetch(self, url: str) -> bytes:
        return asyncio.run(self._fetch(url))

    def refused(self, url: str) -> str:
        """Fetch, expect a refusal, and return its detail code."""
        with pytest.raises(UrlUnavailableError) as info:
            self.fetch(url)
        assert url not in str(info.value)  # no user data in the error
        return info.value.detail

    @property
    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]


# -- the good path -------------------------------------------------------------


def test_public_https_fetch_connects_to_checked_ip_with_name_in_host_and_sni() -> None:
    h = Harness()
    assert h.fetch("https://images.example.com/faces/a.jpg?size=big") == JPEG
    assert h.resolver.lookups == [("images.example.com", 443)]
    (request,) = h.requests
    assert request.url.scheme == "https"
    assert request.url.host == PUBLIC_IP
    assert request.url.raw_path == b"/faces/a.jpg?size=big"
    assert request.headers["host"] == "images.example.com"
    assert request.extensions["sni_hostname"] == "images.example.com"


def test_public_http_fetch_keeps_explicit_port_in_host_header() -> None:
    h = Harness()
    assert h.fetch("http://Images.Example.com:8080/a.jpg") == JPEG
    (request,) = h.requests
    assert (request.url.host, request.url.port) == (PUBLIC_IP, 8080)
    assert request.headers["host"] == "images.example.com:8080"
    assert "sni_hostname" not in request.extensions
    assert h.resolver.lookups == [("images.example.com", 8080)]


def test_public_ip_literal_is_not_resolved() -> None:
    h = Harness()
    assert h.fetch(f"http://{PUBLIC_IP}/a.jpg") == JPEG
    assert h.resolver.lookups == []
    assert h.hosts == [PUBLIC_IP]


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg; charset=binary", "application/octet-stream",
                                          "binary/octet-stream", None])
def test_image_like_content_types_accepted(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    h = Harness(lambda request: httpx.Response(200, headers=headers, content=JPEG))
    assert h.fetch("https://images.example.com/a") == JPEG


def test_system_resolver_returns_unique_addresses() -> None:
    # A numeric host: getaddrinfo answers without any DNS traffic.
    assert asyncio.run(system_resolver("127.0.0.1", 80)) == ["127.0.0.1"]


# -- URL syntax ----------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "ftp://images.example.com/a.jpg",
    "gopher://images.example.com:70/_GET",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "images.example.com/a.jpg",
])
def test_other_schemes_refused(url: str) -> None:
    h = Harness()
    assert h.refused(url) == "scheme"
    assert h.requests == [] and h.resolver.lookups == []


@pytest.mark.parametrize("url", [
    "http://user:pass@images.example.com/a.jpg",
    "http://user@93.184.216.34/a.jpg",
    "http://images.example.com@127.0.0.1/a.jpg",
    "http://images.example.com\\@127.0.0.1/",
])
def test_userinfo_refused(url: str) -> None:
    h = Harness()
    assert h.refused(url) == "userinfo"
    assert h.requests == [] and h.resolver.lookups == []


@pytest.mark.parametrize(("url", "detail"), [
    ("http:///a.jpg", "host"),
    ("https://", "host"),
    ("http://images.example.com/" + "a" * 2048, "too_long"),
    ("http://images.exa mple.com/", "invalid"),
    ("http://images.example.com/\r\nX-Injected: 1", "invalid"),
    ("http://images%2eexample.com/", "invalid"),
    ("http://[not-an-ip]/", "invalid"),
    ("http://[fe80::1%25eth0]/", "invalid"),
    ("http://1.2.3.4.5/", "invalid"),
    ("http://images.example.com:99999/", "invalid"),
    ("http://images.example.com:0/", "invalid"),
])
def test_malformed_urls_refused(url: str, detail: str) -> None:
    h = Harness()
    assert h.refused(url) == detail
    assert h.requests == [] and h.resolver.lookups == []


# -- blocked addresses ---------------------------------------------------------


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0", "0.1.2.3", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "[::1]", "[::]", "[fc00::1]", "[fd00:ec2::254]", "[fe80::1]", "[ff02::1]",
    "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:7f00:1]",
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[::127.0.0.1]",  # IPv4-compatible
])
def test_blocked_ip_literals(host: str) -> None:
    h = Harness()
    assert h.refused(f"http://{host}/latest/meta-data/") == "blocked_address"
    assert h.requests == [] and h.resolver.lookups == []


@pytest.mark.parametrize("host", [
    "2130706433",  # decimal
    "0177.0.0.1",  # octal
    "0x7f.1",  # hex + short
    "0x7f000001",
    "017700000001",
    "127.1",  # short
    "127.0.1",
    "127.0.0.1.",  # trailing dot
    "0X7F.0.0.1",
])
def test_odd_ipv4_spellings_of_loopback_refused_without_dns(host: str) -> None:
    h = Harness()
    assert h.refused(f"http://{host}/") == "blocked_address"
    assert h.requests == [] and h.resolver.lookups == []


def test_odd_spelling_of_public_address_connects_to_normalised_ip() -> None:
    h = Harness()
    assert h.fetch(f"http://{int(ipaddress.IPv4Address(PUBLIC_IP))}/a.jpg") == JPEG
    assert h.hosts == [PUBLIC_IP] and h.resolver.lookups == []


def test_hex_looking_name_is_resolved_as_a_name() -> None:
    h = Harness(dns={"cafe.beef": [PUBLIC_IP]})
    assert h.fetch("http://cafe.beef/") == JPEG
    assert h.resolver.lookups == [("cafe.beef", 80)]


@pytest.mark.parametrize("answer", [
    ["10.1.2.3"], ["127.0.0.1"], ["169.254.169.254"], ["::1"], ["::ffff:10.0.0.1"], ["fd00:ec2::254"],
    [PUBLIC_IP, "192.168.0.10"],  # one bad address among good ones refuses all
    ["192.168.0.10", PUBLIC_IP],
])
def test_names_resolving_to_private_addresses_refused(answer: list[str]) -> None:
    h = Harness(dns={"intranet.example": answer})
    assert h.refused("https://intranet.example/a.jpg") == "blocked_address"
    assert h.resolver.lookups == [("intranet.example", 443)]
    assert h.requests == []


@pytest.mark.parametrize("answer", [[], ["not-an-address"]])
def test_unusable_dns_answers_refused(answer: list[str]) -> None:
    h = Harness(dns={"odd.example": answer})
    assert h.refused("http://odd.example/") == "resolve"
    assert h.requests == []


def test_unknown_name_refused() -> None:
    h = Harness()
    assert h.refused("http://nowhere.example/") == "resolve"
    assert h.requests == []


# -- redirects -----------------------------------------------------------------


def redirect_from_public(location: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC_IP:
            return httpx.Response(302, headers={"location": location})
        return image_response(request)
    return handler


@pytest.mark.parametrize("location", [
    "http://intranet.example/secret",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/",
    "//0x7f.1/",
    "file:///etc/passwd",
])
def test_redirect_to_blocked_target_refused_before_any_request(location: str) -> None:
    h = Harness(redirect_from_public(location), dns={"intranet.example": ["10.0.0.5"]})
    assert h.refused("https://images.example.com/a.jpg") in {"blocked_address", "scheme"}
    assert h.hosts == [PUBLIC_IP]  # the private target never reached the transport


def test_redirect_loop_beyond_max_redirects_refused() -> None:
    h = Harness(lambda request: httpx.Response(301, headers={"location": "/again"}), max_redirects=3)
    assert h.refused("http://images.example.com/start") == "redirects"
    assert len(h.requests) == 4  # the first request + 3 followed redirects


def test_relative_redirect_followed_with_checks() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/img/a.jpg":
            return httpx.Response(307, headers={"location": "b.jpg?v=2"})
        return image_response(request)

    h = Harness(handler)
    assert h.fetch("https://images.example.com/img/a.jpg") == JPEG
    assert [r.url.raw_path for r in h.requests] == [b"/img/a.jpg", b"/img/b.jpg?v=2"]
    assert all(r.headers["host"] == "images.example.com" for r in h.requests)
    assert all(r.extensions["sni_hostname"] == "images.example.com" for r in h.requests)
    assert h.resolver.lookups == [("images.example.com", 443)] * 2  # checked again on each hop


def test_redirect_to_other_public_host_resolves_it() -> None:
    h = Harness(redirect_from_public("http://cdn.example.net/x.jpg"), dns={"cdn.example.net": ["203.0.114.7"]})
    assert h.fetch("http://images.example.com/a.jpg") == JPEG
    assert h.hosts == [PUBLIC_IP, "203.0.114.7"]
    assert h.requests[1].headers["host"] == "cdn.example.net"


def test_redirect_without_location_is_a_status_error() -> None:
    h = Harness(lambda request: httpx.Response(302))
    assert h.refused("http://images.example.com/a.jpg") == "status"


# -- response checks -------------------------------------------------------------


def test_content_length_over_limit_refused_before_reading() -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"x")
        yield b"x"

    h = Harness(lambda request: httpx.Response(
        200, headers={"content-type": "image/jpeg", "content-length": "5000"}, content=body()))
    assert h.refused("http://images.example.com/big.jpg") == "too_large"
    assert read == []


def test_streamed_body_over_limit_aborted() -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield b"\x00" * 256

    h = Harness(lambda request: httpx.Response(200, headers={"content-type": "image/jpeg"}, content=endless()))
    assert h.refused("http://images.example.com/big.jpg") == "too_large"
    assert "content-length" not in h.requests[0].headers
    assert chunks_sent == 5  # 5 * 256 > 1024: stopped at the first chunk past the limit


def test_body_exactly_at_limit_accepted() -> None:
    h = Harness(lambda request: httpx.Response(200, content=b"\x01" * 1024))
    assert len(h.fetch("http://images.example.com/a.jpg")) == 1024


def test_slow_drip_body_cut_at_total_deadline() -> None:
    async def slow() -> AsyncIterator[bytes]:
        while True:
            yield b"\x00"
            await asyncio.sleep(0.05)

    h = Harness(lambda request: httpx.Response(200, headers={"content-type": "image/jpeg"}, content=slow()),
                timeout_s=0.3, max_bytes=10_000)
    started = time.monotonic()
    assert h.refused("http://images.example.com/slow.jpg") == "timeout"
    assert time.monotonic() - started < 1.0


def test_slow_dns_cut_at_total_deadline() -> None:
    h = Harness(resolver=StubResolver({"images.example.com": [PUBLIC_IP]}, delay=5.0), timeout_s=0.2)
    started = time.monotonic()
    assert h.refused("http://images.example.com/a.jpg") == "timeout"
    assert time.monotonic() - started < 1.0
    assert h.requests == []


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json", "text/plain"])
def test_non_image_content_type_refused(content_type: str) -> None:
    h = Harness(lambda request: httpx.Response(200, headers={"content-type": content_type}, content=b"<html>"))
    assert h.refused("http://images.example.com/a.jpg") == "content_type"


@pytest.mark.parametrize("status", [204, 304, 400, 403, 404, 500, 503])
def test_non_2xx_status_refused(status: int) -> None:
    h = Harness(lambda request: httpx.Response(status, content=b"" if status in (204, 304) else b"nope"))
    expected = "empty" if status == 204 else "status"
    assert h.refused("http://images.example.com/a.jpg") == expected


def test_empty_body_refused() -> None:
    h = Harness(lambda request: httpx.Response(200, headers={"content-type": "image/jpeg"}, content=b""))
    assert h.refused("http://images.example.com/a.jpg") == "empty"


def test_transport_error_reported_as_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    h = Harness(handler)
    assert h.refused("http://images.example.com/a.jpg") == "network"


# -- allow-list ------------------------------------------------------------------


def test_allow_list_by_cidr_permits_private_address() -> None:
    h = Harness(dns={"intranet.example": ["10.1.2.3"]}, allow_networks=[ipaddress.ip_network("10.0.0.0/8")])
    assert h.fetch("http://intranet.example/a.jpg") == JPEG
    assert h.fetch("http://10.9.9.9/a.jpg") == JPEG
    assert h.hosts == ["10.1.2.3", "10.9.9.9"]
    # Only that network: other private ranges stay blocked.
    assert h.refused("http://192.168.0.1/") == "blocked_address"
    assert h.hosts == ["10.1.2.3", "10.9.9.9"]


def test_allow_list_by_host_name_permits_private_address() -> None:
    h = Harness(dns={"intranet.example": ["10.1.2.3"], "other.example": ["10.1.2.3"]},
                allow_hosts=["Intranet.Example."])
    assert h.fetch("https://INTRANET.example/a.jpg") == JPEG
    assert h.hosts == ["10.1.2.3"]
    assert h.requests[0].headers["host"] == "intranet.example"
    # Another name on the same private address is still refused.
    assert h.refused("https://other.example/a.jpg") == "blocked_address"
    assert h.hosts == ["10.1.2.3"]


def test_allow_list_is_empty_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEMATCH_URL_ALLOWLIST", raising=False)
    settings = Settings()
    assert settings.url_allowlist == []
    assert settings.allowlist_networks() == ([], [])


def test_from_settings_uses_limits_and_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEMATCH_URL_ALLOWLIST", "intranet.example, 172.16.0.0/12")
    monkeypatch.setenv("FACEMATCH_LIMITS__MAX_IMAGE_BYTES", "100")
    settings = Settings()
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=b"\x01" * (50 if request.url.path == "/small" else 101))

    async def run(url: str) -> bytes:
        resolver = StubResolver({"intranet.example": ["10.0.0.1"]})
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await UrlFetcher.from_settings(settings, client, resolver).fetch(url)

    assert asyncio.run(run("http://intranet.example/small")) == b"\x01" * 50
    assert asyncio.run(run("http://172.20.0.1/small")) == b"\x01" * 50
    with pytest.raises(UrlUnavailableError) as info:
        asyncio.run(run("http://172.20.0.1/big"))
    assert info.value.detail == "too_large"
    with pytest.raises(UrlUnavailableError) as info:
        asyncio.run(run("http://192.168.1.1/small"))
    assert info.value.detail == "blocked_address"
    assert [r.url.host for r in requests] == ["10.0.0.1", "172.20.0.1", "172.20.0.1"]
