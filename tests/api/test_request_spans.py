"""The request log line says where a request's time went (per-span
milliseconds) and carries no picture or base64 of one."""

from __future__ import annotations

import base64
import json
import logging

from facematch.logs import JsonFormatter
from tests.api.conftest import PATH
from tests.conftest import jpeg


def request_lines(caplog) -> list[dict]:
    fmt = JsonFormatter()
    return [json.loads(fmt.format(rec)) for rec in caplog.records if rec.getMessage() == "request"]


def test_spans_of_a_match_in_both_modes(client, key, astronaut, astronaut_selfie, caplog):
    caplog.set_level(logging.INFO, logger="facematch.api")
    a, b = jpeg(astronaut), jpeg(astronaut_selfie)
    r1 = client.post(f"{PATH}?format_type=file", auth=key, files={"img1": ("a.jpg", a), "img2": ("b.jpg", b)})
    r2 = client.post(f"{PATH}?format_type=base64", auth=key,
                     json={"img1": base64.encodebytes(a).decode(), "img2": base64.encodebytes(b).decode()})
    assert r1.json()["errorCode"] == r2.json()["errorCode"] == "0"
    lines = request_lines(caplog)
    assert [line["request_id"] for line in lines] == [r1.headers["X-Request-ID"], r2.headers["X-Request-ID"]]
    for line in lines:
        spans = line["spans"]
        assert set(spans) == {"auth", "read", "core", "match", "consume", "envelope", "json"}
        assert all(isinstance(v, float) and v >= 0 for v in spans.values())
        assert spans["core"] <= spans["match"] <= line["ms"]
        assert line["key"] == key[0] and line["reason"] is None
        # the decision, as answered: an audit can say why a customer was accepted or refused
        data = (r1 if line["request_id"] == r1.headers["X-Request-ID"] else r2).json()["data"]
        assert (line["match"], line["matching"]) == (data["match"], data["matching"])
        assert line["warnings"] == [f"{w['image']}:{w['check']}" for w in data["warnings"]]
        text = json.dumps(line)
        assert len(text) < 2000  # codes and numbers only
        for image in (a, b):
            assert base64.b64encode(image[:48]).decode()[:40] not in text


def test_a_refused_request_logs_the_spans_it_reached(client, key, astronaut, caplog):
    caplog.set_level(logging.INFO, logger="facematch.api")
    r = client.post(f"{PATH}?format_type=base64", auth=key, json={"img1": "@@@", "img2": "@@@"})
    assert r.json()["errorCode"] == "1"
    bad = client.post(f"{PATH}?format_type=file", auth=(key[0], "wrong"),
                      files={"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut))})
    assert bad.json()["errorCode"] == "5"
    first, second = request_lines(caplog)
    assert set(first["spans"]) == {"auth", "json"} and first["errorCode"] == "1"
    assert set(second["spans"]) == {"json"} and second["errorCode"] == "5"
    # who sent it and why it failed: the key once authenticated, never the one a failed attempt named
    assert first["key"] == key[0] and first["reason"] == "invalid_base64"
    assert first["match"] is None and first["matching"] is None and first["warnings"] == []
    assert second["key"] is None and second["reason"] == "bad_credentials"


def test_the_clients_own_request_id_is_logged_beside_the_services(client, key, astronaut, caplog):
    """A bank finds its transaction in the service's log by its own id (X-Request-ID or X-Correlation-ID);
    the answer keeps the service's id, and a header that is not a plain id is not logged."""
    caplog.set_level(logging.INFO, logger="facematch.api")
    sent = [b"bank-txn:2026-12-07.0001", b"x" * 65, b"a b", b"<script>", "evil\u00e9".encode()]
    for value in sent:
        r = client.post(f"{PATH}?format_type=base64", auth=key, json={"img1": "@@@", "img2": "@@@"},
                        headers={b"X-Request-ID": value})
        assert r.headers["X-Request-ID"] != value and len(r.headers["X-Request-ID"]) == 32
    r = client.post(f"{PATH}?format_type=base64", auth=key, json={"img1": "@@@", "img2": "@@@"},
                    headers={"X-Correlation-ID": "corr-42"})
    logged = [line["client_request_id"] for line in request_lines(caplog)]
    assert logged == ["bank-txn:2026-12-07.0001", None, None, None, None, "corr-42"]
