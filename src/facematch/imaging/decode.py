"""Untrusted bytes -> RGB uint8 array, with limits on bytes and pixels.

The header is read first and the pixel count checked before any pixel is
decoded, so a decompression bomb costs nothing. EXIF orientation is applied.
Animated images give their first frame; CMYK, palette, grey, alpha and 16-bit
images are converted to 8-bit RGB.

Formats (docs/api.md, "Image formats"): JPEG, PNG, WebP, GIF, BMP, TIFF, MPO,
JPEG 2000 (the ``.jp2`` file format and the raw ``.j2k`` codestream, as the
CCCD chip's portrait comes), AVIF (both decoded by Pillow itself) and
HEIC/HEIF (iPhone photos; pillow-heif's plugin, registered once below).
Large JPEGs are decoded at a reduced DCT scale (``Image.draft``), large JPEG
2000 images at a reduced resolution level (``reduce``), and large images of
the other formats are halved once decoded (``work_halvings``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import threading
import warnings
from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import Image, ImageFile, ImageOps

from facematch import cancel
from facematch.errors import FaceMatchError, NoContentError
from facematch.imaging import colour

# HEIC/HEIF: pillow-heif's opener, registered once, at import. Process-wide it
# adds the format "HEIF" (opener, saver, MIME type and extensions) to Pillow's
# registry and sets pillow-heif's own options, nothing else. The options below
# make it decode the primary image only: no embedded thumbnail (which could
# show another picture than the image itself), no depth or auxiliary images.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

#: Formats Pillow may even try. Anything else (PDF, SVG, EPS, ...) is refused
#: before a decoder runs. MPO (multi-picture JPEG) is opened by the JPEG
#: plugin and is no name of its own in Pillow's registry: listing it would
#: end the search with a KeyError before the formats after it are tried.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "JPEG2000", "HEIF", "AVIF")

#: File-name suffixes of those formats (docs/api.md, "Image formats"), for the tools that read a folder of
#: photos (``facematch checks``, ``pad-limit``, ``adapt``): a file the service would decode is not skipped
#: for its name.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".mpo", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".jp2",
                            ".j2k", ".j2c", ".heic", ".heif", ".hif", ".avif"})

#: The matcher never needs more than this many pixels on the long side:
#: larger JPEGs are decoded at a reduced DCT scale (``Image.draft``: each side
#: kept at least this), larger JPEG 2000 images at a reduced resolution level
#: (``reduce``) and other formats halved once decoded (``work_halvings``: the
#: long side kept at least this).
WORK_MAX_SIDE = 2048

#: JPEG 2000 markers (ISO/IEC 15444-1, A.2): start of codestream + image size,
#: coding style default, start of tile.
_J2K_START = b"\xff\x4f\xff\x51"
_J2K_COD = 0xFF52
_J2K_SOT = 0xFF90
#: The main header's markers walked to find COD: at most this many.
_J2K_MAX_MARKERS = 64

RGBArray = npt.NDArray[np.uint8]

#: Modes Pillow's ``Image.reduce`` (box averaging, before any conversion) takes: a large PNG, WebP, TIFF, HEIC
#: or AVIF is reduced right after decoding, before the full-size RGB array exists.
_REDUCIBLE = frozenset({"RGB", "RGBA", "RGBX", "L", "LA", "PA", "I", "F", "CMYK", "YCbCr"})


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int,
                 error: type[FaceMatchError] = NoContentError, budget: DecodeBudget | None = None) -> RGBArray:
    """Decode an image. Every failure raises ``error`` (by default errorCode 1). With a ``budget``, the decoding
    waits until the memory it is estimated to hold (``decode_bytes``, from the header) is free."""
    if not data:
        raise error("empty")
    if len(data) > max_bytes:
        raise error("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            w, h = img.size
            if w < 1 or h < 1 or not _within(img.format, w, h, max_pixels):
                raise error("too_many_pixels")
            with budget.hold(decode_bytes(img.format, w, h, data)) if budget is not None else contextlib.nullcontext():
                return colour.to_srgb(_decode(img, data, w, h), img.info)
    except error:
        raise
    except (Image.DecompressionBombError, MemoryError):
        raise error("too_many_pixels") from None
    except Exception:  # noqa: BLE001 - any decoder failure on untrusted bytes is "no content"
        raise error("undecodable") from None


@dataclasses.dataclass(frozen=True)
class Header:
    """What an encoded image's header says, for reports on photo sets (``facematch checks``)."""

    format: str  # Pillow's name: JPEG, PNG, HEIF...
    width: int
    height: int
    #: The IJG quality its luminance quantization table corresponds to (JPEG only; phones use tables of their
    #: own, so an indication), else None.
    jpeg_quality: int | None
    #: The colour space decoding converts from to sRGB (``colour.to_srgb``: ``Display P3``...), else None.
    colour: str | None


#: IJG's luminance quantization table at quality 50 (libjpeg's ``std_luminance_quant_tbl``), summed.
_IJG_LUMINANCE_SUM = 3688


def header(data: bytes) -> Header | None:
    """``data``'s header, read without decoding its pixels; None for an image the decoder refuses."""
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            quality = None
            tables = getattr(img, "quantization", None)
            if img.format in ("JPEG", "MPO") and tables:
                scale = 100.0 * sum(tables[0]) / _IJG_LUMINANCE_SUM  # libjpeg: 5000 / q below 50, 200 - 2q above
                quality = round((200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale)
                quality = max(1, min(100, quality))
            return Header(str(img.format), img.width, img.height, quality, colour.converted_from(img.info))
    except Exception:  # noqa: BLE001 - an image the decoder refuses has no header worth reporting
        return None


#: A JPEG above twice ``WORK_MAX_SIDE`` is decoded reduced (``draft``), so its pixel limit counts the pixels
#: decoded; its header may declare up to this many times the limit: a 50- or 108-megapixel phone photo is
#: read at a half or a quarter of its side, where it was refused before. The byte limit bounds the rest.
JPEG_HEADER_FACTOR = 4


def jpeg_draft_scale(w: int, h: int) -> int:
    """The reduction ``draft`` gives a ``w`` x ``h`` JPEG here: 1 up to twice ``WORK_MAX_SIDE``, else the
    largest of 8, 4 and 2 that leaves both sides at least ``WORK_MAX_SIDE`` (Pillow's rule), or 1."""
    if max(w, h) <= 2 * WORK_MAX_SIDE:
        return 1
    fits = min(w // WORK_MAX_SIDE, h // WORK_MAX_SIDE)
    return next((s for s in (8, 4, 2) if fits >= s), 1)


def _within(fmt: str | None, w: int, h: int, max_pixels: int) -> bool:
    """The image's pixels within ``max_pixels``: as decoded for a JPEG (``jpeg_draft_scale``), whose header
    may then declare up to ``JPEG_HEADER_FACTOR`` times the limit; as declared for every other format."""
    if fmt in ("JPEG", "MPO"):
        s = jpeg_draft_scale(w, h)
        return w * h <= JPEG_HEADER_FACTOR * max_pixels and (w // s) * (h // s) <= max_pixels
    return w * h <= max_pixels


def _decode(img: ImageFile.ImageFile, data: bytes, w: int, h: int) -> RGBArray:
    if img.format in ("JPEG", "MPO") and max(w, h) > 2 * WORK_MAX_SIDE:
        img.draft("RGB", (WORK_MAX_SIDE, WORK_MAX_SIDE))
    elif img.format in ("JPEG", "MPO") and img.mode == "RGB":
        direct = _colour_jpeg(data, w, h, _orientation(img))
        if direct is not None:
            return direct
    elif img.format == "WEBP" and img.mode == "RGB" and not getattr(img, "is_animated", False):
        direct = _opencv_rgb(data, w, h, _orientation(img))
        if direct is not None:
            return _halved(direct, work_halvings(w, h))
    halvings = 0
    if img.format == "JPEG2000":
        factor = j2k_reduce(data, w, h)
        if factor:
            img.reduce = factor  # type: ignore[assignment, method-assign]
    elif img.format not in ("JPEG", "MPO"):
        halvings = work_halvings(w, h)
    img.load()
    ImageOps.exif_transpose(img, in_place=True)  # no copy when there is nothing to turn
    return _to_rgb(img, halvings)


#: Peak memory of decoding, in bytes per pixel decoded (after a JPEG's draft or a JPEG 2000's reduced level),
#: as measured on 40-megapixel images of each format (docs/security.md, "Large images within the limits"):
#: 5.0-5.2 for WebP (OpenCV), PNG, GIF and TIFF and about 6 for a drafted JPEG, 6.6 for HEIC, 8 for AVIF;
#: JPEG 2000 was not measured and counts as AVIF does.
_BYTES_PER_PIXEL = {"HEIF": 7, "AVIF": 8, "JPEG2000": 8}
_DEFAULT_BYTES_PER_PIXEL = 6


def decode_bytes(fmt: str | None, w: int, h: int, data: bytes = b"") -> int:
    """The memory decoding a ``w`` x ``h`` image of format ``fmt`` (Pillow's name) is estimated to hold at its
    peak: the pixels it decodes (a large JPEG is decoded drafted; a large JPEG 2000 at a reduced level, as far
    as its codestream ``data`` has levels to drop, ``j2k_reduce``: one with none decodes at full size) times
    ``_BYTES_PER_PIXEL``."""
    if fmt in ("JPEG", "MPO"):
        s = jpeg_draft_scale(w, h)
        w, h = w // s, h // s
    elif fmt == "JPEG2000":
        k = j2k_reduce(data, w, h)
        w, h = w >> k, h >> k
    return w * h * _BYTES_PER_PIXEL.get(fmt or "", _DEFAULT_BYTES_PER_PIXEL)


class DecodeBudget:
    """At most ``limit`` bytes of decoding in flight in this process: a decode estimated to pass it waits until
    enough of the others are done. Its estimate is capped at ``limit``, so that an image larger than the
    whole budget still decodes, alone. Decodes are let in in the order they asked (a ticket each), so a large
    one is not passed over for ever by small ones that keep coming. No lock is held while waiting on another:
    each decode holds one share at a time and gives it back when its pixels are out, so waits end. A decode
    whose request gave up while it waited (``facematch.cancel``) leaves the line within ``POLL_S``, and the
    ones behind it move up."""

    #: Seconds between two looks, while waiting, at whether the request gave up.
    POLL_S = 0.05

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._held = 0
        self._tickets = 0  # handed out
        self._serving = 0  # the ticket let in next
        self._gone: set[int] = set()  # tickets whose work was abandoned while waiting
        self._changed = threading.Condition()

    def _pass_gone(self) -> None:
        while self._serving in self._gone:
            self._gone.remove(self._serving)
            self._serving += 1

    @contextlib.contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        share = min(max(0, nbytes), self.limit)
        with self._changed:
            ticket = self._tickets
            self._tickets += 1
            try:
                while not (self._serving == ticket and self._held + share <= self.limit):
                    cancel.checkpoint()  # a request that gave up stops waiting (``facematch.cancel``)
                    self._changed.wait(self.POLL_S)
            except cancel.Abandoned:
                self._gone.add(ticket)  # its turn is passed over
                self._pass_gone()
                self._changed.notify_all()
                raise
            self._held += share
            self._serving += 1
            self._pass_gone()
            self._changed.notify_all()  # the next ticket may fit beside this one
        try:
            yield
        finally:
            with self._changed:
                self._held -= share
                self._changed.notify_all()

    @property
    def held(self) -> int:
        return self._held


#: EXIF orientation -> the array operation that shows the picture upright (as ``ImageOps.exif_transpose``).
_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1),
}


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no orientation, as for exif_transpose
        return 1
    return value if isinstance(value, int) and value in _ORIENT else 1


def _halved(rgb: RGBArray, halvings: int) -> RGBArray:
    """``rgb`` halved ``halvings`` times (area averaging)."""
    if not halvings:
        return rgb
    size = (max(1, rgb.shape[1] >> halvings), max(1, rgb.shape[0] >> halvings))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _colour_jpeg(data: bytes, w: int, h: int, orientation: int) -> RGBArray | None:
    """A colour JPEG decoded by OpenCV straight into one RGB array (the same libjpeg-turbo decoding as
    Pillow's: equal pixels, ``tests/unit/test_decode_strips.py``). Pillow keeps RGB at 4 bytes a pixel and
    its image lives beside the array it is copied into: 23 + 17 MB at once for a 3039x1880 card photo,
    17 MB this way (docs/performance.md, "Memory"). None where Pillow must decide: a stream that does not
    end in an EOI marker (Pillow refuses truncated files; OpenCV would pad them grey), or one OpenCV
    cannot read, or one whose size differs from its header."""
    if not data.rstrip(b"\x00\r\n").endswith(b"\xff\xd9"):
        return None
    return _opencv_rgb(data, w, h, orientation)


def _opencv_rgb(data: bytes, w: int, h: int, orientation: int) -> RGBArray | None:
    """``data`` (a colour JPEG or a still WebP without alpha, its header already read by Pillow) decoded by
    OpenCV into one RGB array, turned as its EXIF says; None where OpenCV cannot read it or its size differs
    from the header. For WebP, Pillow's decoder (libwebp's animation decoder) holds about 15 bytes a pixel
    at its peak, OpenCV's about 6, with equal pixels (``tests/unit/test_decode.py``): a 40-megapixel WebP of
    880 KB took 615 MB (docs/security.md)."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.shape != (h, w, 3):
        return None
    rgb: RGBArray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr), np.uint8)
    if orientation != 1:
        return np.ascontiguousarray(_ORIENT[orientation](rgb), dtype=np.uint8)
    return rgb


def work_halvings(width: int, height: int) -> int:
    """How many times a ``width`` x ``height`` image is halved once decoded: none up to twice
    ``WORK_MAX_SIDE``, else the most that keeps the long side at least ``WORK_MAX_SIDE``. (A JPEG's ``draft``
    keeps each side at least that, ``jpeg_draft_scale``: a long, thin JPEG is reduced less.)"""
    side, halvings = max(width, height), 0
    if side <= 2 * WORK_MAX_SIDE:
        return 0
    while side >> (halvings + 1) >= WORK_MAX_SIDE:
        halvings += 1
    return halvings


def j2k_reduce(data: bytes, width: int, height: int) -> int:
    """How many resolution levels to drop when decoding a ``width`` x
    ``height`` JPEG 2000 image: ``work_halvings``, never more than the
    codestream's decomposition levels (its COD marker; 0 when it cannot be
    read)."""
    halvings = work_halvings(width, height)
    return min(halvings, j2k_levels(data)) if halvings else 0


def j2k_levels(data: bytes) -> int:
    """Number of wavelet decomposition levels in the COD marker of the first
    JPEG 2000 codestream in ``data``; 0 when there is none or it is malformed."""
    pos = data.find(_J2K_START)
    if pos < 0:
        return 0
    pos += 2  # past SOC, at SIZ
    for _ in range(_J2K_MAX_MARKERS):
        if pos + 4 > len(data):
            return 0
        marker = int.from_bytes(data[pos:pos + 2], "big")
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == _J2K_SOT or marker >> 8 != 0xFF or length < 2:
            return 0
        if marker == _J2K_COD:
            # Lcod(2) Scod(1) SGcod(4: progression, layers(2), MCT) SPcod: levels first.
            return data[pos + 9] if length >= 8 and pos + 9 < len(data) else 0
        pos += 2 + length
    return 0


def _to_rgb(img: Image.Image, halvings: int = 0) -> RGBArray:
    """``img`` as 8-bit RGB (alpha over white, 16-bit scaled to its maximum), halved ``halvings`` times (Pillow's
    ``reduce`` before the array is made where the mode allows it)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 0
        arr = (arr / hi * 255.0) if hi > 255 else arr
        grey = np.clip(arr, 0, 255).astype(np.uint8)
        return _halved(np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)), halvings)
    if halvings and img.mode in _REDUCIBLE:
        img, halvings = img.reduce(1 << halvings), 0
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    if halvings:  # a palette or 1-bit image: reduced once RGB, before its pixels are copied out
        img = img.reduce(1 << halvings)
    return _pixels(img)


#: Rows copied out of Pillow's image at a time: about this many bytes.
STRIP_BYTES = 1 << 20


def _pixels(img: Image.Image) -> RGBArray:
    """An RGB image's pixels as a new array, copied a strip of rows at a time. ``np.asarray(img)`` goes
    through ``tobytes``, which joins the encoded pieces into one ``bytes``: twice the image's size at once
    (29.5 MB for a 2868x1796 photo, against 16.7 MB this way; benchmarks/memory.py, docs/performance.md)."""
    w, h = img.size
    out: RGBArray = np.empty((h, w, 3), np.uint8)
    step = max(1, STRIP_BYTES // (3 * w))
    for y in range(0, h, step):
        rows = img.crop((0, y, w, min(h, y + step))).tobytes()
        out[y:y + step] = np.frombuffer(rows, np.uint8).reshape(-1, w, 3)
    return out
