"""Photos saved in another RGB colour space (Display P3, Adobe RGB) are converted to sRGB once decoded
(``imaging/colour.py``), as LittleCMS (Pillow's ImageCms, the reference here) converts them; sRGB photos,
photos without a profile and profiles that cannot be read are left as they are."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from facematch.imaging import colour
from facematch.imaging.decode import decode_image
from tools.synth import icc

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 50_000_000}
P3_ICC = icc.display_p3_profile()


def photo() -> np.ndarray:
    """Every hue at several saturations and lightness levels, and greys."""
    h, s, v = np.meshgrid(np.linspace(0, 179, 36), np.linspace(0, 255, 16), np.linspace(30, 255, 12), indexing="ij")
    import cv2

    hsv = np.stack([h, s, v], axis=-1).reshape(36, 192, 3).astype(np.uint8)
    return np.ascontiguousarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))


def reference(rgb: np.ndarray, profile: bytes) -> np.ndarray:
    src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    dst = ImageCms.createProfile("sRGB")
    t = ImageCms.buildTransform(src, dst, "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(ImageCms.applyTransform(Image.fromarray(rgb), t))


@pytest.mark.parametrize("name, profile", [
    ("Display P3 (para curve, as Apple's)", P3_ICC),
    ("Adobe RGB (gamma 2.2)", icc.profile(icc.ADOBE_RGB, icc.gamma_curve(563 / 256))),
    ("P3 colorants, a sampled curve", icc.profile(icc.DISPLAY_P3, icc.sampled_curve(2.2))),
])
def test_a_profiled_photo_is_converted_as_littlecms_converts_it(name, profile):
    rgb = photo()
    ours = colour.to_srgb(rgb.copy(), {"icc_profile": profile})
    diff = np.abs(ours.astype(int) - reference(rgb, profile).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.3, (name, diff.max(), diff.mean())
    assert np.abs(ours.astype(int) - rgb.astype(int)).max() > 10  # it did change the colours


def many_tags() -> bytes:
    """100 tags, each naming the whole profile (200 KB): a parser that copied every tag would take 20 MB."""
    size = 200_000
    header = struct.pack(">I", size) + bytes(12) + b"RGB " + b"XYZ " + bytes(12) + b"acsp" + bytes(88)
    table = struct.pack(">I", 100) + b"".join(b"t%03d" % i + struct.pack(">II", 0, size) for i in range(100))
    return (header + table).ljust(size, b"\0")


def test_srgb_no_profile_and_unreadable_profiles_change_nothing():
    rgb = photo()
    littlecms_srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for info in ({}, {"icc_profile": littlecms_srgb}, {"icc_profile": icc.profile(icc.SRGB, icc.srgb_curve())},
                 {"icc_profile": b"junk" * 100}, {"icc_profile": P3_ICC[:200]},
                 {"icc_profile": icc.profile(icc.DISPLAY_P3, b"curv" + bytes(4) + struct.pack(">I", 70000))},
                 {"icc_profile": icc.profile(icc.DISPLAY_P3, b"xxxx" + bytes(12))},
                 {"icc_profile": b"\0" * (colour.MAX_PROFILE_BYTES + 1)},
                 {"icc_profile": many_tags()},
                 {"nclx_profile": {"color_primaries": 1}}):
        assert colour.to_srgb(rgb, info) is rgb
    grey = P3_ICC[:16] + b"GRAY" + P3_ICC[20:]
    assert colour.to_srgb(rgb, {"icc_profile": grey}) is rgb


def test_heic_nclx_display_p3_is_converted():
    rgb = photo()
    ours = colour.to_srgb(rgb.copy(), {"nclx_profile": {"color_primaries": 12, "transfer_characteristics": 13}})
    diff = np.abs(ours.astype(int) - reference(rgb, P3_ICC).astype(int))
    assert diff.max() <= 2


def test_decoding_applies_the_embedded_profile():
    """A JPEG and a PNG saved with a Display P3 profile decode to the sRGB pixels, and the same files without
    the profile to the numbers as stored."""
    rgb = photo()
    for fmt in ("PNG", "JPEG"):
        files = []
        for options in ({}, {"icc_profile": P3_ICC}):
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, fmt, quality=95, **options)
            files.append(decode_image(buf.getvalue(), **LIMITS))
        stored, converted = files  # the same pixels stored, without and with the profile
        if fmt == "PNG":
            assert np.array_equal(stored, rgb)
        assert np.abs(converted.astype(int) - reference(stored, P3_ICC).astype(int)).max() <= 2, fmt


def test_a_photo_stored_as_an_iphone_stores_it_decodes_to_its_srgb_colours():
    """``tools.synth.icc.to_display_p3`` re-encodes sRGB pixels in Display P3; with the profile embedded the
    service reads back the colours it started from, without it (a decoder that ignores profiles) duller ones."""
    rgb = photo()
    p3 = icc.to_display_p3(rgb)
    buf = io.BytesIO()
    Image.fromarray(p3).save(buf, "PNG", icc_profile=P3_ICC)
    back = decode_image(buf.getvalue(), **LIMITS)
    error = np.abs(back.astype(int) - rgb.astype(int))
    assert error.max() <= 4 and error.mean() < 0.5  # 8-bit storage in the wider space rounds dark colours
    assert np.abs(p3.astype(int) - rgb.astype(int)).max() > 20


def test_a_large_photo_is_converted_in_place_in_strips():
    """The 16-bit intermediates of a 12-megapixel photo would take 144 MB at once; a strip's take a few."""
    import tracemalloc

    rgb = np.random.default_rng(0).integers(0, 256, (3024, 4032, 3), dtype=np.uint8)
    expected = reference(rgb[:64], P3_ICC)
    tracemalloc.start()
    out = colour.to_srgb(rgb, {"icc_profile": P3_ICC})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out is rgb and peak < 16 * 2**20, peak
    assert np.abs(out[:64].astype(int) - expected.astype(int)).max() <= 2


def test_mutated_profiles_never_raise():
    """Client input: every byte of a real profile flipped, cut or repeated, 2,000 times, gives a conversion or
    none, never an exception (the decoder would answer errorCode 1 for a photo that is fine)."""
    rng = np.random.default_rng(9)
    base = bytearray(P3_ICC)
    rgb = photo()
    for _ in range(2000):
        data = bytearray(base)
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        cut = bytes(data[: int(rng.integers(100, len(data) + 1))])
        out = colour.to_srgb(rgb.copy(), {"icc_profile": cut})
        assert out.shape == rgb.shape and out.dtype == np.uint8


@pytest.mark.parametrize("how", ["icc", "nclx"])
def test_an_iphone_heic_decodes_to_its_srgb_colours(how):
    """An iPhone's HEIC declares Display P3 by an ICC profile or by HEIF's nclx colour description."""
    from facematch.imaging.decode import header

    rgb = np.full((64, 64, 3), (200, 60, 40), np.uint8)
    options = ({"icc_profile": P3_ICC} if how == "icc" else
               {"save_nclx_profile": True, "color_primaries": 12, "transfer_characteristic": 13,
                "matrix_coefficients": 6, "full_range_flag": 1})
    buf = io.BytesIO()
    Image.fromarray(icc.to_display_p3(rgb)).save(buf, "HEIF", quality=95, **options)
    out = decode_image(buf.getvalue(), **LIMITS)
    assert np.abs(out[32, 32].astype(int) - rgb[0, 0].astype(int)).max() <= 3
    facts = header(buf.getvalue())
    assert facts is not None and facts.format == "HEIF" and facts.jpeg_quality is None
    assert facts.colour == ("Display P3" if how == "icc" else "nclx primaries 12 (Display P3)")
