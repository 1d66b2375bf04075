"""``type1=chip``: the CCCD chip's DG2 data group (or its face record, or the
bare JPEG 2000 portrait) as img1, through the API on the real models. The
records are built by the test from a generated portrait."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import jpeg
from tests.unit.test_dg2 import dg2, face_image, face_record, jpeg2000, portrait_image

PATH = "/api/v2/ekyc/face_matching"
CARD_OR_CAMERA_CHECKS = {"card_presence", "photocopy", "tampering", "face_near_margin"}

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def chip_portrait() -> bytes:
    return jpeg2000(portrait_image())


@pytest.mark.parametrize("wrap", ["dg2", "record", "bare"])
def test_chip_portrait_matches_the_live_photo(client, key, astronaut_selfie, chip_portrait, wrap):
    img1 = {"dg2": dg2(face_record(face_image(chip_portrait))), "record": face_record(face_image(chip_portrait)),
            "bare": chip_portrait}[wrap]
    r = client.post(f"{PATH}?type1=chip&format_type=file", auth=key,
                    files={"img1": ("dg2.bin", img1), "img2": ("selfie.jpg", jpeg(astronaut_selfie))})
    body = r.json()
    assert r.status_code == 200 and body["errorCode"] == "0", body
    assert body["data"]["match"] == "1"
    assert not {w["check"] for w in body["data"]["warnings"] if w["image"] == "img1"} & CARD_OR_CAMERA_CHECKS


def test_chip_in_base64_mode(client, key, astronaut_selfie, chip_portrait):
    data = dg2(face_record(face_image(chip_portrait)))
    r = client.post(f"{PATH}?type1=chip&format_type=base64", auth=key,
                    json={"img1": base64.b64encode(data).decode(), "img2": base64.b64encode(jpeg(astronaut_selfie)).decode()})
    assert r.json()["errorCode"] == "0"


def test_malformed_or_oversized_chip_data_is_1(client, key, astronaut_selfie, chip_portrait):
    good = dg2(face_record(face_image(chip_portrait)))
    for img1 in (good[:-100], good[:3] + b"\xff" + good[4:], b"\x75\x00", b"\x75" + b"\x84\xff\xff\xff\xff" + good):
        r = client.post(f"{PATH}?type1=chip&format_type=file", auth=key,
                        files={"img1": ("dg2.bin", img1), "img2": ("selfie.jpg", jpeg(astronaut_selfie))})
        assert r.status_code == 400 and r.json()["errorCode"] == "1", r.json()
    big = jpeg2000(portrait_image(1200, 1600), target_bytes=300_000)  # over FACEMATCH_LIMITS__MAX_CHIP_BYTES
    r = client.post(f"{PATH}?type1=chip&format_type=file", auth=key,
                    files={"img1": ("big.jp2", big), "img2": ("selfie.jpg", jpeg(astronaut_selfie))})
    assert r.json()["errorCode"] == "1"


# --- passive authentication (ICAO 9303 part 11) through the API -------------------------------------------------

@pytest.fixture(scope="module", params=["rsa", "ec"])
def issuer(request):
    from tests.support import pki

    return pki.make_pki(request.param)


@pytest.fixture
def chip_client(make_client, issuer, tmp_path):
    path = tmp_path / "csca.pem"
    path.write_bytes(issuer.csca_pem())
    return make_client(chip={"csca": str(path)})


def _send(client, key, mode, img1, img2, **chip):
    if mode == "file":
        files = {"img1": ("dg2.bin", img1), "img2": ("selfie.jpg", img2)}
        files.update({k: (f"{k}.bin", v) for k, v in chip.items()})
        return client.post(f"{PATH}?type1=chip&format_type=file", auth=key, files=files)
    body = {"img1": base64.b64encode(img1).decode(), "img2": base64.b64encode(img2).decode()}
    body.update({k: v if isinstance(v, str) else base64.b64encode(v).decode() for k, v in chip.items()})
    return client.post(f"{PATH}?type1=chip&format_type=base64", auth=key, json=body)


@pytest.mark.parametrize("mode", ["file", "base64"])
def test_chip_verification_statuses_through_the_api(chip_client, key, astronaut_selfie, chip_portrait, issuer, mode):
    from tests.support import pki

    dg2_bytes = dg2(face_record(face_image(chip_portrait)))
    dg1 = b"\x61\x05\x5f\x1f\x02AB"
    selfie = jpeg(astronaut_selfie)

    def chip_of(r):
        body = r.json()
        assert r.status_code == 200 and body["errorCode"] == "0", body
        checks = {w["check"] for w in body["data"]["warnings"] if w["code"] == "3"}
        return body["data"]["chip"], body["data"]["invalidCode"], checks

    chip, code, checks = chip_of(_send(chip_client, key, mode, dg2_bytes, selfie,
                                       sod=pki.make_sod({1: dg1, 2: dg2_bytes}, issuer), dg1=dg1))
    assert chip["verified"] is True and chip["status"] == "valid" and chip["dataGroups"] == {"DG1": True, "DG2": True}
    assert code != "3" and not checks
    i = dg2_bytes.index(b"FAC\x00") + 20  # the face record's gender byte: the portrait still decodes
    changed = dg2_bytes[:i] + bytes([dg2_bytes[i] ^ 1]) + dg2_bytes[i + 1:]
    chip, code, checks = chip_of(_send(chip_client, key, mode, changed, selfie,
                                       sod=pki.make_sod({2: dg2_bytes}, issuer)))
    assert chip["status"] == "hash_mismatch" and code == "3" and checks == {"chip_hash_mismatch"}
    outsider = pki.make_pki("ec", cn="Other CSCA")
    chip, code, _ = chip_of(_send(chip_client, key, mode, dg2_bytes, selfie, sod=pki.make_sod({2: dg2_bytes}, outsider)))
    assert chip["status"] == "untrusted_signer" and code == "3"
    chip, code, _ = chip_of(_send(chip_client, key, mode, dg2_bytes, selfie,
                                  sod=pki.make_sod({2: dg2_bytes}, issuer, corrupt_signature=True)))
    assert chip["status"] == "bad_signature" and code == "3"
    chip, code, _ = chip_of(_send(chip_client, key, mode, dg2_bytes, selfie, sod=b"\x77\x05garbage" * 3))
    assert chip["status"] == "malformed" and chip["verified"] is False and code == "3"
    chip, code, checks = chip_of(_send(chip_client, key, mode, dg2_bytes, selfie))
    assert chip["status"] == "not_checked" and code != "3"
    body = _send(chip_client, key, mode, dg2_bytes, selfie).json()
    assert "chip_not_verified" in {w["check"] for w in body["data"]["warnings"]}


def test_chip_sod_that_is_not_base64_is_malformed_not_an_error(chip_client, key, astronaut_selfie, chip_portrait):
    r = _send(chip_client, key, "base64", dg2(face_record(face_image(chip_portrait))), jpeg(astronaut_selfie),
              sod="%%% not base64 %%%")
    assert r.status_code == 200 and r.json()["data"]["chip"]["status"] == "malformed"


def test_no_chip_field_for_other_kinds_and_no_trust_means_not_checked(client, key, astronaut_selfie, chip_portrait):
    r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=key,
                    files={"img1": ("a.jpg", jpeg(astronaut_selfie)), "img2": ("b.jpg", jpeg(astronaut_selfie))})
    assert "chip" not in r.json()["data"]
    r = _send(client, key, "file", dg2(face_record(face_image(chip_portrait))), jpeg(astronaut_selfie), sod=b"\x77\x00")
    assert r.json()["data"]["chip"]["status"] == "not_checked"


def test_an_unreadable_csca_file_is_refused_at_start(tmp_path):
    from facematch.api.app import create_app
    from facematch.settings import Settings

    bad = tmp_path / "csca.pem"
    bad.write_bytes(b"not a certificate")
    with pytest.raises(ValueError, match="FACEMATCH_CHIP__CSCA"):
        create_app(Settings(data_dir=tmp_path, chip={"csca": str(bad)}))
