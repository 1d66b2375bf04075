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
