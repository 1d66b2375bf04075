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


# --- JPEG 2000, HEIC/HEIF, AVIF -------------------------------------------------

NEW_FORMATS = [("JPEG2000", {}), ("JPEG2000", {"no_jp2": True}), ("HEIF", {}), ("AVIF", {})]
NEW_IDS = ["jp2", "j2k", "heif", "avif"]


def noisy(w: int = 120, h: int = 90) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))


def with_size(data: bytes, fmt: str, w: int, h: int) -> bytes:
    """``data`` with the header's declared size replaced (the pixels stay small)."""
    out = bytearray(data)
    if fmt == "JPEG2000":
        siz = data.find(b"\xff\x4f\xff\x51")  # SOC + SIZ: Lsiz, Rsiz, then Xsiz, Ysiz
        out[siz + 8:siz + 16] = w.to_bytes(4, "big") + h.to_bytes(4, "big")
        ihdr = data.find(b"ihdr")  # the .jp2 file format's image header box: height, width
        if ihdr >= 0:
            out[ihdr + 4:ihdr + 12] = h.to_bytes(4, "big") + w.to_bytes(4, "big")
    else:
        ispe = data.find(b"ispe")  # HEIF/AVIF image spatial extents: version/flags, width, height
        assert ispe >= 0
        out[ispe + 8:ispe + 16] = w.to_bytes(4, "big") + h.to_bytes(4, "big")
    return bytes(out)


@pytest.mark.parametrize("fmt, kw", NEW_FORMATS, ids=NEW_IDS)
def test_new_formats_decode(fmt, kw):
    data = encode(noisy(), fmt, **kw)
    out = decode_image(data, **LIMITS)
    assert out.shape == (90, 120, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - np.asarray(noisy()).astype(int)).mean() < 60  # the picture, lossy


def test_signatures():
    assert encode(noisy(), "JPEG2000").startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n")
    assert encode(noisy(), "JPEG2000", no_jp2=True).startswith(b"\xff\x4f\xff\x51")
    assert encode(noisy(), "HEIF")[4:12] == b"ftypheic"
    assert encode(noisy(), "AVIF")[4:12] == b"ftypavif"


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_orientation_is_applied_once(fmt):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    out = decode_image(encode(noisy(), fmt, exif=exif.tobytes()), **LIMITS)
    assert out.shape == (120, 90, 3)


@pytest.mark.parametrize("fmt, kw", NEW_FORMATS, ids=NEW_IDS)
def test_new_formats_pixel_bomb_refused_before_decoding(fmt, kw):
    # A small file whose header declares 10000 x 10000 pixels (100 MP > 40 MP).
    bomb = with_size(encode(noisy(), fmt, **kw), fmt, 10_000, 10_000)
    with pytest.raises(NoContentError) as info:
        decode_image(bomb, max_bytes=50_000_000, max_pixels=40_000_000)
    assert info.value.detail == "too_many_pixels"


@pytest.mark.parametrize("fmt, kw", NEW_FORMATS, ids=NEW_IDS)
def test_new_formats_byte_limit(fmt, kw):
    data = encode(noisy(), fmt, **kw)
    with pytest.raises(NoContentError) as info:
        decode_image(data, max_bytes=len(data) - 1, max_pixels=40_000_000)
    assert info.value.detail == "too_large"


@pytest.mark.parametrize("fmt, kw", NEW_FORMATS, ids=NEW_IDS)
@pytest.mark.parametrize("keep", [0.95, 0.5, 0.1])
def test_new_formats_truncated_is_no_content(fmt, kw, keep):
    data = encode(noisy(), fmt, **kw)
    with pytest.raises(NoContentError) as info:
        decode_image(data[: int(len(data) * keep)], **LIMITS)
    assert info.value.detail == "undecodable"


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64,  # jp2 signature box, then nothing
    b"\xff\x4f\xff\x51" + b"\xff" * 64,  # codestream start, garbage SIZ
    b"\x00\x00\x00\x1cftypheic" + b"\x00" * 64,  # HEIF brand, no boxes
    b"\x00\x00\x00\x1cftypavif" + b"\x00" * 64,
    b"\x00\x00\x00\x1cftypmif1" + b"\x01" * 64,
])
def test_new_formats_garbage_is_no_content(data):
    with pytest.raises(NoContentError) as info:
        decode_image(data, **LIMITS)
    assert info.value.detail == "undecodable"


@pytest.mark.parametrize("fmt, kw", NEW_FORMATS, ids=NEW_IDS)
def test_new_formats_corrupted_body_is_no_content_or_an_image(fmt, kw):
    # Flipped bytes in the compressed data: a decoder may conceal them, but it never raises anything else.
    data = bytearray(encode(noisy(), fmt, **kw))
    for i in range(len(data) // 2, len(data), 97):
        data[i] ^= 0x5A
    try:
        out = decode_image(bytes(data), **LIMITS)
    except NoContentError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3


def test_large_jpeg2000_is_decoded_at_a_reduced_level():
    from facematch.imaging.decode import WORK_MAX_SIDE, j2k_levels, j2k_reduce

    data = encode(Image.new("RGB", (5000, 3000), (10, 120, 30)), "JPEG2000", no_jp2=True)
    assert j2k_levels(data) == 5  # OpenJPEG's default
    assert j2k_reduce(data, 5000, 3000) == 1 and j2k_reduce(data, 4000, 3000) == 0
    out = decode_image(data, max_bytes=50_000_000, max_pixels=40_000_000)
    assert out.shape == (1500, 2500, 3) and max(out.shape) >= WORK_MAX_SIDE
    assert tuple(out[700, 1200]) == pytest.approx((10, 120, 30), abs=3)


@pytest.mark.parametrize("fmt, mode", [("PNG", "RGB"), ("PNG", "P"), ("PNG", "I;16"), ("WEBP", "RGB"),
                                       ("TIFF", "RGB"), ("BMP", "RGB")])
def test_large_images_of_other_formats_are_halved_as_a_jpeg_is_reduced(fmt, mode):
    """Above twice ``WORK_MAX_SIDE`` a PNG, WebP, TIFF or BMP is halved once decoded until its long side is
    under twice that, as ``draft`` reduces a JPEG: the analysis never handles the full-size array (a 40 MP
    image costs its detection four times over otherwise)."""
    from facematch.imaging.decode import WORK_MAX_SIDE, work_halvings

    assert work_halvings(2 * WORK_MAX_SIDE, 100) == 0 and work_halvings(2 * WORK_MAX_SIDE + 1, 100) == 1
    assert work_halvings(4 * WORK_MAX_SIDE + 8, 100) == 2
    w, h = 4 * WORK_MAX_SIDE + 8, 24
    stripes = np.zeros((h, w), np.uint8)
    stripes[:, ::2] = 200  # one-pixel columns: averaged to grey, not aliased
    if mode == "I;16":
        img = Image.fromarray(stripes.astype(np.uint16) * 256)
    else:
        img = Image.fromarray(stripes).convert(mode)
    out = decode_image(encode(img, fmt), max_bytes=50_000_000, max_pixels=40_000_000)
    assert out.shape == (h // 4, w // 4, 3) and max(out.shape) >= WORK_MAX_SIDE
    level = 255 if mode == "I;16" else 200  # 16-bit is scaled to its own maximum
    assert np.all(np.abs(out.astype(int) - int(out.mean())) <= 2) and abs(out.mean() - level / 2) <= 10
    small = decode_image(encode(Image.new("RGB", (2 * WORK_MAX_SIDE, 10)), fmt), max_bytes=50_000_000,
                         max_pixels=40_000_000)
    assert small.shape == (10, 2 * WORK_MAX_SIDE, 3)


@pytest.mark.parametrize("kw", [{"quality": 80}, {"lossless": True}])
def test_still_webp_is_decoded_by_opencv_with_pillows_pixels_and_orientation(kw, monkeypatch):
    """A still WebP without alpha goes to OpenCV (a fraction of the memory Pillow's decoder takes) and gives
    the pixels Pillow gives, turned by its EXIF orientation once; with alpha, Pillow composites it over white."""
    from facematch.imaging import decode

    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (12, 16, 3), np.uint8)).resize((160, 120), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    data = encode(photo, "WEBP", exif=exif, **kw)
    calls = []
    real = decode._opencv_rgb
    monkeypatch.setattr(decode, "_opencv_rgb", lambda *a: calls.append(1) or real(*a))
    out = decode_image(data, **LIMITS)
    expect = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").transpose(Image.Transpose.ROTATE_270))
    assert calls and out.shape == (160, 120, 3) and np.array_equal(out, expect)
    calls.clear()
    clear = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    out = decode_image(encode(clear, "WEBP", lossless=True), **LIMITS)
    assert not calls and np.all(out == 255)  # transparent: white, as every format with alpha


def test_a_large_jpeg_counts_the_pixels_it_decodes():
    """A 50-megapixel phone JPEG is decoded at half its side (``draft``), 12.5 megapixels: within a 40 MP limit,
    where its header alone would pass it; a header beyond four times the limit is still refused unread."""
    from facematch.imaging.decode import JPEG_HEADER_FACTOR, jpeg_draft_scale

    assert jpeg_draft_scale(8160, 6120) == 2 and jpeg_draft_scale(12000, 9000) == 4
    assert jpeg_draft_scale(4096, 3072) == 1 and jpeg_draft_scale(40000, 1000) == 1
    data = encode(Image.new("RGB", (8160, 6120), (10, 120, 30)), "JPEG", quality=80)
    out = decode_image(data, max_bytes=50_000_000, max_pixels=40_000_000)
    assert out.shape == (3060, 4080, 3) and tuple(int(v) for v in out[1500, 2000]) == pytest.approx((10, 120, 30), abs=3)
    with pytest.raises(NoContentError) as info:  # the short side keeps a long thin JPEG whole: 41 MP decoded
        decode_image(encode(Image.new("L", (41_000, 1_000)), "JPEG"), max_bytes=50_000_000, max_pixels=40_000_000)
    assert info.value.detail == "too_many_pixels"
    with pytest.raises(NoContentError) as info:
        decode_image(data, max_bytes=50_000_000, max_pixels=8160 * 6120 // JPEG_HEADER_FACTOR - 1)
    assert info.value.detail == "too_many_pixels"


def test_j2k_levels_on_malformed_headers():
    from facematch.imaging.decode import j2k_levels

    assert j2k_levels(b"") == 0
    assert j2k_levels(b"\xff\x4f\xff\x51") == 0
    assert j2k_levels(b"\xff\x4f\xff\x51\x00\x01") == 0  # length below 2
    assert j2k_levels(b"\xff\x4f\xff\x51\x00\x02\xff\x52\x00\x0c\x00\x00\x00\x01\x00\x07") == 7
    assert j2k_levels(b"\xff\x4f\xff\x51\x00\x02\xff\x52\x00\x0c\x00") == 0  # COD cut short
    assert j2k_levels(b"\xff\x4f\xff\x51\x00\x02" + b"\xff\x60\x00\x02" * 100) == 0  # bounded walk


def test_heif_opener_is_registered_once_and_only_decodes_the_primary_image():
    import pillow_heif.options

    from facematch.imaging import decode

    assert "HEIF" in Image.OPEN and "HEIF" in decode.ALLOWED_FORMATS
    assert pillow_heif.options.THUMBNAILS is False and pillow_heif.options.DEPTH_IMAGES is False
    assert "MPO" not in decode.ALLOWED_FORMATS  # opened by the JPEG plugin; see ALLOWED_FORMATS


def test_mpo_still_decodes():
    buf = io.BytesIO()
    noisy().save(buf, "MPO", save_all=True, append_images=[noisy(60, 40)])
    assert decode_image(buf.getvalue(), **LIMITS).shape == (90, 120, 3)


def test_pdf_and_eps_still_refused():
    for data in (b"%PDF-1.4\n" + b"0" * 100, b"%!PS-Adobe-3.0 EPSF-3.0\n" + b"0" * 100):
        with pytest.raises(NoContentError):
            decode_image(data, **LIMITS)


def test_decode_budget_makes_a_decode_wait_for_memory_and_lets_a_large_one_run_alone():
    """Decodes hold their estimated memory (``decode_bytes``) from a process-wide budget: one that would pass it
    waits until another gives its share back; one larger than the whole budget still runs, alone."""
    import threading
    import time

    from facematch.imaging.decode import DecodeBudget, decode_bytes

    assert decode_bytes("PNG", 100, 10) == 6_000 and decode_bytes("AVIF", 100, 10) == 8_000
    assert decode_bytes("JPEG", 8160, 6120) == 4080 * 3060 * 6  # decoded drafted, at half its side
    assert decode_bytes("JPEG", 8200, 100) == 8200 * 100 * 6  # draft keeps the short side: no reduction
    five_levels = b"\xff\x4f\xff\x51\x00\x02\xff\x52\x00\x0c\x00\x00\x00\x01\x00\x05"
    no_levels = five_levels[:-1] + b"\x00"
    assert decode_bytes("JPEG2000", 8000, 6000, five_levels) == 4000 * 3000 * 8  # decoded a level down
    assert decode_bytes("JPEG2000", 8000, 6000, no_levels) == 8000 * 6000 * 8  # nothing to drop: full size
    budget = DecodeBudget(10_000)
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with budget.hold(8_000):
            first_in.set()
            time.sleep(0.2)
            order.append("first out")

    def second() -> None:
        first_in.wait()
        with budget.hold(5_000):  # 8,000 + 5,000 > 10,000: waits for the first
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["first out", "second in"] and budget.held == 0
    with budget.hold(50_000):  # larger than the budget: takes all of it, and runs
        assert budget.held == 10_000
    assert budget.held == 0


def test_decode_budget_lets_decodes_in_in_the_order_they_asked():
    """A small decode that would fit does not pass a larger one already waiting: first come, first in."""
    import threading
    import time

    from facematch.imaging.decode import DecodeBudget

    budget = DecodeBudget(10)
    order: list[str] = []
    release = threading.Event()

    def take(name: str, n: int, hold_until: threading.Event | None = None) -> None:
        with budget.hold(n):
            order.append(name)
            if hold_until is not None:
                hold_until.wait(5)

    a = threading.Thread(target=take, args=("a", 8, release))
    a.start()
    while budget.held != 8:
        time.sleep(0.01)
    b = threading.Thread(target=take, args=("b", 5))  # waits for a
    b.start()
    time.sleep(0.1)
    c = threading.Thread(target=take, args=("c", 1))  # would fit beside a, but b asked first
    c.start()
    time.sleep(0.1)
    assert order == ["a"]
    release.set()
    for t in (a, b, c):
        t.join(5)
    assert order == ["a", "b", "c"] and budget.held == 0


def test_decode_with_a_budget_gives_its_share_back_on_success_and_on_failure():
    from facematch.imaging.decode import DecodeBudget

    budget = DecodeBudget(1_000_000)
    out = decode_image(encode(Image.new("RGB", (64, 48), (1, 2, 3)), "PNG"), **LIMITS, budget=budget)
    assert out.shape == (48, 64, 3) and budget.held == 0
    broken = encode(Image.new("RGB", (64, 48)), "PNG")[:60]
    with pytest.raises(NoContentError):
        decode_image(broken, **LIMITS, budget=budget)
    assert budget.held == 0


def test_the_matcher_decodes_within_the_configured_budget():
    from facematch.matcher import build_matcher
    from facematch.models.bundle import ModelBundle, ModelPool
    from facematch.settings import Settings
    from facematch.types import ImageKind
    from tests.support.fakes import FakeDetector, FakeEmbedder, FakeLandmarker

    def matcher(settings: Settings):
        pool = ModelPool([ModelBundle(FakeDetector(), FakeLandmarker(), FakeEmbedder())])
        return build_matcher(settings, pool=pool, parallel=False)

    m = matcher(Settings())
    assert m._decode_budget is not None and m._decode_budget.limit == 320 * 1024 * 1024
    assert m.decode(encode(Image.new("RGB", (40, 30)), "PNG"), ImageKind.PORTRAIT).shape == (30, 40, 3)
    assert m._decode_budget.held == 0
    assert matcher(Settings(limits={"max_decode_bytes": 0}))._decode_budget is None
