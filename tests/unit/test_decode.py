from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facematch.errors import NoContentError, UrlUnavailableError
from facematch.imaging.base64_input import decode_base64_image
from facematch.imaging.decode import decode_image

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 4_000_000}


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    out = decode_image(encode(img, "JPEG", exif=exif), **LIMITS)
    assert out.shape == (40, 20, 3)


@pytest.mark.parametrize("mode, fmt", [("CMYK", "JPEG"), ("L", "PNG"), ("P", "GIF"), ("RGBA", "PNG"),
                                       ("LA", "PNG"), ("I;16", "PNG"), ("RGB", "WEBP"), ("RGB", "BMP")])
def test_modes_become_rgb_uint8(mode, fmt):
    img = Image.new(mode, (32, 24))
    out = decode_image(encode(img, fmt), **LIMITS)
    assert out.shape == (24, 32, 3) and out.dtype == np.uint8


def test_sixteen_bit_is_scaled_not_clipped():
    arr = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    out = decode_image(encode(Image.fromarray(arr), "PNG"), **LIMITS)
    assert out.max() == 255 and 100 < out.mean() < 160


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue(), **LIMITS)
    assert out[0, 0, 0] > 200 and out[0, 0, 1] < 50


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"GIF89a" + b"\x00" * 10, "undecodable"),
    (b"%PDF-1.4 not an image", "undecodable"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "undecodable"),
])
def test_garbage_is_no_content(data, reason):
    with pytest.raises(NoContentError) as info:
        decode_image(data, **LIMITS)
    assert info.value.detail == reason


def test_truncated_jpeg_is_no_content():
    data = encode(Image.new("RGB", (200, 200), (10, 200, 30)), "JPEG")
    with pytest.raises(NoContentError):
        decode_image(data[: len(data) // 2], **LIMITS)


def test_pixel_bomb_refused_before_decoding():
    # A 20000 x 20000 PNG of one colour compresses to a few hundred KB.
    bomb = encode(Image.new("L", (20000, 20000)), "PNG", optimize=False)
    with pytest.raises(NoContentError) as info:
        decode_image(bomb, max_bytes=50_000_000, max_pixels=40_000_000)
    assert info.value.detail == "too_many_pixels"


def test_byte_limit_and_custom_error():
    data = encode(Image.new("RGB", (50, 50)), "PNG")
    with pytest.raises(UrlUnavailableError):
        decode_image(data, max_bytes=10, max_pixels=10_000, error=UrlUnavailableError)


def test_base64_forms():
    import base64

    raw = encode(Image.new("RGB", (8, 8)), "PNG")
    for text in (base64.b64encode(raw).decode(), base64.encodebytes(raw).decode(),
                 "data:image/png;base64," + base64.b64encode(raw).decode(),
                 base64.urlsafe_b64encode(raw).decode().rstrip("="), "  " + base64.b64encode(raw).decode() + "\r\n"):
        assert decode_base64_image(text, max_bytes=10_000) == raw


@pytest.mark.parametrize("text", [None, 5, "", "   ", "@@@@", "data:image/png;base64,"])
def test_base64_invalid(text):
    with pytest.raises(NoContentError):
        decode_base64_image(text, max_bytes=10_000)


def test_base64_too_long_is_refused_early():
    with pytest.raises(NoContentError) as info:
        decode_base64_image("A" * 100_000, max_bytes=1000)
    assert info.value.detail == "too_large"
