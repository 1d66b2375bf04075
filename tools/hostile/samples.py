"""Hostile and unusual image files, generated in memory (no files from ../shared).

``malformed_images(face_rgb)`` returns ``{name: (bytes, expected errorCodes)}``:
decompression bombs, truncated and corrupt files of every accepted format,
foreign formats (HEIC, AVIF, PDF, SVG, EPS, ...), wrong magic bytes, and odd but
valid images (animated, CMYK, 16-bit, palette, alpha, EXIF-rotated) that must
be matched normally.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

OK, NO_CONTENT, NO_FACE = "0", "1", "3"


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side black pixels: ~50 KB on disk, 400 MP
    (1.2 GB as RGB) if it were decoded."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_header_bomb() -> bytes:
    """IHDR claims 100000 x 100000 RGB; almost no data follows."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) \
        + _png_chunk(b"IEND", b"")


def jpeg_dimension_bomb(small_jpeg: bytes) -> bytes:
    """A small JPEG whose SOF header claims 65000 x 65000."""
    data = bytearray(small_jpeg)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i > 0:
            data[i + 5:i + 9] = struct.pack(">HH", 65000, 65000)
            return bytes(data)
    raise ValueError("no SOF marker")


def gif_screen_bomb(small_gif: bytes) -> bytes:
    data = bytearray(small_gif)
    data[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen size
    return bytes(data)


def webp_canvas_bomb() -> bytes:
    """A VP8X header claiming a 16384 x 16384 canvas, no image data."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def bmp_bomb() -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 50000, 50000, 1, 24, 0, 16, 2835, 2835, 0, 0)
    return header + info + b"\x00" * 16


def tiff_bomb() -> bytes:
    img = encode(Image.new("L", (8, 8)), "TIFF")
    with Image.open(io.BytesIO(img)) as probe:
        assert probe.size == (8, 8)
    # Little-endian TIFF: patch the ImageWidth (256) and ImageLength (257) entries.
    data = bytearray(img)
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd:ifd + 2])[0]
    for n in range(count):
        at = ifd + 2 + 12 * n
        tag, typ = struct.unpack("<HH", data[at:at + 4])
        if tag in (256, 257):
            if typ == 3:
                data[at + 8:at + 10] = struct.pack("<H", 60000)
            else:
                data[at + 8:at + 12] = struct.pack("<I", 60000)
    return bytes(data)


def flip_bytes(data: bytes, start_frac: float, count: int, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    start = int(len(out) * start_frac)
    for i in rng.integers(start, len(out) - 2, count):
        out[i] ^= 0xA5
    return bytes(out)


def malformed_images(face: np.ndarray) -> dict[str, tuple[bytes, set[str]]]:
    """``{name: (file bytes, acceptable errorCodes)}`` for one image slot."""
    img = Image.fromarray(face)
    jpeg = encode(img, "JPEG", quality=90)
    png = encode(img, "PNG")
    webp = encode(img, "WEBP", quality=80)
    gif = encode(img.convert("P"), "GIF")
    tiff = encode(img, "TIFF")
    grey = img.convert("L")
    frames = [img, Image.new("RGB", img.size, (0, 0, 0)), Image.new("RGB", img.size, (255, 255, 255))]
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW on display
    rotated = encode(img.rotate(90, expand=True), "JPEG", exif=exif.tobytes())
    g16 = Image.fromarray((np.asarray(grey, dtype=np.uint16) * 257).astype(np.uint16))
    cases: dict[str, tuple[bytes, set[str]]] = {
        # decompression bombs: refused from the header, nothing decoded
        "bomb-png-1bit-400MP": (png_bomb(), {NO_CONTENT}),
        "bomb-png-header-10GP": (png_header_bomb(), {NO_CONTENT}),
        "bomb-jpeg-sof-65000": (jpeg_dimension_bomb(jpeg), {NO_CONTENT}),
        "bomb-gif-screen-65535": (gif_screen_bomb(gif), {NO_CONTENT}),
        "bomb-webp-canvas-16384": (webp_canvas_bomb(), {NO_CONTENT}),
        "bomb-bmp-50000": (bmp_bomb(), {NO_CONTENT}),
        "bomb-tiff-60000": (tiff_bomb(), {NO_CONTENT}),
        # truncated files
        "truncated-jpeg-half": (jpeg[: len(jpeg) // 2], {NO_CONTENT}),
        "truncated-jpeg-header": (jpeg[:200], {NO_CONTENT}),
        "truncated-png-half": (png[: len(png) // 2], {NO_CONTENT}),
        "truncated-png-signature": (png[:8], {NO_CONTENT}),
        "truncated-webp-half": (webp[: len(webp) // 2], {NO_CONTENT}),
        "truncated-gif-half": (gif[: len(gif) // 2], {NO_CONTENT}),
        "truncated-tiff-half": (tiff[: len(tiff) // 2], {NO_CONTENT}),
        # corrupt files: a broken header is unreadable; broken pixel data may
        # still decode to a picture (with or without a face)
        "corrupt-jpeg-header": (jpeg[:2] + flip_bytes(jpeg[2:400], 0.0, 60) + jpeg[400:], {NO_CONTENT, NO_FACE, OK}),
        "corrupt-jpeg-data": (flip_bytes(jpeg, 0.3, 200), {NO_CONTENT, NO_FACE, OK}),
        "corrupt-png-crc": (png[:40] + bytes([png[40] ^ 0xFF]) + png[41:], {NO_CONTENT}),
        "corrupt-png-data": (flip_bytes(png, 0.3, 200), {NO_CONTENT}),
        "corrupt-webp-data": (flip_bytes(webp, 0.3, 200), {NO_CONTENT, NO_FACE, OK}),
        "corrupt-gif-data": (flip_bytes(gif, 0.3, 200), {NO_CONTENT, NO_FACE, OK}),
        # HEIC and AVIF are decoded: a real file is matched, a truncated header is no content
        "heic-truncated": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 500, {NO_CONTENT}),
        "heic-brand-mif1-truncated": (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf" + b"\x01" * 500,
                                      {NO_CONTENT}),
        "avif": (encode(img, "AVIF"), {OK, NO_FACE}),
        "avif-truncated": (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 300, {NO_CONTENT}),
        # formats we do not decode
        "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", {NO_CONTENT}),
        "svg": (b"<svg xmlns='http://www.w3.org/2000/svg' width='9000' height='9000'><rect/></svg>", {NO_CONTENT}),
        "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", {NO_CONTENT}),
        "psd": (b"8BPS\x00\x01" + b"\x00" * 200, {NO_CONTENT}),
        "ico": (encode(img.resize((64, 64)), "ICO"), {NO_CONTENT}),
        "zip": (b"PK\x03\x04" + b"\x00" * 200, {NO_CONTENT}),
        "html": (b"<html><body><img src=x onerror=alert(1)></body></html>", {NO_CONTENT}),
        "text": (b"just some text, no image here", {NO_CONTENT}),
        "zeros": (b"\x00" * 4096, {NO_CONTENT}),
        "one-byte": (b"\xff", {NO_CONTENT}),
        # wrong magic bytes
        "jpeg-with-png-magic": (b"\x89PNG\r\n\x1a\n" + jpeg[8:], {NO_CONTENT}),
        "png-with-jpeg-magic": (b"\xff\xd8\xff\xe0" + png[4:], {NO_CONTENT}),
        "gif-magic-only": (b"GIF89a", {NO_CONTENT}),
        "riff-not-webp": (b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 100, {NO_CONTENT}),
        # odd but valid: decoded like any other image (a face is found)
        "valid-png-named-jpg": (png, {OK}),
        "valid-webp": (webp, {OK}),
        "valid-tiff": (tiff, {OK}),
        "animated-gif": (encode(frames[0].convert("P"), "GIF", save_all=True,
                                append_images=[f.convert("P") for f in frames[1:]]), {OK}),
        "animated-png": (encode(frames[0], "PNG", save_all=True, append_images=frames[1:]), {OK}),
        "animated-webp": (encode(frames[0], "WEBP", save_all=True, append_images=frames[1:]), {OK}),
        "cmyk-jpeg": (encode(img.convert("CMYK"), "JPEG"), {OK}),
        "grey-16bit-png": (encode(g16, "PNG"), {OK}),
        "grey-8bit-jpeg": (encode(grey, "JPEG"), {OK}),
        "palette-png-transparency": (encode(img.convert("P"), "PNG", transparency=0), {OK}),
        "rgba-png": (encode(img.convert("RGBA"), "PNG"), {OK}),
        "exif-rotated-jpeg": (rotated, {OK}),
        "progressive-jpeg": (encode(img, "JPEG", progressive=True), {OK}),
        "one-pixel-png": (encode(Image.new("RGB", (1, 1)), "PNG"), {NO_FACE}),
    }
    return cases
