"""SSRF-safe download of ``format_type=url`` images.

Every URL (and every redirect target) goes through the same checks:

1. Syntax: ``http``/``https`` only, a host is required, no ``user:pass@``,
   at most 2048 characters, no whitespace or control characters.
2. Host: IP literals are normalised the way ``inet_aton``/browsers do
   (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1`` are all 127.0.0.1);
   names are IDNA-encoded and resolved ONCE with the injected resolver.
3. Addresses: every resolved address must be public (``is_global``, not
   multicast/reserved/CGNAT/...; IPv4 embedded in mapped/6to4/NAT64 IPv6 is
   checked too) unless the allow-list permits it. One bad address refuses all.
4. Connection: the request goes to the checked IP literal, not the name, so a
   second DNS answer (DNS rebinding) cannot redirect it. The ``Host`` header
   carries the original name and, for https, the ``sni_hostname`` extension
   makes TLS SNI and certificate verification use that name too.

Redirects are followed here (never by httpx), re-running every check on each
hop. The body is streamed and cut off past ``max_bytes``; the whole fetch runs
under one ``asyncio.timeout`` so a slow-drip body cannot hold it longer.

Every failure raises :class:`UrlUnavailableError` whose ``detail`` is one of:
``too_long``, ``invalid``, ``scheme``, ``userinfo``, ``host``, ``resolve``,
``blocked_address``, ``redirects``, ``status``, ``content_type``,
``too_large``, ``empty``, ``timeout``, ``network``. The URL itself is never
logged nor put in the error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from facematch.errors import UrlUnavailableError

if TYPE_CHECKING:
    from facematch.settings import Settings

__all__ = ["Resolver", "UrlFetcher", "system_resolver"]

logger = logging.getLogger(__name__)
# httpx logs every request line at INFO, query string included: these URLs are
# the client's (pre-signed ones carry credentials) and must not reach the logs.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level < logging.WARNING:
        logging.getLogger(_name).setLevel(logging.WARNING)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: ``(host, port) -> IP address strings``; injected so tests never touch DNS.
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ACCEPTED_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})

# Any whitespace or control character: urlsplit silently drops some of them
# (tab/CR/LF), which would make what we check differ from what was sent.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
# A host made only of these may be a non-standard IPv4 spelling for inet_aton.
_IPV4ISH = re.compile(r"^[0-9a-fx.]+$")
# WHATWG: a host whose last label is numeric must be an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
# What a host name may hold once IDNA-encoded (underscore occurs in the wild).
_HOSTNAME = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")

# Blocked on top of ``not is_global``, so the rule does not depend on the
# Python patch release's idea of "global".
_BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",  # reserved + 255.255.255.255 broadcast
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo: client address is not checkable
        "fc00::/7",  # ULA, includes fd00:ec2::254 (AWS metadata over IPv6)
        "fe80::/10",
        "fec0::/10",  # deprecated site-local
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver; unique addresses, in order."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


@dataclass(frozen=True)
class _Target:
    """A URL that passed the syntax checks, split into what the fetch needs."""

    scheme: str
    host: str  # IDNA/ASCII host name, or the canonical IP for literals
    ip: IPAddress | None  # set when the URL host is an IP literal
    port: int
    path_query: str
    host_header: str


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv4-mapped, 6to4 or NAT64 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(ip: IPAddress) -> bool:
    """True when ``ip`` (and any IPv4 embedded in it) is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            if not _is_public(embedded):
                return False
            if ip.ipv4_mapped is not None or ip in _NAT64:
                # The address *is* the IPv4 one (mapped, or translated by
                # NAT64); 64:ff9b::/96 counts as "reserved" in ipaddress.
                return True
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    if ip.is_loopback or ip.is_link_local or ip.is_private:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    return not any(ip.version == net.version and ip in net for net in _BLOCKED_NETWORKS)


def _parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """Parse decimal/octal/hex/short IPv4 spellings like ``inet_aton``.

    Returns None when ``host`` is a name. Raises ``UrlUnavailableError`` for a
    host whose last label is numeric but that is no valid address (browsers
    refuse those rather than resolving them as names).
    """
    bare = host[:-1] if host.endswith(".") else host
    if not bare or not _IPV4ISH.match(bare):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except (OSError, ValueError):
        if _NUMERIC_LABEL.match(bare.rsplit(".", 1)[-1]):
            raise UrlUnavailableError("invalid") from None
        return None  # e.g. "cafe.beef": an ordinary (hex-looking) name


def _parse_url(url: str) -> _Target:
    """Syntax checks and host normalisation; no network access."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlUnavailableError("too_long")
    if _BAD_URL_CHARS.search(url):
        raise UrlUnavailableError("invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlUnavailableError("invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlUnavailableError("scheme")
    # "@" anywhere in the authority is refused, also the odd forms that
    # urlsplit and a browser would split differently.
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UrlUnavailableError("userinfo")
    raw_host = parts.hostname  # lower-cased, brackets removed
    if not raw_host:
        raise UrlUnavailableError("host")
    if port == 0:
        raise UrlUnavailableError("invalid")

    ip: IPAddress | None
    if parts.netloc.startswith("["):  # no userinfo here, so the host comes first
        # Only IPv6 literals may be bracketed; zone ids ("%eth0") are refused.
        try:
            ip = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise UrlUnavailableError("invalid") from None
        if ip.scope_id is not None:
            raise UrlUnavailableError("invalid")
        host = str(ip)
    else:
        ip = _parse_ipv4_host(raw_host)
        if ip is not None:
            host = str(ip)
        else:
            try:
                host = raw_host.rstrip(".").encode("idna").decode("ascii")
            except UnicodeError:
                raise UrlUnavailableError("invalid") from None
            if len(host) > 253 or not _HOSTNAME.match(host):
                raise UrlUnavailableError("invalid")
            # IDNA maps full-width digits and ideographic dots ("１２７。0。0。1")
            # to ASCII: what comes out may be an address after all (as in WHATWG).
            ip = _parse_ipv4_host(host)
            if ip is not None:
                host = str(ip)

    effective_port = port if port is not None else _DEFAULT_PORTS[scheme]
    host_for_header = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    if effective_port != _DEFAULT_PORTS[scheme]:
        host_for_header = f"{host_for_header}:{effective_port}"
    path_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, ip, effective_port, path_query, host_for_header)


def _canonical(ip: IPAddress) -> IPAddress:
    """Connect to IPv4-mapped addresses as plain IPv4."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class UrlFetcher:
    """Downloads an image from a user-supplied URL without SSRF exposure.

    ``client`` should be created with ``follow_redirects=False`` and
    ``trust_env=False``; redirects are refused here regardless.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        resolver: Resolver = system_resolver,
        max_bytes: int,
        timeout_s: float,
        max_redirects: int,
        allow_hosts: Sequence[str] = (),
        allow_networks: Sequence[IPNetwork] = (),
    ) -> None:
        self._client = client
        self._resolver = resolver
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._allow_hosts = frozenset(h.lower().rstrip(".") for h in allow_hosts)
        self._allow_networks = tuple(allow_networks)

    @classmethod
    def from_settings(
        cls, settings: Settings, client: httpx.AsyncClient, resolver: Resolver = system_resolver
    ) -> UrlFetcher:
        hosts, networks = settings.allowlist_networks()
        return cls(
            client=client,
            resolver=resolver,
            max_bytes=settings.limits.max_image_bytes,
            timeout_s=settings.url_fetch.timeout_s,
            max_redirects=settings.url_fetch.max_redirects,
            allow_hosts=hosts,
            allow_networks=networks,
        )

    async def fetch(self, url: str) -> bytes:
        """Download ``url`` and return its body, or raise ``UrlUnavailableError``."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._fetch_following_redirects(url)
        except UrlUnavailableError as exc:
            logger.info("url fetch refused: %s", exc.detail)
            raise
        # TimeoutError is an OSError subclass: it must come first.
        except (TimeoutError, httpx.TimeoutException):
            logger.info("url fetch refused: timeout")
            raise UrlUnavailableError("timeout") from None
        except httpx.InvalidURL:
            logger.info("url fetch refused: invalid")
            raise UrlUnavailableError("invalid") from None
        except (httpx.HTTPError, OSError) as exc:
            logger.info("url fetch refused: network (%s)", type(exc).__name__)
            raise UrlUnavailableError("network") from None

    # -- internals -----------------------------------------------------------

    async def _fetch_following_redirects(self, url: str) -> bytes:
        for _hop in range(self._max_redirects + 1):
            target = _parse_url(url)
            address = await self._checked_address(target)
            location = await self._fetch_one(target, address)
            if isinstance(location, bytes):
                return location
            # Relative Locations resolve against the URL as the user wrote it.
            url = urljoin(url, location)
        raise UrlUnavailableError("redirects")

    def _allowed(self, target: _Target, ip: IPAddress) -> bool:
        if target.ip is None and target.host in self._allow_hosts:
            return True
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
            candidates.append(embedded)
        if any(c.version == n.version and c in n for c in candidates for n in self._allow_networks):
            return True
        return _is_public(ip)

    async def _checked_address(self, target: _Target) -> IPAddress:
        """Resolve once; every address must pass. Returns the one to connect to."""
        if target.ip is not None:
            addresses: list[IPAddress] = [target.ip]
        else:
            try:
                answers = await self._resolver(target.host, target.port)
                addresses = [ipaddress.ip_address(a) for a in answers]
            except (OSError, ValueError, UnicodeError):
                raise UrlUnavailableError("resolve") from None
            if not addresses:
                raise UrlUnavailableError("resolve")
        if not all(self._allowed(target, ip) for ip in addresses):
            raise UrlUnavailableError("blocked_address")
        return _canonical(addresses[0])

    async def _fetch_one(self, target: _Target, address: IPAddress) -> bytes | str:
        """One request to the pinned ``address``: the body, or a redirect Location."""
        ip_host = f"[{address}]" if address.version == 6 else str(address)
        request_url = f"{target.scheme}://{ip_host}:{target.port}{target.path_query}"
        headers = {
            "Host": target.host_header,
            # Images are already compressed; also keeps decompression bounded.
            "Accept-Encoding": "identity",
            # The pool is keyed by IP: no reuse of a TLS connection that was
            # verified for another name resolving to the same address.
            "Connection": "close",
            "Accept": "image/*",
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.ip is None else {}
        async with self._client.stream(
            "GET",
            request_url,
            headers=headers,
            extensions=extensions,
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout_s),
        ) as response:
            if response.status_code in _REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise UrlUnavailableError("status")
                return str(location)
            if not 200 <= response.status_code < 300:
                raise UrlUnavailableError("status")
            media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type and not media_type.startswith("image/") and media_type not in _ACCEPTED_TYPES:
                raise UrlUnavailableError("content_type")
            declared = response.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > self._max_bytes:
                raise UrlUnavailableError("too_large")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise UrlUnavailableError("too_large")
        if not body:
            raise UrlUnavailableError("empty")
        return bytes(body)
