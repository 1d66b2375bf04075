"""The chip portrait parser, on DG2 records built here from generated images."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from facematch.errors import NoContentError
from facematch.imaging.decode import decode_image
from facematch.imaging.dg2 import extract_portrait, parse_face_record, parse_portrait

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 4_000_000}


# --- a DG2 writer (ICAO 9303 part 10, ISO/IEC 19794-5:2005) ------------------------

def ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big") + ber_length(len(value)) + value


def face_image(image: bytes, *, data_type: int = 1, width: int = 480, height: int = 640, points: int = 0) -> bytes:
    """One image of a face record: facial information, feature points, image information, image data."""
    feature_points = b"".join(bytes([1, 0x21 + i]) + (100 + i).to_bytes(2, "big") + (200).to_bytes(2, "big")
                              + b"\x00\x00" for i in range(points))
    image_info = (bytes([1, data_type]) + width.to_bytes(2, "big") + height.to_bytes(2, "big")
                  + bytes([1, 2]) + b"\x00\x00" + b"\x00\x00")
    length = 20 + len(feature_points) + len(image_info) + len(image)
    info = (length.to_bytes(4, "big") + points.to_bytes(2, "big") + bytes([1, 3, 2]) + b"\x00\x00\x01"
            + b"\x00\x00" + b"\x00\x00\x00" + b"\x00\x00\x00")
    assert len(info) == 20 and len(image_info) == 12
    return info + feature_points + image_info + image


def face_record(*images: bytes) -> bytes:
    body = b"".join(images)
    return b"FAC\x00" + b"010\x00" + (14 + len(body)).to_bytes(4, "big") + len(images).to_bytes(2, "big") + body


def biometric_template(record: bytes, *, data_tag: int = 0x5F2E) -> bytes:
    header = (tlv(0x80, b"\x01\x01") + tlv(0x81, b"\x02") + tlv(0x82, b"\x00") + tlv(0x87, b"\x01\x01")
              + tlv(0x88, b"\x00\x08"))
    return tlv(0x7F60, tlv(0xA1, header) + tlv(data_tag, record))


def dg2(*records: bytes, count: int | None = None, data_tag: int = 0x5F2E) -> bytes:
    n = len(records) if count is None else count
    group = tlv(0x02, bytes([n])) + b"".join(biometric_template(r, data_tag=data_tag) for r in records)
    return tlv(0x75, tlv(0x7F61, group))


# --- generated chip-like portraits ---------------------------------------------------

def portrait_image(width: int = 480, height: int = 640) -> Image.Image:
    from skimage import data

    face = Image.fromarray(data.astronaut()).crop((120, 0, 360, 320))  # the head and shoulders, 3:4
    return face.resize((width, height), Image.Resampling.BICUBIC)


def jpeg2000(img: Image.Image, target_bytes: int = 15_000, **kw: object) -> bytes:
    ratio = img.width * img.height * 3 / target_bytes
    buf = io.BytesIO()
    img.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio], **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def chip_jp2() -> bytes:
    data = jpeg2000(portrait_image())
    assert 10_000 <= len(data) <= 20_000  # a chip's portrait: 480 x 640, 10-20 KB
    return data


@pytest.fixture(scope="module")
def chip_jpeg() -> bytes:
    buf = io.BytesIO()
    portrait_image().save(buf, "JPEG", quality=60)
    return buf.getvalue()


# --- parsing back ----------------------------------------------------------------------

def test_dg2_with_jpeg2000_portrait(chip_jp2):
    data = dg2(face_record(face_image(chip_jp2)))
    assert data[:1] == b"\x75" and data[1] == 0x82  # long-form length: 15 KB
    assert extract_portrait(data) == chip_jp2
    p = parse_portrait(data)
    assert (p.image_type, p.width, p.height, p.images) == ("JPEG2000", 480, 640, 1)
    assert decode_image(extract_portrait(data), **LIMITS).shape == (640, 480, 3)


def test_dg2_with_raw_codestream_and_jpeg(chip_jpeg):
    j2k = jpeg2000(portrait_image(240, 320), 8_000, no_jp2=True)
    assert extract_portrait(dg2(face_record(face_image(j2k, width=240, height=320)))) == j2k
    assert extract_portrait(dg2(face_record(face_image(chip_jpeg, data_type=0)))) == chip_jpeg


def test_short_form_lengths_and_feature_points():
    tiny = b"\xff\xd8\xff\xe0" + b"\x00" * 20  # a JPEG signature is all the parser looks at
    data = dg2(face_record(face_image(tiny, data_type=0, points=3)))
    assert data[1] < 0x80  # short-form length throughout
    assert extract_portrait(data) == tiny


def test_constructed_data_block_and_several_instances(chip_jp2):
    other = jpeg2000(portrait_image(120, 160), 3_000)
    data = dg2(face_record(face_image(chip_jp2)), face_record(face_image(other, width=120, height=160)),
               data_tag=0x7F2E)
    p = parse_portrait(data)
    assert p.image == chip_jp2 and p.images == 2


def test_several_images_in_one_record(chip_jp2):
    other = jpeg2000(portrait_image(120, 160), 3_000)
    record = face_record(face_image(chip_jp2), face_image(other, width=120, height=160))
    p = parse_face_record(record)
    assert p.image == chip_jp2 and p.images == 2


def test_bare_record_bare_image_and_inner_template(chip_jp2, chip_jpeg):
    record = face_record(face_image(chip_jp2))
    assert extract_portrait(record) == chip_jp2
    assert extract_portrait(chip_jp2) == chip_jp2
    assert extract_portrait(chip_jpeg) == chip_jpeg
    inner = dg2(record)[4:]  # without 75 L (the 7F61 template as some readers return it)
    assert inner[:2] == b"\x7f\x61" and extract_portrait(inner) == chip_jp2


def test_other_bytes_pass_through_to_the_decoder():
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert extract_portrait(png.getvalue()) == png.getvalue()
    with pytest.raises(NoContentError):
        decode_image(extract_portrait(b"not an image at all"), **LIMITS)


# --- malformed records -----------------------------------------------------------------

TINY = b"\xff\x4f\xff\x51" + b"\x00" * 40


def good() -> bytes:
    return dg2(face_record(face_image(TINY)))


def replace_at(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def record_offset(data: bytes) -> int:
    return data.index(b"FAC\x00")


@pytest.mark.parametrize("name, make, detail", [
    ("empty", lambda: b"", None),
    ("truncated by one", lambda: good()[:-1], "dg2_truncated"),
    ("truncated in the header", lambda: good()[:30], "dg2_truncated"),
    ("only the tag", lambda: b"\x75", "dg2_truncated"),
    ("trailing byte", lambda: good() + b"\x00", "dg2_length_mismatch"),
    ("indefinite length", lambda: b"\x75\x80" + good()[2:], "dg2_bad_length"),
    ("five length bytes", lambda: b"\x75\x85\x00\x00\x00\x00\x10" + b"\x00" * 16, "dg2_bad_length"),
    ("huge declared length", lambda: b"\x75\x84\xff\xff\xff\xff" + good()[2:], "dg2_truncated"),
    ("wrong inner tag", lambda: tlv(0x75, tlv(0x7F62, b"\x02\x01\x01")), "dg2_bad_tag"),
    ("no count", lambda: tlv(0x75, tlv(0x7F61, biometric_template(face_record(face_image(TINY))))), "dg2_no_count"),
    ("count says 2", lambda: dg2(face_record(face_image(TINY)), count=2), "dg2_count_mismatch"),
    ("count says 0", lambda: dg2(face_record(face_image(TINY)), count=0), "dg2_count_mismatch"),
    ("count of two bytes", lambda: tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x00\x01")
                                                  + biometric_template(face_record(face_image(TINY))))),
     "dg2_length_mismatch"),
    ("no templates", lambda: tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x00"))), "dg2_count_mismatch"),
    ("stray object in the group", lambda: tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + tlv(0x53, b"x")
                                                         + biometric_template(face_record(face_image(TINY))))),
     "dg2_bad_tag"),
    ("no header", lambda: tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + tlv(0x7F60, tlv(0x5F2E, b"x")))),
     "dg2_no_header"),
    ("wrong data tag", lambda: dg2(face_record(face_image(TINY)), data_tag=0x5F2F), "dg2_no_data_block"),
    ("long tag", lambda: b"\x75\x06\x7f\xff\xff\xff\x01\x00", "dg2_bad_tag"),
    ("not a face record", lambda: dg2(b"FIR\x00010\x00" + b"\x00" * 30), "dg2_not_face_record"),
    ("version 030", lambda: dg2(b"FAC\x00030\x00" + face_record(face_image(TINY))[8:]),
     "dg2_record_version_unsupported"),
])
def test_malformed_dg2(name, make, detail):
    with pytest.raises(NoContentError) as info:
        parse_portrait(make())
    if detail is not None:
        assert info.value.detail == detail
    assert "\\x" not in str(info.value)  # data-free: no bytes in the message


def test_malformed_face_records():
    rec = face_record(face_image(TINY))
    cases = {
        "dg2_truncated": [rec[:10], replace_at(rec, 8, (len(rec) + 1).to_bytes(4, "big"))],
        "dg2_length_mismatch": [
            replace_at(rec, 8, (len(rec) - 1).to_bytes(4, "big")),  # record length short of the bytes
            rec + b"\x00",
            replace_at(rec, 14, (10).to_bytes(4, "big")),  # an image's data length below its blocks
        ],
        "dg2_no_image": [replace_at(rec, 12, b"\x00\x00")],
        "dg2_image_type_unsupported": [replace_at(rec, 14 + 20 + 1, b"\x07")],
        "dg2_image_type_mismatch": [replace_at(rec, 14 + 20 + 1, b"\x00"),  # says JPEG, holds JPEG 2000
                                    face_record(face_image(b"GIF89a" + b"\x00" * 20))],
    }
    for detail, records in cases.items():
        for r in records:
            with pytest.raises(NoContentError) as info:
                parse_face_record(r)
            assert info.value.detail == detail
            with pytest.raises(NoContentError):  # the same inside a DG2
                parse_portrait(dg2(r))


def test_image_length_past_the_record_and_image_count_too_high():
    rec = face_record(face_image(TINY))
    with pytest.raises(NoContentError) as info:
        parse_face_record(replace_at(rec, 14, (len(rec)).to_bytes(4, "big")))
    assert info.value.detail == "dg2_truncated"
    with pytest.raises(NoContentError) as info:
        parse_face_record(replace_at(rec, 12, b"\x00\x02"))  # says two images, holds one
    assert info.value.detail == "dg2_truncated"
    with pytest.raises(NoContentError):
        parse_face_record(replace_at(rec, 14 + 4, b"\xff\xff"))  # 65535 feature points


def test_no_quadratic_behaviour():
    # A 4 MB header of 2-byte objects and a record claiming 65535 images: both linear, both refused.
    header = b"\x81\x00" * 2_000_000
    data = tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + tlv(0x7F60, tlv(0xA1, header) + tlv(0x5F2E, b"FAC\x00"))))
    many = b"FAC\x00010\x00" + (14 + 32 * 60_000).to_bytes(4, "big") + b"\xff\xff" + b"\x00" * (32 * 60_000)
    t0 = time.perf_counter()
    for d in (data, many):
        with pytest.raises(NoContentError):
            parse_portrait(d)
    assert time.perf_counter() - t0 < 5.0


# --- fuzz --------------------------------------------------------------------------------

SEEDS = [good(), dg2(face_record(face_image(TINY, points=2), face_image(b"\xff\xd8\xff" + b"\x01" * 9, data_type=0))),
         face_record(face_image(TINY))]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(max_size=8))
        elif data:
            del data[i:i + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), st.binary(max_size=200).map(lambda b: b"\x75" + b),
                 st.binary(max_size=200).map(lambda b: b"FAC\x00010\x00" + b), st.binary(max_size=64)))
def test_fuzz_only_bytes_or_no_content(data):
    try:
        out = extract_portrait(data)
    except NoContentError as e:
        assert e.detail and e.message == "The photo does not contain content"
        return
    assert isinstance(out, bytes)
    if data[:1] == b"\x75" or data[:4] == b"FAC\x00":
        assert out in data and len(out) < len(data)


def test_dg2_portrait_decodes_at_chip_size(chip_jp2):
    rgb = decode_image(extract_portrait(dg2(face_record(face_image(chip_jp2)))), **LIMITS)
    ref = np.asarray(portrait_image(), dtype=np.int16)
    assert rgb.shape == ref.shape and np.abs(rgb.astype(np.int16) - ref).mean() < 12  # 15 KB JPEG 2000
