"""Secrets and biometric data: secrets hashed at rest and compared in constant
time; after a run of a real ``facematch serve`` (every input mode, successes
and failures), neither its log nor its data directory nor its temporary
directory holds an image, a base64 string, a face crop, an embedding, a URL
token or a secret."""

from __future__ import annotations

import base64
import hmac
import http.server
import json
import re
import sqlite3
import statistics
import threading
import time

import cv2
import httpx
import numpy as np
import pytest

from facematch.store import open_store
from facematch.store import secrets as store_secrets
from tests.conftest import jpeg
from tools.service_proc import Service, free_port, serve_command


def test_verify_secret_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(store_secrets.hmac, "compare_digest", lambda a, b: calls.append((len(a), len(b))) or real(a, b))
    stored = store_secrets.hash_secret("correct horse battery staple")
    assert store_secrets.verify_secret("correct horse battery staple", stored)
    assert not store_secrets.verify_secret("correct horse battery stapl", stored)
    assert not store_secrets.verify_secret("anything", None)  # unknown key: compared against a dummy hash
    assert calls == [(32, 32)] * 3


def test_unknown_key_costs_as_much_as_a_wrong_secret(tmp_path):
    """No timing oracle for which keys exist: both run scrypt."""
    store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
    info, _ = store.create_key(quota=None)
    stored = store.secret_hash(info.api_key)

    def median_ms(fn) -> float:
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    wrong = median_ms(lambda: store_secrets.verify_secret("wrong", stored))
    unknown = median_ms(lambda: store_secrets.verify_secret("wrong", store.secret_hash("fm_nobody")))
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)
    assert wrong > 5  # a real KDF, not a plain hash


class _Images(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "image/jpeg")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def windows(data: bytes | str, n: int = 4, size: int = 40) -> list:
    """A few slices from the middle of ``data`` (the start of every JPEG is alike)."""
    step = max(1, (len(data) - 2 * size) // (n + 1))
    return [data[size + i * step: size + i * step + size] for i in range(1, n + 1)]


FLOAT_RUN = re.compile(r"(-?\d+\.\d+(e-?\d+)?[,\s]+){16,}")


@pytest.mark.parametrize("processes", [1, 2])
def test_nothing_sensitive_in_logs_or_on_disk(tmp_path, astronaut, astronaut_selfie, no_face, processes):
    data_dir, tmp_dir = tmp_path / "data", tmp_path / "tmp"
    data_dir.mkdir()
    tmp_dir.mkdir()
    store = open_store(f"sqlite:///{data_dir / 'facematch.db'}")
    info, secret = store.create_key(quota=None, label="scan")
    auth = (info.api_key, secret)
    card, selfie = jpeg(cv2.resize(astronaut, (320, 320))), jpeg(cv2.resize(astronaut_selfie, (480, 360)))
    rng = np.random.default_rng(5)
    # > 1 MB, so starlette spools the upload to a temporary file (it must be gone afterwards)
    big = cv2.resize(astronaut_selfie, (1600, 1200))
    big = jpeg(np.clip(big.astype(np.int16) + rng.integers(-20, 20, big.shape), 0, 255).astype(np.uint8), quality=97)
    assert len(big) > 1_100_000
    blank = jpeg(no_face)

    _Images.body = card
    images_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=images_server.serve_forever, daemon=True).start()
    token = "URLTOKEN-" + "q7w8e9r0t1y2"
    url = f"http://127.0.0.1:{images_server.server_address[1]}/img/card.jpg?token={token}"
    wrong_secret = "WRONGSECRET-" + "z" * 20

    port = free_port()
    env = {"FACEMATCH_DATA_DIR": str(data_dir), "FACEMATCH_URL_ALLOWLIST": "127.0.0.1", "FACEMATCH_LOG_LEVEL": "DEBUG",
           "TMPDIR": str(tmp_dir)}
    responses = []
    try:
        command = serve_command(port) + (["--processes", str(processes)] if processes > 1 else [])
        with Service(command, port, env, tmp_path / "service.log").start(ready_workers=processes) as svc:
            u = svc.url
            responses += [
                httpx.post(f"{u}?type1=portrait&format_type=file", auth=auth, timeout=60,
                           files={"img1": ("a.jpg", card), "img2": ("b.jpg", selfie)}),
                httpx.post(f"{u}?type1=portrait&format_type=base64", auth=auth, timeout=60,
                           json={"img1": base64.encodebytes(card).decode(),
                                 "img2": "data:image/jpeg;base64," + base64.b64encode(big).decode()}),
                httpx.post(f"{u}?type1=portrait&format_type=file", auth=auth, timeout=60,
                           files={"img1": ("a.jpg", big), "img2": ("b.jpg", selfie)}),
                httpx.get(u, params={"img1": url, "img2": url, "type1": "portrait", "format_type": "url"},
                          auth=auth, timeout=60),
                httpx.get(u, params={"img1": f"http://10.0.0.1/x.jpg?token={token}", "img2": url,
                                     "format_type": "url"}, auth=auth, timeout=60),
                httpx.post(f"{u}?format_type=file", auth=auth, timeout=60,
                           files={"img1": ("a.jpg", card), "img2": ("b.jpg", blank)}),
                httpx.post(f"{u}?format_type=base64", auth=auth, json={"img1": "###", "img2": "x"}, timeout=60),
                httpx.post(f"{u}?format_type=file", auth=(info.api_key, wrong_secret), timeout=60,
                           files={"img1": ("a.jpg", card), "img2": ("b.jpg", selfie)}),
                httpx.post(f"{u}?format_type=file", auth=("fm_" + "0" * 24, wrong_secret), timeout=60,
                           files={"img1": ("a.jpg", card)}),
                httpx.post(f"{u}?format_type=base64", timeout=60, json={},
                           headers={"authorization": "Basic " + base64.b64encode(f"{wrong_secret}".encode()).decode()}),
            ]
    finally:
        images_server.shutdown()
        images_server.server_close()
    codes = [r.json()["errorCode"] for r in responses]
    assert codes == ["0", "0", "0", "0", "2", "3", "1", "5", "5", "5"], codes

    log = (tmp_path / "service.log").read_text()
    lines = [ln for ln in log.splitlines() if ln.startswith("{")]
    assert len([ln for ln in lines if '"msg": "request"' in ln]) == len(responses)
    for ln in lines:
        json.loads(ln)  # structured, one object per line

    files = {p.name: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    assert set(files) <= {"facematch.db", "facematch.db-wal", "facematch.db-shm"}, set(files)
    leftovers = [p for p in tmp_dir.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    with sqlite3.connect(data_dir / "facematch.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = [r[1] for r in db.execute("PRAGMA table_info(api_keys)")]
    assert tables == {"api_keys"}
    assert columns == ["api_key", "secret_hash", "label", "quota", "used", "revoked", "created_at"]

    secrets_ = [secret, wrong_secret, token, base64.b64encode(f"{info.api_key}:{secret}".encode()).decode()]
    crops = [r.json()["data"][k] for r in responses for k in ("face1", "face2") if r.json()["data"].get(k)]
    assert crops
    b64_texts = [base64.b64encode(img).decode() for img in (card, selfie, big, blank)] + crops
    raw_images = [card, selfie, big, blank] + [base64.b64decode(c) for c in crops]
    blobs = {"service.log": log.encode(), **files}
    for name, blob in blobs.items():
        text = blob.decode("latin-1")
        for s in secrets_:
            assert s not in text, f"a secret in {name}"
        for b64 in b64_texts:
            for w in windows(b64):
                assert w not in text, f"base64 image data in {name}"
            for w in windows(base64.encodebytes(b64.encode()).decode().replace("\n", "")):
                assert w not in text
        for raw in raw_images:
            for w in windows(raw):
                assert w not in blob, f"image bytes in {name}"
        assert not FLOAT_RUN.search(text), f"a run of numbers (embedding?) in {name}"
        assert "Traceback" not in text
    assert b"scrypt$" in files["facematch.db"] + files.get("facematch.db-wal", b"")
