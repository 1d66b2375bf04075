"""Photos as a phone saves them in another colour space: ICC profiles built here (matrix/TRC RGB, the kind
phones and cameras embed) and sRGB pixels re-encoded in Display P3, as an iPhone stores the same scene.
Test and benchmark data only (``imaging/colour.py`` reads such profiles)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

#: Colorants adapted to D50 (the columns of each space's RGB -> XYZ matrix), as their profiles state them.
DISPLAY_P3 = ((0.5151215, 0.2411957, -0.0010529), (0.2919769, 0.6922455, 0.0418854),
              (0.1571045, 0.0665588, 0.7840729))
ADOBE_RGB = ((0.6097412, 0.3111115, 0.0194702), (0.2052765, 0.6256714, 0.0608673),
             (0.1491852, 0.0632172, 0.7445679))
SRGB = ((0.4360747, 0.2225045, 0.0139322), (0.3850649, 0.7168786, 0.0971045), (0.1430804, 0.0606169, 0.7141733))
#: Linear sRGB -> linear Display P3 (both D65).
SRGB_TO_P3 = np.array([[0.8225, 0.1774, 0.0], [0.0332, 0.9669, 0.0], [0.0171, 0.0724, 0.9108]])


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def srgb_curve() -> bytes:
    """sRGB's tone curve as a ``para`` tag (function 3), as Apple's Display P3 profile has it."""
    values = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return b"para" + bytes(4) + struct.pack(">H", 3) + bytes(2) + b"".join(_s15(v) for v in values)


def gamma_curve(g: float) -> bytes:
    """A pure power curve as a one-entry ``curv`` tag (Adobe RGB: 563/256)."""
    return b"curv" + bytes(4) + struct.pack(">I", 1) + struct.pack(">H", round(g * 256)) + bytes(2)


def sampled_curve(g: float, n: int = 1024) -> bytes:
    """A power curve sampled at ``n`` points as a ``curv`` table."""
    table = np.round(np.linspace(0, 1, n) ** g * 65535).astype(">u2").tobytes()
    return b"curv" + bytes(4) + struct.pack(">I", n) + table


def _text(value: str) -> bytes:
    return b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", 2 * len(value), 28) \
        + value.encode("utf-16-be")


def profile(colorants: tuple[tuple[float, float, float], ...], curve: bytes, name: str = "test") -> bytes:
    """An ICC v4 display profile: a white point, three XYZ colorants, one tone curve for the three channels."""
    tags = [(b"wtpt", b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249))]
    tags += [(sig, b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz))
             for sig, xyz in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True)]
    tags += [(sig, curve) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    tags += [(b"desc", _text(name)), (b"cprt", _text("none"))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + bytes([4, 0x30, 0, 0]) + b"mntr" + b"RGB "
              + b"XYZ " + bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + data


def display_p3_profile() -> bytes:
    return profile(DISPLAY_P3, srgb_curve(), "Display P3")


def to_display_p3(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB pixels as the same colours are stored in Display P3 (same tone curve, wider primaries)."""
    v = rgb.astype(np.float64) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4) @ SRGB_TO_P3.T
    linear = np.clip(linear, 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.round(encoded * 255.0), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, icc: bytes | None = None, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **({"icc_profile": icc} if icc else {}))
    return buf.getvalue()
