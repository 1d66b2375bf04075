"""Untrusted bytes -> RGB uint8 array, with limits on bytes and pixels.

The header is read first and the pixel count checked before any pixel is
decoded, so a decompression bomb costs nothing. EXIF orientation is applied.
Animated images give their first frame; CMYK, palette, grey, alpha and 16-bit
images are converted to 8-bit RGB.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from facematch.errors import NoContentError

#: Formats Pillow may even try. Anything else (PDF, SVG, EPS, ...) is refused
#: before a decoder runs.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO")

#: The matcher never needs more than this many pixels on the long side:
#: larger JPEGs are decoded at a reduced DCT scale (``Image.draft``).
WORK_MAX_SIDE = 2048


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int, error=NoContentError) -> np.ndarray:
    """Decode an image. Every failure raises ``error`` (by default errorCode 1)."""
    if not data:
        raise error("empty")
    if len(data) > max_bytes:
        raise error("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            w, h = img.size
            if w < 1 or h < 1 or w * h > max_pixels:
                raise error("too_many_pixels")
            if img.format in ("JPEG", "MPO") and max(w, h) > 2 * WORK_MAX_SIDE:
                img.draft("RGB", (WORK_MAX_SIDE, WORK_MAX_SIDE))
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # no copy when there is nothing to turn
            return _to_rgb(img)
    except error:
        raise
    except (Image.DecompressionBombError, MemoryError):
        raise error("too_many_pixels") from None
    except Exception:  # noqa: BLE001 - any decoder failure on untrusted bytes is "no content"
        raise error("undecodable") from None


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 0
        arr = (arr / hi * 255.0) if hi > 255 else arr
        grey = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    return np.ascontiguousarray(arr)
