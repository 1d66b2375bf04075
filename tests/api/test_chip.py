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
