"""Fakes for the outside world of the app: the internet (an httpx transport
handler that records every request) and DNS (a stub resolver that records
every lookup). Used by the security tests and ``benchmarks/fuzz.py``."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import httpx

PATH = "/api/v2/ekyc/face_matching"
PUBLIC_IP = "93.184.216.34"
PUBLIC_IP6 = "2606:2800:220:1:248:1893:25c8:1946"

Handler = Callable[[httpx.Request], httpx.Response]


class Internet:
    """Serves ``routes`` (path -> handler) on every public host; records requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        return route(request) if route else httpx.Response(404)

    def contacted(self) -> set[str]:
        return {r.url.host for r in self.requests}

    def reset(self, image: bytes) -> None:
        self.requests.clear()
        jpeg_type = {"content-type": "image/jpeg"}
        self.routes = {"/face.jpg": lambda r: httpx.Response(200, content=image, headers=jpeg_type)}


class StubDNS:
    """A fixed table; ``*.example`` is public. Records every lookup."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {
            "localhost": ["127.0.0.1", "::1"],
            "internal.example": ["10.0.0.5"],
            "metadata.google.internal": ["169.254.169.254"],
            "metadata.example": ["169.254.169.254"],
            "rebind.example": [PUBLIC_IP, "127.0.0.1"],  # one bad answer refuses all
            "v6loop.example": ["::1"],
            "v6ula.example": ["fd00::1"],
            "mapped.example": ["::ffff:10.0.0.1"],
            "nat64.example": ["64:ff9b::a9fe:a9fe"],
            "sixtofour.example": ["2002:c0a8:0101::1"],
            "zero.example": ["0.0.0.0"],
            "cgnat.example": ["100.100.100.200"],
            "garbage.example": ["not-an-ip"],
            "empty.example": [],
        }
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host in self.table:
            return list(self.table[host])
        try:  # like getaddrinfo, an address given as a name resolves to itself
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host.endswith(".example") or host.endswith(".example.com"):
            return [PUBLIC_IP]
        raise OSError("NXDOMAIN")
