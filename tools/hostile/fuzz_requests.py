"""Hypothesis strategies for whole requests to ``/api/v2/ekyc/face_matching``
(method, query, headers, body), and the oracle every answer must satisfy.

Shared by ``tests/security/test_fuzz.py`` (a short, derandomised run) and
``benchmarks/fuzz.py`` (>= 10,000 requests). Requests are built from seeds
(valid, hostile and malformed images; SSRF URLs; envelopes of every input
mode) and then mutated, so that most of them get past authentication and the
mode checks into the readers and decoders.
"""

from __future__ import annotations

import base64
import io
import json
import string
from dataclasses import dataclass, field

import httpx
import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tools.hostile.samples import encode, malformed_images
from tools.hostile.ssrf_cases import BLOCKED_URLS

PATH = "/api/v2/ekyc/face_matching"
KNOWN_CODES = {"0", "1", "2", "3", "4", "5", "6", "429"}
HEADER_CHARS = string.ascii_letters + string.digits + string.punctuation + " "
STATUS_OF = {"0": {200}, "1": {400, 413}, "2": {400}, "3": {422}, "4": {429}, "5": {401}, "6": {400}, "429": {429}}


@dataclass
class FuzzRequest:
    method: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None = None
    files: list | None = field(default=None)

    def send(self, client):
        """The response, or None when the client library refuses to send
        what was generated (a header it cannot encode, for instance)."""
        try:
            return client.request(self.method, PATH, params=self.query, headers=self.headers, content=self.body,
                                  files=self.files)
        except (httpx.LocalProtocolError, UnicodeEncodeError, ValueError, TypeError):
            return None


def seed_images(face: np.ndarray) -> list[bytes]:
    """Image files to start from: hostile ones, small valid ones without a
    face, and one small face (rare, it is the slow path)."""
    rng = np.random.default_rng(11)
    noise = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    seeds = [data for data, _ in malformed_images(face).values() if len(data) < 400_000]
    seeds += [encode(noise, fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")]
    seeds += [encode(Image.fromarray(face), "JPEG", quality=85)]
    return seeds


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    def apply(args) -> bytes:
        data, edits, cut, insert = args
        out = bytearray(data)
        for pos, val in edits:
            if out:
                out[pos % len(out)] = val
        if cut is not None and out:
            out = out[: cut % (len(out) + 1)]
        if insert:
            at = len(out) // 2
            out[at:at] = insert
        return bytes(out)

    return st.one_of(
        st.sampled_from(seeds),
        st.tuples(st.sampled_from(seeds), st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), max_size=12),
                  st.none() | st.integers(0, 10**7), st.binary(max_size=64)).map(apply),
        st.binary(max_size=2048),
    )


def b64_texts(images: st.SearchStrategy[bytes]) -> st.SearchStrategy:
    def wrap(args):
        data, style = args
        text = base64.b64encode(data).decode()
        return {
            "plain": text,
            "lines": base64.encodebytes(data).decode(),
            "dataurl": "data:image/jpeg;base64," + text,
            "urlsafe": base64.urlsafe_b64encode(data).decode().rstrip("="),
            "broken": text[: len(text) // 2] + "!*" + text[len(text) // 2:],
        }[style]

    junk = st.one_of(st.text(max_size=200), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans(),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5),
                                                                          max_size=2))
    return st.one_of(st.tuples(images, st.sampled_from(["plain", "lines", "dataurl", "urlsafe", "broken"])).map(wrap),
                     junk)


URL_HOSTS = ["cdn.example", "img.example", "127.0.0.1", "[::1]", "169.254.169.254", "10.0.0.1", "internal.example",
             "rebind.example", "2130706433", "0x7f.1", "[::ffff:10.0.0.1]", "localhost", "xn--n3h.example"]
URL_PATHS = ["/face.jpg", "/blank.png", "/redirect", "/html", "/huge", "/missing", "/", "/%00", "/a?b=c#d"]


def urls() -> st.SearchStrategy[str]:
    built = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
                      st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher", ""]),
                      st.sampled_from(URL_HOSTS), st.sampled_from(["", ":80", ":8080", ":0", ":99999", ":-1"]),
                      st.sampled_from(URL_PATHS))
    return st.one_of(built, st.sampled_from([u for _, u in BLOCKED_URLS]),
                     st.text(alphabet=string.printable, max_size=120))


def json_values() -> st.SearchStrategy:
    return st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                         max_size=4), max_leaves=12)


def requests(images: st.SearchStrategy[bytes], key: tuple[str, str]) -> st.SearchStrategy[FuzzRequest]:
    good_auth = "Basic " + base64.b64encode(f"{key[0]}:{key[1]}".encode()).decode()
    bad_auth = st.one_of(
        st.builds(lambda s: "Basic " + base64.b64encode(f"{key[0]}:{s}".encode()).decode(), st.text(max_size=40)),
        st.builds(lambda b: "Basic " + base64.b64encode(b).decode(), st.binary(max_size=60)),
        st.text(alphabet=HEADER_CHARS, max_size=80), st.none())
    type1 = st.integers(0, 9).flatmap(lambda n: st.sampled_from(["card", "portrait", "", "CARD", " portrait "])
                                      if n < 8 else st.sampled_from(["passport", "card\x00", "portrait,card"])
                                      | st.text(max_size=12))
    fmt = st.sampled_from(["url", "file", "base64", "", "FILE", "jpeg"]) | st.text(max_size=8)

    @st.composite
    def build(draw) -> FuzzRequest:
        kind = ["url", "file", "base64", "raw"][draw(st.integers(0, 9)) % 3 if draw(st.integers(0, 9)) else 3]
        query: list[tuple[str, str]] = []
        if draw(st.booleans()) or kind != "raw":
            query.append(("type1", draw(type1)))
        if draw(st.integers(0, 9)) > 0:
            query.append(("format_type", kind if kind != "raw" and draw(st.integers(0, 5)) < 5 else draw(fmt)))
        headers: dict[str, str] = {}
        a = good_auth if draw(st.integers(0, 9)) < 7 else draw(bad_auth)
        if a is not None:
            headers["authorization"] = a
        if kind == "url":
            for name in ("img1", "img2"):
                for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
                    query.append((name, draw(urls())))
            return FuzzRequest(draw(st.sampled_from(["GET", "GET", "GET", "POST"])), query, headers)
        if kind == "file":
            names = draw(st.sampled_from([["img1", "img2"]] * 4 + [["img1"], ["img2", "img1"], ["img1", "img1", "img2"],
                                                                   ["img1", "x", "img2"], []]))
            files = [(n, (draw(st.sampled_from(["a.jpg", "", "../x", "a\x00.png"])), draw(images),
                          draw(st.sampled_from(["image/jpeg", "text/plain", "application/octet-stream"]))))
                     for n in names]
            if draw(st.integers(0, 4)) == 4:  # hand-made, possibly broken multipart
                body = b"--B\r\nContent-Disposition: form-data; name=\"img1\"; filename=\"a\"\r\n\r\n" + draw(images)
                if draw(st.booleans()):
                    body += b"\r\n--B--\r\n"
                headers["content-type"] = draw(st.sampled_from([
                    "multipart/form-data; boundary=B", "multipart/form-data", "multipart/form-data; boundary=C"]))
                return FuzzRequest("POST", query, headers, body=body)
            return FuzzRequest("POST", query, headers, files=files or [("other", ("x", b"x"))])
        if kind == "base64":
            shape = draw(st.integers(0, 5))
            if shape == 0:
                doc = draw(json_values())
            else:
                doc = {"img1": draw(b64_texts(images)), "img2": draw(b64_texts(images))}
                if shape == 1:
                    doc.pop(draw(st.sampled_from(["img1", "img2"])))
            try:
                body = json.dumps(doc).encode()
            except ValueError:
                body = b"{}"
            if draw(st.integers(0, 6)) == 6:
                body = body[: draw(st.integers(0, len(body)))]
            headers["content-type"] = draw(st.sampled_from(
                ["application/json"] * 4 + ["application/json; charset=latin-1", "text/json", ""]))
            return FuzzRequest("POST", query, headers, body=body)
        headers["content-type"] = draw(st.text(alphabet=HEADER_CHARS, max_size=40))
        return FuzzRequest(draw(st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH"])), query, headers,
                           body=draw(st.binary(max_size=4096)))

    return build()


def check_response(r) -> str | None:
    """None when the answer is acceptable, else what is wrong with it."""
    if r.status_code >= 500:
        return f"HTTP {r.status_code}"
    text = r.text
    if "Traceback" in text or 'File "' in text:
        return "traceback in body"
    if r.status_code in (404, 405):  # routing, answered by the framework
        return None
    try:
        body = r.json()
    except ValueError:
        return "body is not JSON"
    if set(body) != {"data", "errorCode", "errorMessage"}:
        return f"not the envelope: {sorted(body)[:5]}"
    code = body["errorCode"]
    if code not in KNOWN_CODES:
        return f"unknown errorCode {code}"
    if r.status_code not in STATUS_OF[code]:
        return f"errorCode {code} with HTTP {r.status_code}"
    if code in ("429",) and "retry-after" not in r.headers:
        return "429 without Retry-After"
    if not all(isinstance(body["data"].get(k), str) for k in ("matching", "match", "invalidCode", "invalidMessage")):
        return "contract field not a string"
    return None


def fuzz_internet_routes(face_jpeg: bytes, blank_png: bytes) -> dict:
    import httpx

    def huge(_r):
        async def gen():
            for _ in range(200):
                yield b"\x00" * 65536
        return httpx.Response(200, content=gen(), headers={"content-type": "image/jpeg"})

    return {
        "/face.jpg": lambda r: httpx.Response(200, content=face_jpeg, headers={"content-type": "image/jpeg"}),
        "/blank.png": lambda r: httpx.Response(200, content=blank_png, headers={"content-type": "image/png"}),
        "/redirect": lambda r: httpx.Response(302, headers={"location": "http://127.0.0.1/face.jpg"}),
        "/html": lambda r: httpx.Response(200, content=b"<html/>", headers={"content-type": "text/html"}),
        "/huge": huge,
    }


def blank_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 200, 200)).save(buf, "PNG")
    return buf.getvalue()
