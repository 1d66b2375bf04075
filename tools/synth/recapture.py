"""Presentation attacks simulated from a camera photo: the photo shown on a
screen, or printed, and photographed again. Test and benchmark data only.

Both functions return an image of the input's size, as a face crop of the
re-photograph would be. Each step is a physical one, with its parameters
drawn at random over the range real devices cover (``rng`` makes it
reproducible):

:func:`screen_replay`
    1. the photo is decoded to linear light (sRGB ~ gamma 2.2);
    2. the display: its gamut (saturation 0.85-1.25 of sRGB's, an OLED's is
       wider, an office LCD's narrower), a white point cooler than indoor
       light (blue gain 1.0-1.15, red 0.88-1.0), a black level of 0.3-4 % of
       white plus ambient light reflected by the glass;
    3. its pixel grid: each screen pixel is 0.7-2.4 camera pixels wide,
       made of three vertical R, G, B stripes and a dark matrix line; the
       camera samples it slightly rotated, which aliases into moire;
    4. a specular reflection on the glass (a window or a lamp, 60 % of
       the time), a soft bright blob;
    5. the camera: defocus blur (sigma 0.4-1.6 px), resolution lost to
       distance (down then up by 0.45-1), auto-exposure, re-encoding to
       sRGB with a tone curve, sensor noise, JPEG 60-92.

:func:`print_attack`
    1. ink on paper: the gamut of CMY inks (saturation 0.6-0.9), a
       maximum density leaving black at 4-12 % reflectance, paper white
       slightly warm or blue (optical brighteners);
    2. halftoning: clustered-dot CMY screens at 15/75/0 degrees (laser,
       offset) with a period of 2-6 camera pixels, or a stochastic
       (inkjet) dither, half the time each;
    3. the room light: colour temperature cast, a light gradient, a matte
       sheen (35 % of the time);
    4. the camera, as above.

What it does not model: paper edges and screen bezels (the crops are of the
face), fingers, curved paper, 3D masks, and the screen's refresh flicker.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["print_attack", "screen_replay"]


def _linear(img: np.ndarray) -> np.ndarray:
    return (img.astype(np.float32) / 255.0) ** 2.2


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    return yy.astype(np.float32), xx.astype(np.float32)


def _saturate(lin: np.ndarray, factor: float) -> np.ndarray:
    grey = lin @ np.float32([0.2126, 0.7152, 0.0722])
    return grey[:, :, None] + (lin - grey[:, :, None]) * np.float32(factor)


def _camera(lin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-photograph linear light ``lin`` (float32, HxWx3): blur, lost
    resolution, auto-exposure, tone curve, noise, JPEG; RGB uint8 back."""
    h, w = lin.shape[:2]
    out = cv2.GaussianBlur(lin, (0, 0), rng.uniform(0.4, 1.6))
    k = rng.uniform(0.45, 1.0)
    if k < 0.95:
        small = cv2.resize(out, (max(8, int(w * k)), max(8, int(h * k))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out = out * np.float32(rng.uniform(0.16, 0.24) / max(float(out.mean()), 1e-4))  # auto-exposure to mid grey
    out = np.clip(out, 0, 1) ** np.float32(1 / rng.uniform(2.0, 2.5))
    s = rng.uniform(0.0, 0.35)  # camera's S-shaped tone curve
    out = out + np.float32(s) * out * (1 - out) * (2 * out - 1)
    out = out * 255 + rng.normal(0, rng.uniform(1.0, 4.0), out.shape).astype(np.float32)
    u8 = np.clip(out, 0, 255).astype(np.uint8)
    quality = int(rng.integers(60, 93))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _glare(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A soft elliptical reflection, peak 0.3-1.5 of white, in linear light."""
    yy, xx = _grid(h, w)
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    rx, ry = rng.uniform(0.1, 0.4) * w, rng.uniform(0.05, 0.3) * h
    a = rng.uniform(0, math.pi)
    u = ((xx - cx) * math.cos(a) + (yy - cy) * math.sin(a)) / rx
    v = (-(xx - cx) * math.sin(a) + (yy - cy) * math.cos(a)) / ry
    return (rng.uniform(0.3, 1.5) * np.exp(-(u * u + v * v) * 2)).astype(np.float32)


def screen_replay(image: np.ndarray, rng: np.random.Generator | int) -> np.ndarray:
    """``image`` (RGB uint8) shown on a phone or monitor and filmed again."""
    rng = np.random.default_rng(rng)
    h, w = image.shape[:2]
    lin = _saturate(_linear(image), rng.uniform(0.85, 1.25))
    white = np.float32([rng.uniform(0.88, 1.0), 1.0, rng.uniform(1.0, 1.15)])
    lin = np.clip(lin, 0, 1) * white
    # The pixel grid, rendered at 3 samples a screen pixel (one per stripe) and
    # resampled onto the camera's grid with a small rotation.
    pitch = rng.uniform(0.7, 2.4)  # camera pixels per screen pixel
    sub = 3
    sh, sw = max(2, round(h / pitch)), max(2, round(w / pitch))
    shown = cv2.resize(lin, (sw, sh), interpolation=cv2.INTER_AREA)
    up = np.repeat(np.repeat(shown, sub, axis=0), sub, axis=1)
    stripes = np.zeros((sub, sub, 3), np.float32)
    for c in range(3):
        stripes[:, c, c] = 3.0  # each stripe lights one primary, at 3x to keep the mean
    stripes[sub - 1] *= np.float32(rng.uniform(0.3, 0.7))  # the dark matrix line
    up *= np.tile(stripes, (sh, sw, 1))
    ang = math.radians(rng.uniform(-4, 4))
    scale = pitch / sub  # camera pixels per sub-sample
    ca, sa = math.cos(ang) * scale, math.sin(ang) * scale
    cx, cy = sw * sub / 2, sh * sub / 2
    m = np.float32([[ca, -sa, w / 2 - (ca * cx - sa * cy)], [sa, ca, h / 2 - (sa * cx + ca * cy)]])
    # Optics integrate over each camera pixel: pre-blur at the sub-sample scale.
    up = cv2.GaussianBlur(up, (0, 0), max(0.3, 0.5 / scale))
    lin = cv2.warpAffine(up, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lin = lin + np.float32(rng.uniform(0.003, 0.04))  # black level + reflected room light
    if rng.random() < 0.6:
        lin = lin + _glare(h, w, rng)[:, :, None] * np.float32(rng.uniform(0.3, 1.0))
    return _camera(lin, rng)


def _halftone(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = ink.shape[:2]
    if rng.random() < 0.5:  # clustered-dot screens (laser, offset)
        yy, xx = _grid(h, w)
        period = rng.uniform(2.0, 6.0)
        base = rng.uniform(0, 90)
        out = np.empty_like(ink)
        for c, deg in enumerate((15.0, 75.0, 0.0)):
            a = math.radians(base + deg)
            u = (xx * math.cos(a) + yy * math.sin(a)) * (2 * math.pi / period)
            v = (-xx * math.sin(a) + yy * math.cos(a)) * (2 * math.pi / period)
            threshold = 0.5 - 0.5 * np.cos(u) * np.cos(v)  # 0 at the dot centres
            out[:, :, c] = np.clip((ink[:, :, c] - threshold) * 4 + 0.5, 0, 1)
        return out
    # Stochastic (inkjet) dither: droplets at twice the camera's resolution,
    # which the camera's pixels average two by two.
    fine = cv2.resize(ink, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    dots = (fine > rng.random(fine.shape).astype(np.float32)).astype(np.float32)
    return cv2.resize(dots, (w, h), interpolation=cv2.INTER_AREA)


def print_attack(image: np.ndarray, rng: np.random.Generator | int) -> np.ndarray:
    """``image`` (RGB uint8) printed on paper and photographed again."""
    rng = np.random.default_rng(rng)
    h, w = image.shape[:2]
    # The printer's input: the photo, desaturated to what CMY inks can reach.
    srgb = np.clip(_saturate(_linear(image), rng.uniform(0.6, 0.9)), 0, 1) ** np.float32(1 / 2.2)
    ink = _halftone(1.0 - srgb, rng)
    dot_gain = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.3, 0.7))
    dmin = rng.uniform(0.04, 0.12)  # reflectance of full ink
    absorb = np.float32([0.9, 0.85, 0.8])  # C absorbs R, M absorbs G, Y absorbs B (imperfectly)
    refl = 1 - (1 - dmin) * dot_gain * absorb
    paper = np.float32([rng.uniform(0.92, 1.0), rng.uniform(0.93, 1.0), rng.uniform(0.88, 1.04)])
    lin = paper * refl
    light = np.float32([rng.uniform(1.0, 1.12), 1.0, rng.uniform(0.8, 1.0)])  # indoor light, warmer than D65
    yy, xx = _grid(h, w)
    a = rng.uniform(0, 2 * math.pi)
    ramp = ((xx / max(w, 1) - 0.5) * math.cos(a) + (yy / max(h, 1) - 0.5) * math.sin(a)).astype(np.float32)
    lin = lin * light * (1 + rng.uniform(0.05, 0.3) * ramp)[:, :, None]
    if rng.random() < 0.35:  # sheen of a glossy or laminated print
        lin = lin + _glare(h, w, rng)[:, :, None] * np.float32(rng.uniform(0.1, 0.4))
    return _camera(lin, rng)
