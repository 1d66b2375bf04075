"""Operations around the v2 route: Prometheus metrics, the request id, health
probes, the OpenAPI document and /docs, and the demo page's static files."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from facematch import web
from tests.api.conftest import PATH
from tests.conftest import jpeg


def metric_samples(client) -> dict[tuple[str, frozenset], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def files(a, b):
    return {"img1": ("a.jpg", jpeg(a)), "img2": ("b.jpg", jpeg(b))}


def test_metrics_count_requests_stages_and_quota_rejections(client, store, astronaut, astronaut_selfie, no_face):
    info, secret = store.create_key(quota=2)
    auth = (info.api_key, secret)
    assert client.post(f"{PATH}?type1=portrait&format_type=file", auth=auth,
                       files=files(astronaut, astronaut_selfie)).json()["errorCode"] == "0"
    assert client.post(f"{PATH}?type1=portrait&format_type=file", auth=auth,
                       files=files(astronaut, no_face)).json()["errorCode"] == "3"
    assert client.post(f"{PATH}?format_type=file", auth=(info.api_key, "wrong"),
                       files=files(astronaut, astronaut)).json()["errorCode"] == "5"
    assert client.post(f"{PATH}?type1=portrait&format_type=base64", auth=auth,
                       json={"img1": "", "img2": ""}).json()["errorCode"] == "1"
    assert client.post(f"{PATH}?type1=portrait&format_type=file", auth=auth,
                       files=files(astronaut, astronaut_selfie)).json()["errorCode"] == "0"
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=auth, files=files(astronaut, astronaut_selfie))
    assert r.json()["errorCode"] == "4"  # quota 2 used up

    m = metric_samples(client)
    total = "facematch_requests_total"
    assert value(m, total, mode="file", error_code="0", invalid_code="0", status="200") == 2
    assert value(m, total, mode="file", error_code="3", invalid_code="5", status="422") == 1
    assert value(m, total, mode="file", error_code="5", invalid_code="none", status="401") == 1
    assert value(m, total, mode="base64", error_code="1", invalid_code="none", status="400") == 1
    assert value(m, total, mode="file", error_code="4", invalid_code="none", status="429") == 1
    assert value(m, "facematch_quota_rejections_total") == 1
    assert value(m, "facematch_request_duration_seconds_count", error_code="0") == 2
    assert value(m, "facematch_request_duration_seconds_count", error_code="5") == 1
    stages = {dict(labels)["stage"] for (name, labels) in m if name == "facematch_stage_duration_seconds_count"}
    assert {"img1.decode", "img1.detect", "img1.embed", "img2.decode", "img2.detect", "img2.embed"} <= stages
    assert value(m, "facematch_stage_duration_seconds_count", stage="img2.embed") == 2
    assert value(m, "facematch_admitted_requests") == 0
    assert any(name.startswith("process_") for name, _ in m)


def test_metrics_are_per_app(make_client, key, astronaut, astronaut_selfie):
    a, b = make_client(), make_client()
    a.post(f"{PATH}?type1=portrait&format_type=file", auth=key, files=files(astronaut, astronaut_selfie))
    assert value(metric_samples(a), "facematch_requests_total", mode="file", error_code="0", invalid_code="0",
                 status="200") == 1
    assert value(metric_samples(b), "facematch_requests_total", mode="file", error_code="0", invalid_code="0",
                 status="200") == 0


def test_metrics_status_is_the_real_one_under_legacy_200(make_client, key):
    c = make_client(legacy_http_200=True)
    r = c.get(f"{PATH}?img1=x&img2=y&format_type=url", auth=(key[0], "wrong"))
    assert r.status_code == 200 and r.json()["errorCode"] == "5"
    assert value(metric_samples(c), "facematch_requests_total", mode="url", error_code="5", invalid_code="none",
                 status="401") == 1


def test_request_id_header_on_every_v2_response(client, key, astronaut, astronaut_selfie, caplog):
    caplog.set_level(logging.INFO, logger="facematch.api")
    ok = client.post(f"{PATH}?format_type=file", auth=key, files=files(astronaut, astronaut_selfie))
    bad = client.post(f"{PATH}?format_type=file", auth=(key[0], "nope"), files=files(astronaut, astronaut))
    wrong_mode = client.post(f"{PATH}?format_type=base64", auth=key, files=files(astronaut, astronaut))
    ids = []
    for r in (ok, bad, wrong_mode):
        rid = r.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        assert r.json()["data"]["request_id"] == rid
        assert r.headers["Cache-Control"] == "no-store"  # face crops: kept by no cache on the way
        ids.append(rid)
    assert len(set(ids)) == 3
    logged = {rec.request_id for rec in caplog.records if rec.getMessage() == "request"}
    assert set(ids) <= logged  # the same id is in the structured log line


def test_health_probes(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


# --- OpenAPI -------------------------------------------------------------------

@pytest.fixture
def spec(client) -> dict:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_openapi_is_valid(spec):
    from openapi_spec_validator import validate

    validate(spec)


def test_openapi_describes_the_three_modes(spec):
    item = spec["paths"][PATH]
    assert set(item) == {"get", "post"}
    get, post = item["get"], item["post"]
    assert get["operationId"] != post["operationId"]
    assert get["security"] == post["security"] == [{"basicAuth": []}]
    assert spec["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http", "scheme": "basic", "description": "user = api_key, password = api_secret"}

    # 1. URLs: GET with query parameters, no body.
    params = {p["name"]: p for p in get["parameters"]}
    assert set(params) == {"img1", "img2", "type1", "format_type"}
    assert all(p["in"] == "query" for p in params.values())
    assert params["img1"]["required"] and params["img2"]["required"]
    assert params["type1"]["schema"]["enum"] == ["card", "portrait", "chip"]
    assert params["format_type"]["schema"]["enum"] == ["url"]
    assert "requestBody" not in get

    # 2. and 3.: POST multipart files or a JSON body of base64 strings.
    params = {p["name"]: p for p in post["parameters"]}
    assert set(params) == {"type1", "format_type"}
    assert params["format_type"]["schema"]["enum"] == ["file", "base64"]
    content = post["requestBody"]["content"]
    assert post["requestBody"]["required"] is True
    assert set(content) == {"multipart/form-data", "application/json"}
    schemas = spec["components"]["schemas"]
    files_schema = schemas[content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {k: v["format"] for k, v in files_schema["properties"].items()} == {
        "img1": "binary", "img2": "binary", "sod": "binary", "dg1": "binary", "dg13": "binary", "dg14": "binary",
        "dg15": "binary"}  # sod and dg*: the chip's data, with type1=chip (docs/chip.md)
    b64_schema = schemas[content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(b64_schema["required"]) == {"img1", "img2"}
    assert set(content["application/json"]["examples"]["plain"]["value"]) == {"img1", "img2"}


def test_openapi_responses_and_examples(spec):
    item = spec["paths"][PATH]
    assert set(item["get"]["responses"]) == {"200", "400", "401", "422", "429", "500", "503"}
    assert set(item["post"]["responses"]) == {"200", "400", "401", "413", "422", "429", "500", "503"}
    envelope = spec["components"]["schemas"]["Envelope"]
    assert set(envelope["required"]) == {"data", "errorCode", "errorMessage"}
    data = spec["components"]["schemas"]["MatchData"]["properties"]
    for name in ("matching", "face1", "face2", "face1_score", "face2_score", "invalidCode", "invalidMessage", "match",
                 "warnings", "face1_box", "distance", "calibration", "request_id"):
        assert name in data
    seen_codes = set()
    for op in item.values():
        for status, resp in op["responses"].items():
            media = resp["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Envelope"}
            assert media["examples"], status
            assert "X-Request-ID" in resp["headers"]
            for ex in media["examples"].values():
                seen_codes.add(ex["value"]["errorCode"])
    assert {"0", "1", "2", "3", "4", "5", "6", "503"} <= seen_codes
    assert "WWW-Authenticate" in item["post"]["responses"]["401"]["headers"]


def test_docs_page_loads_nothing_from_elsewhere(client):
    """Swagger UI comes from the service itself: a bank's network often has
    no route to a CDN. FastAPI's ReDoc page, which would, is off."""
    assert client.get("/redoc").status_code == 404
    r = client.get("/docs")
    assert r.status_code == 200 and "openapi.json" in r.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and not [a for a in assets if "//" in a]
    for asset in assets:
        got = client.get("/" + asset)
        assert got.status_code == 200 and len(got.content) > 1000, asset
        assert got.headers["x-content-type-options"] == "nosniff"


def test_docs_serves_only_its_own_files(client):
    for name in ("../app.py", "core.py", "..%2F__init__.py", "nothing.js"):
        assert client.get(f"/docs/{name}").status_code == 404


# --- the demo page's files -----------------------------------------------------------

def test_root_and_demo_redirect_to_the_page(client):
    for path in ("/", "/demo"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "demo/"
    r = client.get("/")
    assert str(r.url).endswith("/demo/") and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_demo_files_are_served_and_self_contained(client):
    for name in ("app.js", "style.css", "index.html"):
        r = client.get(f"/demo/{name}")
        assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
        # No CDN, no external font or script: everything comes from this service.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", r.text), name
        assert not re.search(r"""url\(\s*["']?(https?:)?//""", r.text), name
    js = client.get("/demo/app.js").text
    assert '"../api/v2/ekyc/face_matching"' in js and "format_type=file" in js
    assert client.get("/demo/../app.py").status_code == 404
    assert client.get("/demo/__init__.py").status_code == 404
    assert set(web.FILES) >= {"", "app.js", "style.css"}


def test_demo_translates_every_code():
    """The page's Vietnamese messages cover every errorCode and invalidCode of the contract."""
    from facematch.types import ErrorCode, InvalidCode

    js = (web.WEB_DIR / "app.js").read_text(encoding="utf-8")
    vi = js[js.index("  vi: {"):]

    def table(name: str) -> dict:
        body = vi[vi.index(f"{name}: {{") + len(name) + 2:]
        body = body[:body.index("}") + 1]
        return json.loads(body.replace(",\n      }", "\n      }"))

    assert {str(int(c)) for c in ErrorCode if c < 100} <= set(table("errors"))
    assert {str(int(c)) for c in InvalidCode} == set(table("invalids"))
