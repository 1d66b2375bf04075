"""The v2 contract over HTTP: every input mode, every errorCode 0-6, the
envelope, HTTP statuses, and the legacy always-200 setting."""

from __future__ import annotations

import base64

import pytest

from facematch.types import ErrorCode, InvalidCode
from tests.api.conftest import PATH, PUBLIC_IP
from tests.conftest import jpeg

CONTRACT_FIELDS = {"matching", "face1", "face2", "face1_score", "face2_score", "invalidCode", "invalidMessage", "match"}


def assert_envelope(body: dict, error_code: int) -> None:
    assert set(body) == {"data", "errorCode", "errorMessage"}
    assert body["errorCode"] == str(error_code)
    assert body["errorMessage"] == ErrorCode(error_code).message
    assert set(body["data"]) >= CONTRACT_FIELDS
    for name in CONTRACT_FIELDS:
        assert isinstance(body["data"][name], str), name


def assert_match(body: dict, same: bool) -> None:
    assert_envelope(body, 0)
    d = body["data"]
    matching = float(d["matching"])
    assert d["matching"] == f"{matching:.2f}"
    if same:
        assert matching > 85 and d["match"] == "1"
    else:
        assert matching < 50 and d["match"] == "-1"
    for n in (1, 2):
        assert 0.5 <= float(d[f"face{n}_score"]) <= 1.0
        assert base64.b64decode(d[f"face{n}"])[:3] == b"\xff\xd8\xff"  # a JPEG
    assert d["invalidMessage"] == InvalidCode(int(d["invalidCode"])).message


def test_file_mode_same_person(client, key, astronaut, astronaut_selfie):
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key,
                    files={"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut_selfie))})
    assert r.status_code == 200
    assert_match(r.json(), same=True)
    assert r.headers["x-request-id"] == r.json()["data"]["request_id"]


def test_base64_mode_encodebytes_and_data_url(client, key, astronaut, cameraman):
    body = {"img1": base64.encodebytes(jpeg(astronaut)).decode(),  # newlines every 76 chars
            "img2": "data:image/jpeg;base64," + base64.b64encode(jpeg(cameraman)).decode()}
    assert "\n" in body["img1"]
    r = client.post(f"{PATH}?type1=portrait&format_type=base64", auth=key, json=body)
    assert r.status_code == 200
    assert_match(r.json(), same=False)


def test_url_mode(client, key, web):
    r = client.get(f"{PATH}?img1=http://cdn.example/card.jpg&img2=https://cdn.example/selfie.jpg"
                   "&type1=portrait&format_type=url", auth=key)
    assert r.status_code == 200, r.json()
    assert_match(r.json(), same=True)
    # The fetcher connected to the checked address, not the name.
    assert {req.url.host for req in web.requests} == {PUBLIC_IP}


def test_url_mode_with_signed_urls_written_in_unencoded(client, key, web):
    """The contract's reference client formats the URLs into the query string as they are
    (``"?img1=%s&img2=%s&type1=%s&format_type=%s" % (...)``): a signed URL's own parameters arrive as
    parameters of the request. They are joined back onto the URL they follow, as the client wrote it."""
    card = ("http://cdn.example/card.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261207"
            "&X-Amz-Signature=0f1e+2d")
    selfie = "https://cdn.example/selfie.jpg?token=abc&expires=1796700000"
    r = client.get(f"{PATH}?img1={card}&img2={selfie}&type1=portrait&format_type=url", auth=key)
    assert r.status_code == 200, r.json()
    assert_match(r.json(), same=True)
    asked = sorted(req.url.raw_path.decode() for req in web.requests)
    assert asked == [card.removeprefix("http://cdn.example"), selfie.removeprefix("https://cdn.example")]
    # Encoded, as requests' params= writes them, the same URLs are read the same way.
    web.requests.clear()
    r = client.get(PATH, params={"img1": card, "img2": selfie, "type1": "portrait", "format_type": "url"}, auth=key)
    assert r.json()["errorCode"] == "0"
    assert sorted(req.url.raw_path.decode() for req in web.requests) == asked


def test_type1_defaults_to_card(client, key, astronaut, astronaut_selfie):
    r = client.post(f"{PATH}?format_type=file", auth=key,
                    files={"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut_selfie))})
    assert r.json()["errorCode"] == "0"


@pytest.mark.parametrize("auth", [None, ("nokey", "nosecret"), "wrong-secret", "garbage-header"])
def test_bad_credentials_give_5(client, key, auth):
    headers = {}
    if auth == "wrong-secret":
        auth = (key[0], key[1] + "x")
    elif auth == "garbage-header":
        auth, headers = None, {"Authorization": "Basic !!!notbase64"}
    r = client.post(f"{PATH}?format_type=base64", auth=auth, headers=headers, json={"img1": "x", "img2": "y"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    assert_envelope(r.json(), 5)


def test_revoked_key_gives_5(client, key, store):
    store.revoke(key[0])
    r = client.post(f"{PATH}?format_type=base64", auth=key, json={"img1": "x", "img2": "y"})
    assert r.status_code == 401 and r.json()["errorCode"] == "5"


def test_a_rotated_secret_stops_working_at_once(client, key, store):
    """The old secret was just verified (so remembered by the service); after rotation it is refused on the
    very next request, the new one accepted, the quota and usage kept."""
    body = {"img1": "x", "img2": "y"}  # errorCode 1 after authentication: authenticated, nothing charged
    assert client.post(f"{PATH}?format_type=base64", auth=key, json=body).json()["errorCode"] == "1"
    before = store.get(key[0])
    new = store.rotate_secret(key[0])
    assert new and new != key[1]
    old = client.post(f"{PATH}?format_type=base64", auth=key, json=body)
    assert old.status_code == 401 and old.json()["errorCode"] == "5"
    assert client.post(f"{PATH}?format_type=base64", auth=(key[0], new), json=body).json()["errorCode"] == "1"
    after = store.get(key[0])
    assert (after.quota, after.used, after.revoked) == (before.quota, before.used, False)
    store.revoke(key[0])
    assert store.rotate_secret(key[0]) is None and store.rotate_secret("fm_missing") is None


@pytest.mark.parametrize("query, kind", [
    ("type1=card&format_type=base64", "file"),     # multipart sent, base64 declared
    ("type1=card&format_type=file", "json"),       # JSON sent, file declared
    ("type1=card&format_type=url", "json"),        # POST declared as url
    ("type1=card&format_type=jpeg", "json"),       # unknown format_type
    ("type1=passport&format_type=base64", "json"),  # unknown type1
    ("type1=card&format_type=file", "get"),        # GET declared as file
])
def test_format_mismatch_gives_6(client, key, astronaut, query, kind):
    if kind == "file":
        r = client.post(f"{PATH}?{query}", auth=key, files={"img1": ("a", jpeg(astronaut)), "img2": ("b", jpeg(astronaut))})
    elif kind == "json":
        r = client.post(f"{PATH}?{query}", auth=key, json={"img1": "aGVsbG8=", "img2": "aGVsbG8="})
    else:
        r = client.get(f"{PATH}?{query}&img1=http://a.example/card.jpg&img2=http://a.example/card.jpg", auth=key)
    assert r.status_code == 400
    assert_envelope(r.json(), 6)


@pytest.mark.parametrize("files", [
    {"img1": ("a.jpg", b"")},                                              # img2 missing, img1 empty
    {"img1": ("a.jpg", b"not an image"), "img2": ("b.jpg", b"neither")},   # undecodable
    {"img1": ("a.jpg", b""), "img2": ("b.jpg", b"\xff\xd8\xff")},            # empty part
])
def test_bad_upload_gives_1(client, key, files):
    r = client.post(f"{PATH}?type1=card&format_type=file", auth=key, files=files)
    assert r.status_code == 400
    assert_envelope(r.json(), 1)


def test_duplicate_field_gives_1(client, key, astronaut):
    img = jpeg(astronaut)
    r = client.post(f"{PATH}?format_type=file", auth=key,
                    files=[("img1", ("a", img)), ("img1", ("b", img)), ("img2", ("c", img))])
    assert r.json()["errorCode"] == "1"


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2]", b'{"img1": "###", "img2": "###"}', b'{"img1": 5, "img2": null}', b'{"img1": "aGVsbG8="}',
])
def test_bad_base64_body_gives_1(client, key, body):
    r = client.post(f"{PATH}?format_type=base64", auth=key, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_envelope(r.json(), 1)


@pytest.mark.parametrize("img1", [
    "http://127.0.0.1/card.jpg", "http://10.0.0.8/card.jpg", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/card.jpg", "file:///etc/passwd", "http://intranet.example.lan/card.jpg",
    "http://cdn.example/missing.jpg", "http://cdn.example/text.jpg", "http://unresolvable.invalid/x.jpg",
])
def test_unreachable_or_private_url_gives_2(client, key, web, img1):
    r = client.get(f"{PATH}", params={"img1": img1, "img2": "http://cdn.example/selfie.jpg",
                                      "type1": "card", "format_type": "url"}, auth=key)
    assert r.status_code == 400
    assert_envelope(r.json(), 2)
    private = {"127.0.0.1", "10.0.0.8", "169.254.169.254", "::1", "[::1]", "10.1.2.3"}
    assert not private & {req.url.host for req in web.requests}


def test_missing_url_gives_2(client, key):
    r = client.get(f"{PATH}?img1=http://cdn.example/card.jpg&type1=card&format_type=url", auth=key)
    assert_envelope(r.json(), 2)


def test_allowlist_permits_private_host(make_client, key, web):
    client = make_client(url_allowlist=["10.0.0.0/8"])
    r = client.get(PATH, params={"img1": "http://intranet.example.lan/card.jpg", "img2": "http://cdn.example/selfie.jpg",
                                 "type1": "portrait", "format_type": "url"}, auth=key)
    assert r.json()["errorCode"] == "0"
    assert "10.1.2.3" in {req.url.host for req in web.requests}


@pytest.mark.parametrize("which, invalid", [("img1", 4), ("img2", 5)])
def test_no_face_gives_3_with_the_face_found(client, key, astronaut, no_face, which, invalid):
    files = {"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut))}
    files[which] = ("n.jpg", jpeg(no_face))
    r = client.post(f"{PATH}?type1=card&format_type=file", auth=key, files=files)
    assert r.status_code == 422
    body = r.json()
    assert_envelope(body, 3)
    d = body["data"]
    assert d["invalidCode"] == str(invalid) and d["invalidMessage"] == InvalidCode(invalid).message
    other = "face2" if which == "img1" else "face1"
    assert d[other] and float(d[other + "_score"]) > 0.5
    assert d["face1" if which == "img1" else "face2"] == ""


def test_quota_exhaustion_gives_4_and_only_successes_count(client, store, astronaut, no_face):
    info, secret = store.create_key(quota=2)
    auth = (info.api_key, secret)
    good = {"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut))}
    bad = {"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(no_face))}
    assert client.post(f"{PATH}?format_type=file", auth=auth, files=bad).json()["errorCode"] == "3"
    assert client.post(f"{PATH}?format_type=base64", auth=auth, json={"img1": "!"}).json()["errorCode"] == "1"
    assert store.get(info.api_key).used == 0
    for _ in range(2):
        assert client.post(f"{PATH}?format_type=file", auth=auth, files=good).json()["errorCode"] == "0"
    r = client.post(f"{PATH}?format_type=file", auth=auth, files=good)
    assert r.status_code == 429
    assert_envelope(r.json(), 4)
    assert store.get(info.api_key).used == 2


def test_legacy_setting_answers_200(make_client, key):
    client = make_client(legacy_http_200=True)
    r = client.post(f"{PATH}?format_type=base64", auth=(key[0], "wrong"), json={})
    assert r.status_code == 200 and r.json()["errorCode"] == "5"


def test_oversized_body_refused_before_reading(make_client, key):
    client = make_client(limits={"max_body_bytes": 1000})
    r = client.post(f"{PATH}?format_type=base64", auth=key, json={"img1": "A" * 5000, "img2": "B"})
    assert r.status_code == 413
    assert_envelope(r.json(), 1)


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


@pytest.mark.parametrize("bad", ["img1", "img2"])
def test_one_bad_image_of_two_gives_1_and_returns_every_bundle(client, key, model_pool, astronaut, bad):
    # The two images are analysed on two threads: a failure on either side is
    # answered, and both sides' models go back to the pool before the answer.
    files = {"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut))}
    files[bad] = ("x.jpg", b"not an image")
    r = client.post(f"{PATH}?format_type=file", auth=key, files=files)
    assert r.json()["errorCode"] == "1"
    assert model_pool._free.qsize() == model_pool.size
    ok = client.post(f"{PATH}?format_type=file", auth=key,
                     files={"img1": ("a.jpg", jpeg(astronaut)), "img2": ("b.jpg", jpeg(astronaut))})
    assert ok.json()["errorCode"] == "0"
