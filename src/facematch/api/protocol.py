"""uvicorn's HTTP/1.1 protocols with a deadline on a request's head (Slowloris).

uvicorn times out nothing while a request's line and headers arrive: its keep-alive timer is cancelled by the
first byte a connection sends, so a client that sends a partial head, a byte now and then, holds its
connection (a socket, a file descriptor) for as long as it likes, and a few hundred such clients take every
descriptor the process has. The application cannot help: it is called only once the head is complete.

Here a connection must complete each request's head within ``head_timeout_s`` (``FACEMATCH_HEAD_TIMEOUT_S``)
of connecting, or of the previous response on a kept-alive connection, and in at most ``MAX_HEAD_BYTES``;
otherwise it is closed (with 431 for the second). The body is not
covered here: the service admits a request before reading its body and bounds the rest by
``request_deadline_s`` (``api/app.py``).

``facematch serve`` passes these classes to uvicorn by name (``http=``), so that each worker process of
``--processes`` imports them itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from facematch.settings import Settings

log = logging.getLogger("facematch.api")

__all__ = ["H11HeadDeadline", "HeadTooLarge", "HttpToolsHeadDeadline", "protocol_for"]


#: Most bytes a request's line and headers may take. llhttp refuses a request line of about 80 KB, but not a
#: head of many headers: 100,000 headers of 100 bytes (10 MB, inside the head deadline) were parsed and grew
#: the process by 26 MB, for one connection. nginx allows 32 KB by default; signed URLs in ``format_type=url``
#: take a few KB.
MAX_HEAD_BYTES = 64 * 1024
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


@functools.cache
def head_timeout_s() -> float:
    """This process's ``head_timeout_s`` (read once, from the environment as the service's other settings)."""
    return Settings().head_timeout_s


class _HeadDeadline:
    """Mixed into a uvicorn HTTP protocol (``cycle``, ``loop``, ``transport`` and the two hooks are theirs)."""

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None
    _head_cycle: Any = None
    _head_bytes = 0
    _in_head = False  # a request's head is arriving (its line and headers not complete yet)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._in_head and self.cycle is not self._head_cycle:
            self._disarm_head()  # a new request's head is complete
        elif self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                log.info("connection closed: request head over MAX_HEAD_BYTES")
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_head()  # kept alive, idle: the next head has the same time

    def _arm_head(self) -> None:
        self._disarm_head()
        self._head_bytes, self._in_head, self._head_cycle = 0, True, self.cycle
        timeout = head_timeout_s()
        if timeout > 0:
            self._head_timer = self.loop.call_later(timeout, self._head_expired)

    def _disarm_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.cycle is self._head_cycle:
            log.info("connection closed: no complete request head within head_timeout_s")
            self.transport.close()


class HeadTooLarge(Exception):
    """A request's line and headers past ``MAX_HEAD_BYTES``, as parsed."""


class HttpToolsHeadDeadline(_HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol (the default) with the head deadline. Each request's head is also counted
    as llhttp parses it (its URL and headers), so that a head arriving while another request on the same
    connection is being answered (pipelined), when the byte count above is not running, is limited too: past
    ``MAX_HEAD_BYTES`` the parser stops and uvicorn answers 400 and closes the connection."""

    _parsed_head = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_head = 0

    def on_url(self, url: bytes) -> None:
        self._parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _parsed(self, size: int) -> None:
        self._parsed_head += size
        if self._parsed_head > MAX_HEAD_BYTES:
            log.info("connection closed: request head over MAX_HEAD_BYTES")
            raise HeadTooLarge  # llhttp hands it to uvicorn as a parser error: 400, connection closed


class H11HeadDeadline(_HeadDeadline, H11Protocol):
    """uvicorn's pure-Python (h11) protocol with the head deadline."""


def protocol_for(http: str) -> str:
    """The import path uvicorn's ``http=`` gets for ``facematch serve --http`` (``auto``: httptools, a
    dependency, as uvicorn's own ``auto`` picks it)."""
    name = "H11HeadDeadline" if http == "h11" else "HttpToolsHeadDeadline"
    return f"facematch.api.protocol:{name}"
