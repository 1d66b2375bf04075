"""Pixels in sRGB, whatever RGB colour space the photo was saved in.

An iPhone saves its photos (JPEG and HEIC) in Display P3 and says so in an embedded ICC profile; other
phones and cameras may use Adobe RGB or their own profiles. Decoders hand over the numbers as stored, and
read as sRGB the same colours come out less saturated: the card checks' colour measures (the photocopy
check's a*b* spread of the portrait and the card, ``checks/card.py``) read 16-18 % lower on the dev
data's genuine card photos encoded as Display P3, and 2 of 26 of them became "photocopies"
(docs/checks.md, "Photos in Display P3"). Every limit was fitted on sRGB photos, so a photo with a
profile is converted to sRGB once decoded, as a browser shows it.

Only matrix/TRC RGB profiles are read (three colorants and three tone curves: what phones and cameras
embed), by the small parser below, in Python, never by a native colour engine: a profile is input from
the client like the pixels. A profile that is not one, or is malformed, or is sRGB already, changes
nothing. HEIC's ``nclx`` colour description is read for Display P3 primaries (12) too. The conversion is
relative colorimetric through the profile connection space (D50), as colour engines do for these profiles.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

#: Profiles larger than this are not read (phones and cameras embed 0.5-4 KB; Pillow keeps a JPEG's whole
#: APP2 data, up to 16 MB).
MAX_PROFILE_BYTES = 1 << 18
#: sRGB's colorants adapted to D50, as the ICC's sRGB profile states them (columns: red, green, blue).
_SRGB_D50 = np.array([[0.4360747, 0.3850649, 0.1430804],
                      [0.2225045, 0.7168786, 0.0606169],
                      [0.0139322, 0.0971045, 0.7141733]])
#: Display P3's colorants adapted to D50 (Apple's "Display P3" profile), for HEIC's nclx primaries 12.
_P3_D50 = np.array([[0.5151215, 0.2919769, 0.1571045],
                    [0.2411957, 0.6922455, 0.0665588],
                    [-0.0010529, 0.0418854, 0.7840729]])
#: Largest difference from sRGB's colorants still taken as sRGB (profiles round them differently).
_SAME = 0.003

#: Pixels converted at a time: the 16-bit intermediates of a strip take 12 bytes a pixel.
_STRIP_PIXELS = 1 << 19
#: The tags a matrix/TRC RGB profile describes its colour space by.
_MATRIX_TRC = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")

#: Per channel, a table from 8-bit values to 16-bit linear light (1x256x3, ``cv2.LUT``); the 3x3 matrix from
#: the source's linear RGB to linear sRGB; a table from 16-bit linear light to 8-bit sRGB.
Transform = tuple[npt.NDArray[np.uint16], npt.NDArray[np.float32], npt.NDArray[np.uint8]]


def to_srgb(rgb: npt.NDArray[np.uint8], info: Mapping[Any, Any]) -> npt.NDArray[np.uint8]:
    """``rgb`` (8-bit, as decoded) in sRGB, by the colour space ``info`` (Pillow's ``Image.info``) declares:
    ``icc_profile``, or pillow-heif's ``nclx_profile``; as it is without one, or with one it cannot read.
    Converted in place where ``rgb`` is writable (the decoder's own array)."""
    transform = _from_info(info)
    if transform is None:
        return rgb
    decode, matrix, encode = transform
    out = rgb if rgb.flags.writeable and rgb.flags.c_contiguous else np.ascontiguousarray(rgb).copy()
    step = max(1, _STRIP_PIXELS // max(1, out.shape[1]))
    for top in range(0, out.shape[0], step):  # in strips, in place: a few MB at a time, not 4x the image
        strip = out[top:top + step]
        linear = cv2.LUT(strip, decode)  # per channel: 8-bit value -> 16-bit linear light
        mixed = cv2.transform(linear, matrix)  # the source's linear RGB -> linear sRGB, saturated to 0-65535
        strip[...] = encode[mixed]  # 16-bit linear -> 8-bit sRGB
    return out


def converted_from(info: Mapping[Any, Any]) -> str | None:
    """What ``to_srgb`` converts from, as ``info`` declares it (``Display P3``, ``Adobe RGB (1998)``, the
    profile's own description); None where it leaves the pixels as they are. For reports on photo sets."""
    if _from_info(info) is None:
        return None
    icc = info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        return _description(icc) or "ICC profile"
    return "nclx primaries 12 (Display P3)"


def _description(icc: bytes) -> str | None:
    """The ``desc`` tag's text (ICC v2 ``desc`` or v4 ``mluc``), at most 64 characters; None without one."""
    try:
        tag = _tags(icc, (b"desc",)).get(b"desc", b"")
        if tag[:4] == b"mluc":
            length, start = struct.unpack_from(">II", tag, 20)
            return tag[start:start + length].decode("utf-16-be", "replace")[:64].strip("\0 ") or None
        if tag[:4] == b"desc":
            (length,) = struct.unpack_from(">I", tag, 8)
            return tag[12:12 + length].decode("latin-1", "replace")[:64].strip("\0 ") or None
    except (struct.error, IndexError):
        return None
    return None


def _tags(icc: bytes, wanted: tuple[bytes, ...]) -> dict[bytes, bytes]:
    """The ``wanted`` tags of a profile's tag table, each as its bytes (only those are copied: a profile's
    tags may all name the whole of it); none for a table of more than 100 tags or past the profile's end."""
    (count,) = struct.unpack_from(">I", icc, 128)
    if count > 100 or 132 + 12 * count > len(icc):
        return {}
    tags: dict[bytes, bytes] = {}
    for i in range(count):
        sig, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if sig in wanted and offset + size <= len(icc):
            tags[sig] = icc[offset:offset + size]
    return tags


def _from_info(info: Mapping[Any, Any]) -> Transform | None:
    icc = info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        return transform_of(icc) if len(icc) <= MAX_PROFILE_BYTES else None
    nclx = info.get("nclx_profile")
    if isinstance(nclx, Mapping) and nclx.get("color_primaries") == 12:  # H.273: SMPTE EG 432-1, Display P3
        return _p3()
    return None


@lru_cache(maxsize=1)
def _p3() -> Transform | None:
    curve = _srgb_tables()[0]
    return _build(_P3_D50, (curve, curve, curve))


def transform_of(icc: bytes) -> Transform | None:
    """The conversion to sRGB an ICC profile describes (``Transform``); None where it is not a matrix/TRC RGB
    profile, is malformed, or is sRGB already. The last ``_CACHED`` are kept, by the profile's digest."""
    key = hashlib.sha256(icc).digest()
    if key in _cache:
        return _cache[key]
    transform = _transform_of(icc)
    if len(_cache) >= _CACHED:
        _cache.pop(next(iter(_cache)), None)
    _cache[key] = transform
    return transform


_CACHED = 32
_cache: dict[bytes, Transform | None] = {}


def _transform_of(icc: bytes) -> Transform | None:
    try:
        parsed = _parse(icc)
        if parsed is None:
            return None
        colorants, curves = parsed
        return _build(colorants, tuple(_curve_table(c) for c in curves))
    except (ValueError, struct.error, IndexError, ZeroDivisionError, OverflowError, np.linalg.LinAlgError):
        return None  # malformed: the photo is read as stored


def _build(colorants: np.ndarray, tables: tuple[np.ndarray, ...]) -> Transform | None:
    srgb_curve, encode = _srgb_tables()
    if np.abs(colorants - _SRGB_D50).max() <= _SAME and all(np.abs(t - srgb_curve).max() <= 0.002 for t in tables):
        return None
    matrix = np.linalg.inv(_SRGB_D50) @ colorants
    if not np.all(np.isfinite(matrix)) or np.abs(matrix).max() > 10:
        return None
    decode = np.round(np.stack(tables, axis=-1) * 65535.0).astype(np.uint16).reshape(1, 256, 3)
    return decode, matrix.astype(np.float32), encode


@lru_cache(maxsize=1)
def _srgb_tables() -> tuple[np.ndarray, npt.NDArray[np.uint8]]:
    """sRGB's tone curve at the 256 8-bit values, and the table from 16-bit linear light to 8-bit sRGB (every
    transform shares it)."""
    encode = np.clip(np.round(_srgb_encode(np.arange(65536) / 65535.0) * 255.0), 0, 255).astype(np.uint8)
    return _curve_table(_srgb_curve), encode


def _srgb_curve(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(np.clip(v, 0.0, 1.0), 1 / 2.4) - 0.055)


def _curve_table(curve: Any) -> np.ndarray:
    with np.errstate(all="ignore"):  # a profile's parameters may overflow: such a curve is refused below
        values = np.asarray(curve(np.arange(256) / 255.0), dtype=np.float64)
    if values.shape != (256,) or not np.all(np.isfinite(values)):
        raise ValueError("curve")
    return np.clip(values, 0.0, 1.0)


def _parse(icc: bytes) -> tuple[np.ndarray, tuple[Any, Any, Any]] | None:
    """The colorants (3x3, columns red, green, blue; D50 XYZ) and the three tone curves of a matrix/TRC
    RGB profile; None for any other profile."""
    if len(icc) < 132 or icc[36:40] != b"acsp" or icc[16:20] != b"RGB " or icc[20:24] != b"XYZ ":
        return None
    tags = _tags(icc, _MATRIX_TRC)
    if len(tags) < len(_MATRIX_TRC):
        return None  # a LUT-based profile, or no profile of a display or a camera
    colorants = np.array([_xyz(tags[t]) for t in _MATRIX_TRC[:3]]).T
    r, g, b = (_trc(tags[t]) for t in _MATRIX_TRC[3:])
    return colorants, (r, g, b)


def _xyz(tag: bytes) -> tuple[float, float, float]:
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise ValueError("XYZ")
    x, y, z = struct.unpack_from(">iii", tag, 8)
    return x / 65536.0, y / 65536.0, z / 65536.0


def _trc(tag: bytes) -> Any:
    """A tone curve (encoded value 0-1 -> linear light) from a ``curv`` or ``para`` tag."""
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        if n == 0:
            return lambda v: v
        if n == 1:
            gamma = struct.unpack_from(">H", tag, 12)[0] / 256.0
            return lambda v: np.power(v, gamma)
        if n > 65536 or len(tag) < 12 + 2 * n:
            raise ValueError("curv")
        table = np.frombuffer(tag, ">u2", count=n, offset=12) / 65535.0
        grid = np.linspace(0.0, 1.0, n)
        return lambda v: np.interp(v, grid, table)
    if kind == b"para":
        (function,) = struct.unpack_from(">H", tag, 8)
        sizes = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if function not in sizes or len(tag) < 12 + 4 * sizes[function]:
            raise ValueError("para")
        p = [x / 65536.0 for x in struct.unpack_from(f">{sizes[function]}i", tag, 12)]
        return _parametric(function, p)
    raise ValueError("trc")


def _parametric(function: int, p: list[float]) -> Any:
    """ICC parametricCurveType, functions 0-4 (ICC.1:2010, table 65)."""
    g = p[0]
    if function == 0:
        return lambda v: np.power(v, g)
    a, b = p[1], p[2]
    if function == 1:
        return lambda v: np.where(v >= -b / a, np.power(np.maximum(a * v + b, 0.0), g), 0.0)
    if function == 2:
        c = p[3]
        return lambda v: np.where(v >= -b / a, np.power(np.maximum(a * v + b, 0.0), g) + c, c)
    if function == 3:
        c, d = p[3], p[4]
        return lambda v: np.where(v >= d, np.power(np.maximum(a * v + b, 0.0), g), c * v)
    c, d, e, f = p[3], p[4], p[5], p[6]
    return lambda v: np.where(v >= d, np.power(np.maximum(a * v + b, 0.0), g) + e, c * v + f)
