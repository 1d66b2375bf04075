"""Slowloris: a connection that sends a request's head a byte at a time is closed after head_timeout_s, on a
new connection and on a kept-alive one, with both HTTP parsers; complete requests are unaffected (the real
``facematch serve``)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tools.service_proc import Service, free_port, serve_command

HEAD = b"POST /api/v2/ekyc/face_matching?format_type=file HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def trickle_until_closed(sock: socket.socket, limit_s: float) -> float:
    """Send a byte every 0.2 s until the server closes the connection; the seconds that took (``limit_s``
    if it never did)."""
    sock.settimeout(0.2)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            sock.sendall(b"a")
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return limit_s


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_slow_head_is_cut_and_complete_requests_are_not(tmp_path, parser):
    port = free_port()
    env = {"FACEMATCH_DATA_DIR": str(tmp_path), "FACEMATCH_HEAD_TIMEOUT_S": "1.5"}
    with Service(serve_command(port) + ["--http", parser], port, env, tmp_path / "service.log").start() as svc:
        with socket.create_connection(("127.0.0.1", port)) as slow:  # a new connection, head never finished
            slow.sendall(HEAD)
            cut_after = trickle_until_closed(slow, limit_s=8)
        assert 1.3 <= cut_after <= 4, cut_after

        with socket.create_connection(("127.0.0.1", port)) as kept:  # kept alive after a complete request
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert kept.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(1.0)  # idle, then a slow next head: the time counts from the response
            kept.sendall(HEAD)
            cut_after = trickle_until_closed(kept, limit_s=8)
        assert cut_after <= 2, cut_after

        with httpx.Client(timeout=30) as client:  # complete requests on one kept-alive connection, spaced
            for _ in range(3):
                assert client.get(svc.base_url + "/healthz").status_code == 200
                time.sleep(1.0)
            r = client.post(svc.url + "?format_type=file", files={"img1": ("a.jpg", b"x")})
            assert r.json()["errorCode"] == "5"  # answered (no credentials), not cut


@pytest.mark.parametrize("parser, head_timeout", [("httptools", "10"), ("h11", "10"), ("httptools", "0")])
def test_a_head_of_many_headers_is_refused_and_a_large_body_is_not(tmp_path, parser, head_timeout):
    """llhttp refuses a long request line but not a head of 100,000 headers (10 MB, parsed in full, 26 MB more
    in the process for one connection): past MAX_HEAD_BYTES the connection gets 431 and is closed. A body of
    many MB after a normal head, and heads of a few KB, are untouched."""
    from facematch.api.protocol import MAX_HEAD_BYTES

    port = free_port()
    env = {"FACEMATCH_DATA_DIR": str(tmp_path), "FACEMATCH_HEAD_TIMEOUT_S": head_timeout}  # 0: no deadline, a limit
    with Service(serve_command(port) + ["--http", parser], port, env, tmp_path / "service.log").start() as svc:
        with socket.create_connection(("127.0.0.1", port)) as big:
            big.settimeout(10)
            head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            sent = 0
            answer = b""
            try:
                while sent <= 2 * MAX_HEAD_BYTES:
                    line = b"X-Many-%d: %s\r\n" % (sent, b"v" * 100)
                    big.sendall(head + line if sent == 0 else line)
                    sent += len(line)
                big.sendall(b"\r\n")
                answer = big.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                pass
            assert not answer.startswith(b"HTTP/1.1 200"), answer[:60]
            assert answer == b"" or answer.startswith(b"HTTP/1.1 431") or answer.startswith(b"HTTP/1.1 400"), answer
        with httpx.Client(timeout=30) as client:
            headers = {f"X-Fine-{i}": "v" * 100 for i in range(40)}  # 4 KB of headers
            assert client.get(svc.base_url + "/healthz", headers=headers).status_code == 200
            r = client.post(svc.url + "?format_type=file", files={"img1": ("a.jpg", b"x" * 8_000_000)})
            assert r.json()["errorCode"] == "5"  # the 8 MB body was read: answered, not cut


def test_a_pipelined_head_is_limited_while_the_request_before_it_is_answered():
    """HTTP/1.1 lets a client send its next request before the answer to the last: while that one is being
    answered the byte count of the head deadline is not running, so llhttp's own parse of the next head is
    counted (``HttpToolsHeadDeadline``). Without it a pipelined head of 320 KB was taken whole."""
    import asyncio
    from unittest import mock

    import uvicorn
    from uvicorn.server import ServerState

    from facematch.api.protocol import MAX_HEAD_BYTES, HttpToolsHeadDeadline

    async def slow_app(scope, receive, send):
        await asyncio.sleep(5)  # the first request is still being answered

    async def scenario() -> tuple[bool, int, list[bytes]]:
        config = uvicorn.Config(app=slow_app, log_level="critical")
        config.load()
        proto = HttpToolsHeadDeadline(config=config, server_state=ServerState(), app_state={},
                                      _loop=asyncio.get_running_loop())
        transport = mock.Mock()
        transport.get_extra_info.return_value = None
        transport.is_closing.return_value = False
        written: list[bytes] = []
        transport.write.side_effect = written.append
        proto.connection_made(transport)
        proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.05)
        head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(3000))
        sent = 0
        while sent < len(head) and not transport.close.called:
            proto.data_received(head[sent:sent + 4096])
            sent += 4096
        proto.connection_lost(None)
        await asyncio.sleep(0.05)
        return transport.close.called, sent, written

    closed, sent, written = asyncio.run(scenario())
    assert closed and sent <= MAX_HEAD_BYTES + 8192, sent
    assert written and written[0].startswith(b"HTTP/1.1 400")
