"""The demo page end to end in headless Chromium (Debian's ``chromium``,
driven by Playwright): a real server on a loopback port with the real models,
two generated images uploaded through the page, the rendered result checked,
and screenshots saved in test-artifacts/.

Needs FACEMATCH_TEST_CHROMIUM (printed by ``scripts/services.sh``, which
installs the browser); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import uvicorn

from facematch.api.app import create_app
from facematch.settings import Settings
from facematch.store.sqlite import SqliteKeyStore
from facematch.types import InvalidCode
from tests.conftest import jpeg

CHROMIUM = os.environ.get("FACEMATCH_TEST_CHROMIUM", "")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # A generated camera (a test pattern) for the webcam button, permission granted.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="FACEMATCH_TEST_CHROMIUM is unset: eval \"$(scripts/services.sh)\" installs Debian's "
                         "chromium and sets it (scripts/test.sh does this)")


@pytest.fixture
def server(tmp_path, model_pool):
    """The real app under uvicorn in a thread, on a free loopback port."""
    yield from serve(tmp_path, model_pool)


def serve(tmp_path, model_pool, **settings):
    store = SqliteKeyStore(tmp_path / "keys.db")
    app = create_app(Settings(data_dir=tmp_path, **settings), store=store, pool=model_pool)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", store
    srv.should_exit = True
    thread.join(15)
    sock.close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US",
                                          permissions=["camera"])
            pg = context.new_page()
            pg.set_default_timeout(20_000)
            pg.problems = []  # console errors (CSP violations included) and uncaught exceptions
            pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: pg.problems.append(str(e)))
            yield pg
        finally:
            browser.close()


def submit_and_wait(page) -> dict:
    page.evaluate("document.getElementById('result').dataset.state = ''")
    page.click("#submit")
    page.wait_for_selector("#result[data-state=done]")
    return json.loads(page.text_content("#raw"))


def test_demo_page_shows_a_real_match(server, page, tmp_path, astronaut, astronaut_selfie):
    base, store = server
    info, secret = store.create_key(quota=10, label="browser")
    card, selfie = tmp_path / "card.jpg", tmp_path / "selfie.jpg"
    card.write_bytes(jpeg(astronaut))
    selfie.write_bytes(jpeg(astronaut_selfie))

    page.goto(base + "/")  # redirects to /demo/
    assert page.url == base + "/demo/"
    page.wait_for_selector("body[data-ready=true]")
    assert page.text_content("h1") == "Face matching demo"

    page.set_input_files("#file1", str(card))
    page.set_input_files("#file2", str(selfie))
    page.check("#type1-card")
    page.fill("#api-key", info.api_key)
    page.fill("#api-secret", secret)
    raw = submit_and_wait(page)

    # What the page shows is the public endpoint's answer.
    assert page.get_attribute("#status", "data-error-code") == "0"
    assert raw["errorCode"] == "0"
    matching = float(page.text_content("#matching"))
    assert matching > 75 and f"{matching:.2f}" == raw["data"]["matching"]
    assert page.get_attribute("#decision", "data-match") == "1"
    assert page.text_content("#decision") == "Same person (match = 1)"
    for n in (1, 2):
        assert page.is_visible(f"#face{n}")
        width = page.evaluate(f"document.getElementById('face{n}').naturalWidth")
        assert width > 20, f"face{n} crop not rendered"
    rows = page.locator("#warnings tbody tr")
    assert rows.count() == len(raw["data"]["warnings"])
    assert page.text_content("#meta").count(raw["data"]["request_id"]) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)

    # A portrait whose face crosses the left border: a warning, listed with its
    # message in English (the contract's text) and, after the toggle, in Vietnamese.
    at_margin = tmp_path / "margin.jpg"
    at_margin.write_bytes(jpeg(np.ascontiguousarray(astronaut[:, 178:])))
    page.set_input_files("#file2", str(at_margin))
    raw = submit_and_wait(page)
    warnings = raw["data"]["warnings"]
    assert any(w["code"] == "12" for w in warnings), warnings
    assert float(page.text_content("#matching")) > 75
    assert rows.count() == len(warnings)
    english = [rows.nth(i).locator("td.message").text_content() for i in range(rows.count())]
    assert english == [InvalidCode(int(w["code"])).message for w in warnings]
    assert page.get_attribute("#invalid", "data-invalid-code") == raw["data"]["invalidCode"]

    page.click("#lang-vi")
    assert page.get_attribute("html", "lang") == "vi"
    assert page.text_content("#decision") == "Cùng một người (match = 1)"
    vietnamese = [rows.nth(i).locator("td.message").text_content() for i in range(rows.count())]
    assert all(v and v != e for v, e in zip(vietnamese, english, strict=True))
    assert "Khuôn mặt trong ảnh chân dung quá sát mép ảnh" in vietnamese
    page.screenshot(path=str(ARTIFACTS / "demo-warning-vi.png"), full_page=True)

    # Wrong credentials: the envelope's error, in the chosen language.
    page.fill("#api-secret", secret + "x")
    raw = submit_and_wait(page)
    assert raw["errorCode"] == "5"
    assert page.get_attribute("#status", "data-error-code") == "5"
    assert "Sai api_key hoặc api_secret" in page.text_content("#status")
    assert page.is_hidden("#decision") and page.is_hidden("#face1")
    page.click("#lang-en")
    assert "Incorrect api_key or api_secret" in page.text_content("#status")

    # The webcam button: a photo from the (fake) camera becomes image 2.
    page.click("button.camera[data-slot='2']")
    page.wait_for_selector("#camera-capture:enabled")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    page.click("#camera-capture")
    page.wait_for_function("() => document.getElementById('name2').textContent === 'webcam.jpg'")
    assert page.get_attribute("#preview2", "src").startswith("blob:")
    assert not page.evaluate("document.getElementById('camera-dialog').open")

    # Drag and drop: a file dropped on the first slot becomes image 1.
    transfer = page.evaluate_handle("""async () => {
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 64;
        const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
        const dt = new DataTransfer();
        dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
        return dt;
    }""")
    page.dispatch_event("#drop1", "drop", {"dataTransfer": transfer})
    assert page.text_content("#name1") == "dropped.png"

    assert store.get(info.api_key).used == 2  # the two successful requests, like any client
    assert [p for p in page.problems if "401" not in p] == []  # the 401 is logged by Chromium itself


def test_swagger_ui_renders_without_the_internet(server, page):
    """Swagger UI draws the v2 operations from the service's own files:
    every request the browser makes stays on the service's origin."""
    url, _ = server
    elsewhere = []

    def only_here(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(url + "/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v2/ekyc/face_matching" in p for p in paths)
    assert elsewhere == [] and page.problems == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"))


def test_demo_page_sends_a_chip_dg2_with_its_sod(tmp_path, model_pool, page, astronaut_selfie):
    """type1=chip: the DG2 and the chip's EF.SOD go up together; the page shows the verification's status."""
    from tests.support import pki
    from tests.unit.test_dg2 import dg2, face_image, face_record, jpeg2000, portrait_image

    issuer = pki.make_pki("ec")
    (tmp_path / "csca.pem").write_bytes(issuer.csca_pem())
    dg2_bytes = dg2(face_record(face_image(jpeg2000(portrait_image()))))
    (tmp_path / "dg2.bin").write_bytes(dg2_bytes)
    (tmp_path / "sod.bin").write_bytes(pki.make_sod({2: dg2_bytes}, issuer))
    (tmp_path / "selfie.jpg").write_bytes(jpeg(astronaut_selfie))
    servers = serve(tmp_path, model_pool, chip={"csca": str(tmp_path / "csca.pem")})
    base, store = next(servers)
    try:
        info, secret = store.create_key(quota=10, label="browser")
        page.goto(base + "/demo/")
        page.wait_for_selector("body[data-ready=true]")
        assert not page.is_visible("#sod-file")
        page.check("#type1-chip")
        assert page.is_visible("#sod-file")
        page.set_input_files("#file1", str(tmp_path / "dg2.bin"))
        page.set_input_files("#file2", str(tmp_path / "selfie.jpg"))
        page.set_input_files("#sod-file", str(tmp_path / "sod.bin"))
        page.fill("#api-key", info.api_key)
        page.fill("#api-secret", secret)
        raw = submit_and_wait(page)
        assert raw["errorCode"] == "0" and raw["data"]["chip"]["status"] == "valid", raw["data"].get("chip")
        assert "valid" in page.text_content("#meta")
    finally:
        next(servers, None)
