"""The ``facematch`` command as scripts outside the project drive it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.api.conftest import store, web  # noqa: F401 - fixtures
from tests.conftest import jpeg

FACEMATCH = [sys.executable, "-m", "facematch.cli"]


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*FACEMATCH, *args], capture_output=True, text=True, timeout=120, env=env)


@contextlib.contextmanager
def serving(port: int, data_dir: Path, **env: str):
    """``facematch serve`` as a user starts it; yields (process, what it
    printed until uvicorn was up or the process ended); stopped with SIGINT."""
    proc = subprocess.Popen([*FACEMATCH, "serve", "--port", str(port), "--data-dir", str(data_dir)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "FACEMATCH_WORKERS": "1", **env})
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            lines.append(proc.stderr.readline())
            if "Uvicorn running" in lines[-1] or proc.poll() is not None:
                break
        yield proc, "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_keys_commands(tmp_path):
    d = str(tmp_path)
    created = json.loads(run("keys", "create", "--quota", "5", "--label", "bank-a", "--json", "--data-dir", d).stdout)
    assert created["api_key"].startswith("fm_") and len(created["api_secret"]) > 30 and created["quota"] == 5
    listed = json.loads(run("keys", "list", "--json", "--data-dir", d).stdout)
    assert [k["api_key"] for k in listed] == [created["api_key"]]
    assert "api_secret" not in listed[0] and created["api_secret"] not in json.dumps(listed)
    assert run("keys", "quota", created["api_key"], "unlimited", "--data-dir", d).returncode == 0
    rotated = json.loads(run("keys", "rotate", created["api_key"], "--json", "--data-dir", d).stdout)
    assert rotated["api_key"] == created["api_key"] and len(rotated["api_secret"]) > 30
    assert rotated["api_secret"] != created["api_secret"]
    assert run("keys", "rotate", "fm_missing", "--data-dir", d).returncode == 1
    assert run("keys", "revoke", created["api_key"], "--data-dir", d).returncode == 0
    listed = json.loads(run("keys", "list", "--json", "--data-dir", d).stdout)
    assert listed[0]["quota"] is None and listed[0]["revoked"] is True
    assert run("keys", "revoke", "fm_missing", "--data-dir", d).returncode == 1
    assert run("keys", "create", "--quota", "-3", "--data-dir", d).returncode == 2


def test_match_command_exit_codes(tmp_path, astronaut, astronaut_selfie, no_face):
    a, b, n = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "n.jpg"
    a.write_bytes(jpeg(astronaut))
    b.write_bytes(jpeg(astronaut_selfie))
    n.write_bytes(jpeg(no_face))
    ok = run("match", str(a), str(b), "--type1", "portrait", "--json")
    assert ok.returncode == 0
    body = json.loads(ok.stdout)
    assert body["errorCode"] == "0" and body["data"]["match"] == "1"
    human = run("match", str(a), str(b), "--type1", "portrait")
    assert "same person" in human.stdout
    assert run("match", str(a), str(n)).returncode == 3
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    assert run("match", str(bad), str(a)).returncode == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_demo_key_and_answers(tmp_path, astronaut, astronaut_selfie):
    """The README's first command, minus the install: a real server process."""
    port = free_port()
    with serving(port, tmp_path) as (_, log):
        key = re.search(r"api_key\s+= (\S+)", log).group(1)
        secret = re.search(r"api_secret = (\S+)", log).group(1)
        url = f"http://127.0.0.1:{port}/api/v2/ekyc/face_matching"
        r = httpx.post(f"{url}?type1=portrait&format_type=file", auth=(key, secret), timeout=60,
                       files={"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut_selfie))})
        assert r.status_code == 200 and r.json()["errorCode"] == "0" and r.json()["data"]["match"] == "1"
        r = httpx.post(f"{url}?type1=portrait&format_type=file", auth=(key, "wrong"), timeout=60,
                       files={"img1": ("a.jpg", b"x"), "img2": ("b.jpg", b"y")})
        assert r.status_code == 401 and r.json()["errorCode"] == "5"
        # The secret is stored hashed, nowhere in the data directory in clear.
        for f in Path(tmp_path).rglob("*"):
            if f.is_file():
                assert secret.encode() not in f.read_bytes()
    # A second start reuses the key: no new demo key is printed.
    assert "api_secret" not in run("keys", "list", "--data-dir", str(tmp_path)).stdout


@pytest.mark.parametrize("limits", ["", '{"geometry.min_eye_distance_portrait": 400, "quality.min_sharpness": 0.9}'])
def test_match_command_agrees_with_the_http_api(tmp_path, astronaut, astronaut_selfie, store, model_pool, web,  # noqa: F811
                                                monkeypatch, limits):
    """`facematch match` and the API give the same result for the same two
    files, warnings included, under the same FACEMATCH_CHECK_LIMITS."""
    import httpx as _httpx
    from fastapi.testclient import TestClient

    from facematch.api.app import create_app
    from facematch.settings import Settings

    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.write_bytes(jpeg(astronaut))
    b.write_bytes(jpeg(astronaut_selfie))
    monkeypatch.setenv("FACEMATCH_CHECK_LIMITS", limits or "{}")
    cli = json.loads(run("match", str(a), str(b), "--type1", "portrait", "--json", env=dict(os.environ)).stdout)
    info, secret = store.create_key(quota=None)
    app = create_app(Settings(data_dir=tmp_path), store=store, pool=model_pool,
                     transport=_httpx.MockTransport(web.handler), resolver=web.resolve)
    with TestClient(app) as client:
        api = client.post("/api/v2/ekyc/face_matching?type1=portrait&format_type=file", auth=(info.api_key, secret),
                          files={"img1": ("a.jpg", a.read_bytes()), "img2": ("b.jpg", b.read_bytes())}).json()
    assert cli["errorCode"] == api["errorCode"] == "0"
    for field in ("matching", "match", "face1_score", "face2_score", "invalidCode", "invalidMessage", "distance",
                  "calibration", "network", "face1_box", "face2_box", "warnings"):
        assert cli["data"][field] == api["data"][field], field
    if limits:  # the overrides reach both: every face is now too small for them
        assert {w["check"] for w in cli["data"]["warnings"]} >= {"face_too_small"}


def test_serve_starts_with_the_database_down(tmp_path):
    """PostgreSQL unreachable at start: the service still starts, says it is
    not ready, and answers 503 (not a crash, not a traceback)."""
    port = free_port()
    with serving(port, tmp_path, FACEMATCH_DATABASE_URL="postgresql://fm:pw@127.0.0.1:9/none") as (proc, log):
        assert proc.poll() is None, log
        assert "database unreachable at start" in log
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 503
        r = httpx.post(f"{base}/api/v2/ekyc/face_matching?format_type=file", auth=("fm_" + "0" * 24, "x" * 20),
                       files={"img1": ("a.jpg", b"x"), "img2": ("b.jpg", b"y")}, timeout=30)
        assert r.status_code == 503 and r.json()["errorCode"] == "503" and "Retry-After" in r.headers


def test_pad_limit_command(tmp_path, astronaut_selfie, no_face):
    """``facematch pad-limit`` on genuine captures of one set-up (the astronaut selfie under other exposures
    and framings), a no-face photo and an unreadable file, with screen replays of the same as attacks."""
    import cv2

    from tools.synth.recapture import screen_replay

    genuine, attacks = tmp_path / "genuine", tmp_path / "attacks"
    genuine.mkdir()
    attacks.mkdir()
    for i in range(10):
        shifted = np.roll(astronaut_selfie, (i - 5) * 12, axis=1)
        lit = np.clip(shifted.astype(np.int16) + (i - 5) * 4, 0, 255).astype(np.uint8)
        (genuine / f"g{i}.jpg").write_bytes(jpeg(lit, quality=85 + i))
        if i < 3:
            (attacks / f"a{i}.jpg").write_bytes(jpeg(screen_replay(cv2.resize(lit, (960, 720)), 100 + i)))
    (genuine / "nobody.jpg").write_bytes(jpeg(no_face))
    (genuine / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "limit.json"
    done = run("pad-limit", str(genuine), "--bpcer", "0.5", "--attacks", str(attacks), "--out", str(out),
               "--workers", "1")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc == json.loads(out.read_text())
    g = doc["genuine"]
    assert (g["images"], g["unreadable"], g["no_face"], g["judged"] + g["too_small"]) == (12, 1, 1, 10)
    assert g["flagged_at_limit"] <= 0.5 * g["judged"]
    assert doc["attacks"]["images"] == 3 and 0 <= doc["attacks"]["missed_at_limit"] <= doc["attacks"]["judged"]
    assert f"{doc['limit']:.6f}" in doc["setting"] and doc["setting"] in done.stderr
    assert "g0.jpg" not in done.stdout + out.read_text()  # no file names
    # Too few genuine faces for the share asked: refused, nothing written.
    few = run("pad-limit", str(genuine), "--bpcer", "0.05", "--out", str(tmp_path / "none.json"))
    assert few.returncode == 2 and "needs at least 100" in few.stderr and not (tmp_path / "none.json").exists()
    assert run("pad-limit", str(genuine), "--bpcer", "1.5").returncode == 2


def test_checks_command(tmp_path, astronaut, no_face):
    """``facematch checks`` on a folder of card photos (two genuine, one greyscale copy, one without a face,
    one unreadable): per code, what the API would list and show; no file name unless ``--list`` asks."""
    from tools.synth import cards, icc

    folder = tmp_path / "cards"
    (folder / "sub").mkdir(parents=True)
    card, _ = cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0))
    (folder / "genuine0.jpg").write_bytes(jpeg(cards.photograph(card, np.random.default_rng(10))))
    p3 = icc.to_display_p3(cards.photograph(card, np.random.default_rng(11)))  # as an iPhone stores it
    (folder / "genuine1.jpg").write_bytes(icc.jpeg(p3, icc.display_p3_profile(), quality=90))
    copy = cards.photograph(cards.photocopy(card, np.random.default_rng(3)), np.random.default_rng(4))
    (folder / "sub" / "copy.jpg").write_bytes(jpeg(copy))
    Image.fromarray(no_face).save(folder / "nobody.gif")  # every format the service decodes is read
    (folder / "broken.jpg").write_bytes(b"not an image")
    out, listing = tmp_path / "summary.json", tmp_path / "list.csv"
    done = run("checks", str(folder), "--kind", "card", "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert (doc["images"], doc["unreadable"], doc["no_face"], doc["faces_found"]) == (5, 1, 1, 3)
    assert doc["codes"]["2"]["raised"]["count"] == doc["codes"]["2"]["shown"]["count"] == 1  # the copy
    assert doc["any_fraud_code"]["count"] == 1 and doc["any_fraud_code"]["of"] == 3
    assert doc["invalid_code"] == {"0": 2, "2": 1, "4": 1}  # the unreadable file is errorCode 1: no invalidCode
    assert "| 2 | 1/3 (33.3 %" in done.stdout
    assert doc["checks"]["photocopy"]["images"] == 1 and doc["checks"]["photocopy"]["limit"] == 5.0
    photos = doc["photos"]  # what the set is made of
    assert photos["formats"] == {"GIF": 1, "JPEG": 3} and photos["colour_converted"] == {"Display P3": 1}
    assert photos["jpeg_quality"] == [90, 90, 90, 90, 90] and photos["long_side_px"][-1] >= 640
    assert "converted to sRGB from Display P3 1" in done.stdout
    assert "genuine0" not in done.stdout + out.read_text() and "copy.jpg" not in out.read_text()  # no file names
    # With --list, which file raised what; --expect reads one code's recall.
    done = run("checks", str(folder), "--expect", "2", "--list", str(listing), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "| 2 (expected) | 1/3" in done.stdout
    rows = {r.split(",")[0]: r.split(",")[1:] for r in listing.read_text().splitlines()[1:]}
    assert rows["sub/copy.jpg"][:4] == ["1", "1", "2", "2"] and rows["sub/copy.jpg"][4] == "JPEG"
    assert rows["sub/copy.jpg"][7:] == ["90", ""] and rows["broken.jpg"] == ["0", "0", "", ""] + [""] * 5
    assert rows["genuine1.jpg"][-1] == "Display P3"
    assert rows["nobody.gif"][:3] == ["1", "0", "4"]
    # Refused: a code that is no warning, a folder without images.
    assert run("checks", str(folder), "--expect", "13").returncode == 2
    (tmp_path / "empty").mkdir()
    empty = run("checks", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no images" in empty.stderr
