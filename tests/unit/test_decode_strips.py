"""Decoding copies the pixels out of Pillow a strip of rows at a time (``decode._pixels``), never the whole
image twice at once; the pixels are exactly Pillow's."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facematch.imaging import decode


def _jpeg(w: int, h: int) -> bytes:
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(("w", "h"), [(1, 1), (7, 3), (640, 480), (1500, 1100)])
def test_pixels_equal_pillows(w, h):
    data = _jpeg(w, h)
    rgb = decode.decode_image(data, max_bytes=len(data), max_pixels=w * h)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert rgb.dtype == np.uint8 and rgb.flags["C_CONTIGUOUS"] and np.array_equal(rgb, expected)


def test_strips_cover_every_row(monkeypatch):
    monkeypatch.setattr(decode, "STRIP_BYTES", 3 * 640 * 7)  # 7 rows a strip: 480 is no multiple of it
    data = _jpeg(640, 480)
    rgb = decode.decode_image(data, max_bytes=len(data), max_pixels=640 * 480)
    assert np.array_equal(rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def _peak(fn, img: Image.Image) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn(img)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_is_one_copy_and_a_few_strips():
    img = Image.open(io.BytesIO(_jpeg(2400, 1800)))
    img.load()
    size = 2400 * 1800 * 3
    assert _peak(decode._pixels, img) < size + 4 * decode.STRIP_BYTES
    assert _peak(np.asarray, img) >= 2 * size  # what it replaces


@pytest.mark.parametrize("orientation", range(1, 9))
def test_colour_jpeg_equals_pillow_with_every_orientation(orientation):
    """Colour JPEGs are decoded by OpenCV straight into the array (``decode._colour_jpeg``): the pixels and
    the EXIF turn are exactly Pillow's."""
    rng = np.random.default_rng(orientation)
    img = Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    data = buf.getvalue()
    assert decode._colour_jpeg(data, 80, 48, orientation) is not None
    rgb = decode.decode_image(data, max_bytes=len(data), max_pixels=80 * 48)
    from PIL import ImageOps

    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert rgb.flags["C_CONTIGUOUS"] and rgb.shape == expected.shape and np.array_equal(rgb, expected)


def test_truncated_colour_jpeg_is_left_to_pillow():
    data = _jpeg(64, 64)
    assert decode._colour_jpeg(data[: len(data) // 2], 64, 64, 1) is None
    assert decode._colour_jpeg(data, 64, 64, 1) is not None
