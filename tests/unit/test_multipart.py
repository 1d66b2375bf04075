"""The in-memory multipart parser: what clients send parses to the same parts
httpx encoded; anything malformed is refused."""

from __future__ import annotations

import httpx
import pytest

from facematch.api.multipart import MultipartError, parse

CT = "multipart/form-data; boundary=XyZ"


def encoded(files=None, data=None) -> tuple[str, bytes]:
    req = httpx.Request("POST", "http://x/", files=files, data=data)
    return req.headers["content-type"], req.read()


def test_round_trip_with_httpx():
    binary = bytes(range(256)) * 50 + b"\r\n--notboundary\r\n" + b"\r\n\r\n"
    ctype, body = encoded(files={"img1": ("a.jpg", binary), "img2": ("b.png", b"x")}, data={"note": "hello"})
    parts = {p.name: p for p in parse(ctype, body)}
    assert parts["img1"].data == binary and parts["img1"].filename == "a.jpg"
    assert parts["img2"].data == b"x"
    assert parts["note"].filename is None and parts["note"].data == b"hello"


def body(*parts: bytes, close: bool = True, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = preamble + b"".join(b"--XyZ\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--XyZ--\r\n" + epilogue if close else b"")


FILE = b'Content-Disposition: form-data; name="img1"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nDATA'


def test_preamble_and_epilogue_are_ignored():
    parts = parse(CT, body(FILE, preamble=b"ignored\r\n", epilogue=b"trailing"))
    assert [(p.name, p.filename, p.data) for p in parts] == [("img1", "a.jpg", b"DATA")]


@pytest.mark.parametrize("disposition, filename", [
    # a name that is not ASCII, as urllib3 before 1.25 (requests of 2019 and older) wrote it: filename* alone
    (b"filename*=utf-8''%E1%BA%A3nh%20CCCD.jpg", "\u1ea3nh CCCD.jpg"),
    (b"FILENAME* = \"ISO-8859-1'vi'caf%E9.jpg\"", "caf\u00e9.jpg"),
    (b"filename*=x-unknown''a%FF.jpg", "a\ufffd.jpg"),  # an unknown charset: the bytes, as UTF-8 with replacement
    (b'filename="plain.jpg"; filename*=utf-8\'\'other.jpg', "plain.jpg"),  # both: the plain one, as before
    ("filename=\"\u1ea3nh.jpg\"".encode(), "\u1ea3nh.jpg"),  # UTF-8 in quotes (browsers, httpx, OkHttp)
])
def test_a_file_named_by_an_extended_parameter_is_a_file(disposition, filename):
    parts = parse(CT, body(b'Content-Disposition: form-data; name="img1"; ' + disposition + b"\r\n\r\nDATA"))
    assert [(p.name, p.filename, p.data) for p in parts] == [("img1", filename, b"DATA")]


def test_empty_file_part():
    parts = parse(CT, body(b'Content-Disposition: form-data; name="img1"; filename="a"\r\n\r\n'))
    assert parts[0].data == b""


@pytest.mark.parametrize("ctype, raw", [
    (CT, body(FILE, close=False)),  # no closing delimiter
    (CT, b"--XyZ\r\n" + FILE),  # unterminated part
    (CT, body(b"Content-Type: image/jpeg\r\n\r\nDATA")),  # no Content-Disposition
    (CT, body(b'Content-Disposition: attachment; name="img1"\r\n\r\nDATA')),
    (CT, body(b"Content-Disposition: form-data\r\n\r\nDATA")),  # no name
    (CT, body(b"garbage header line\r\n\r\nDATA")),
    (CT, body(b"\r\nDATA")),  # no headers
    (CT, body(b'Content-Disposition: form-data; name="a"' + b"x" * 9000 + b"\r\n\r\nDATA")),  # huge headers
    (CT, b"no delimiter at all"),
    (CT, b""),
    ("multipart/form-data", body(FILE)),  # no boundary
    ("application/json; boundary=XyZ", body(FILE)),
    ("multipart/form-data; boundary=" + "b" * 300, body(FILE)),
    (CT, body(FILE, FILE, FILE, FILE, FILE)),  # more than 4 files
    (CT, body(*[b'Content-Disposition: form-data; name="f"\r\n\r\nv'] * 17)),  # more than 16 fields
    (CT, b"--XyZjunk\r\n" + FILE + b"\r\n--XyZ--"),  # text after the delimiter
])
def test_malformed_is_refused(ctype, raw):
    with pytest.raises(MultipartError):
        parse(ctype, raw)
