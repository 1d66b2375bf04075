"""Reading a request body: a body sent in many tiny chunks costs its own size in memory, not a Python object
per chunk; the byte limit holds however it is chunked (``api/app.py: _read_body``)."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from starlette.requests import Request

from facematch.api.app import _read_body
from facematch.errors import BodyTooLargeError


def request_of(chunks: int, size: int = 1) -> Request:
    sent = 0

    async def receive() -> dict:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": b"a" * size, "more_body": sent < chunks}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}, receive)


def test_a_body_in_tiny_chunks_costs_its_size():
    tracemalloc.start()
    body = asyncio.run(_read_body(request_of(200_000), limit=1_000_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert body == b"a" * 200_000
    assert peak < 2_000_000, peak  # a list of 200,000 one-byte chunks held ~7 MB


@pytest.mark.parametrize("chunks, size", [(1, 1001), (1001, 1), (11, 100)])
def test_the_limit_holds_however_the_body_is_chunked(chunks, size):
    with pytest.raises(BodyTooLargeError):
        asyncio.run(_read_body(request_of(chunks, size), limit=1000))
    assert asyncio.run(_read_body(request_of(10, 100), limit=1000)) == b"a" * 1000
