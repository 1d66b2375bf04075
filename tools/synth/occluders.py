"""Synthetic occluders drawn over a real face: dark lenses, clear glasses, a
surgical mask, a cap. For tests and for tuning the occlusion checks only;
they are not the measure of success (real photos are, see docs/checks.md).

Shapes are laid out in the face frame of :mod:`facematch.checks.occlusion`
(eye centres at (-0.5, 0) and (0.5, 0), mouth centre at (0, 1.15), in eye
distances) and mapped into the image with the face mesh, so they follow the
face's size, roll and position. Every function takes an RGB ``uint8`` image,
the (468, 2+) mesh points of the face in it and a seed or generator, and
returns a new image.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from facematch.checks.occlusion import CANONICAL, EYE_A, EYE_B, MOUTH

RngLike = np.random.Generator | int | None

#: Lens tints (RGB) and how much of the face shows through each.
LENS_TINTS = ((38, 38, 42), (70, 46, 28), (32, 52, 36), (28, 36, 62), (60, 60, 64))
MASK_COLOURS = ((236, 238, 240), (150, 192, 222), (34, 34, 38), (118, 120, 126), (232, 172, 188), (104, 150, 120))
CAP_COLOURS = ((28, 36, 70), (180, 30, 36), (24, 24, 26), (232, 232, 228), (190, 170, 128), (40, 90, 52),
               (230, 120, 30))
#: Lower half of MediaPipe's face oval, ear to ear under the chin.
JAW = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454)


def _rng(rng: RngLike) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def face_affine(points: np.ndarray) -> np.ndarray:
    """2x3 affine taking face units to image pixels."""
    src = np.float32([points[list(EYE_A), :2].mean(0), points[list(EYE_B), :2].mean(0),
                      points[list(MOUTH), :2].mean(0)])
    return cv2.getAffineTransform(CANONICAL, src)


def _to_image(affine: np.ndarray, uv: np.ndarray) -> np.ndarray:
    return np.asarray(uv, np.float32) @ affine[:, :2].T + affine[:, 2]


def _to_face(affine: np.ndarray, xy: np.ndarray) -> np.ndarray:
    inv = cv2.invertAffineTransform(affine)
    return np.asarray(xy, np.float32) @ inv[:, :2].T + inv[:, 2]


def _unit(affine: np.ndarray) -> float:
    """Pixels per face unit."""
    return float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48, power: float = 2.0) -> np.ndarray:
    """Points of a superellipse (power 2: ellipse; larger: squarer)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = cx + rx * np.sign(c) * np.abs(c) ** (2 / power)
    y = cy + ry * np.sign(s) * np.abs(s) ** (2 / power)
    return np.stack([x, y], 1)


def _fill(shape: tuple[int, int], polygons: list[np.ndarray], soft: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of ``polygons`` (image pixels)."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(p * 16).astype(np.int32) for p in polygons], 255, cv2.LINE_AA, 4)
    a = m.astype(np.float32) / 255.0
    return cv2.GaussianBlur(a, (0, 0), soft) if soft > 0.3 else a


def _lines(shape: tuple[int, int], polylines: list[np.ndarray], width: float) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    pts = [np.round(p * 16).astype(np.int32) for p in polylines]
    cv2.polylines(m, pts, False, 255, max(1, round(width)), cv2.LINE_AA, 4)
    return m.astype(np.float32) / 255.0


def _blend(img: np.ndarray, alpha: np.ndarray, layer: np.ndarray) -> np.ndarray:
    a = alpha[:, :, None]
    return img * (1 - a) + layer * a


def _canvas(rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The image as float32, the face frame's affine (``face_affine``) and its unit in pixels."""
    aff = face_affine(points)
    return rgb.astype(np.float32), aff, _unit(aff)


def _glasses(rgb: np.ndarray, points: np.ndarray, rng: np.random.Generator, transmission: float,
             tint: tuple[int, int, int]) -> np.ndarray:
    img, aff, u = _canvas(rgb, points)
    h, w = img.shape[:2]
    rx, ry = rng.uniform(0.36, 0.42), rng.uniform(0.26, 0.34)
    cy = rng.uniform(0.02, 0.1)
    power = rng.uniform(2.0, 4.0)
    lenses = [_to_image(aff, _ellipse(sx * 0.5, cy, rx, ry, power=power)) for sx in (-1, 1)]
    inside = _fill((h, w), lenses, 0.02 * u)
    # The lens: the face seen through a tinted filter, with a soft reflection band.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    band = np.cos((xx * np.cos(ang) + yy * np.sin(ang)) / (rng.uniform(0.3, 0.6) * u) + rng.uniform(0, 6.3))
    glare = np.clip(band, 0, 1) ** 3 * rng.uniform(10, 50)
    lens = img * transmission + np.float32(tint) * (1 - transmission) + glare[:, :, None]
    out = _blend(img, inside, lens)
    # Frame: rims, bridge and the arms towards the ears.
    frame_col = np.float32(tint) * rng.uniform(0.3, 1.0) if rng.random() < 0.7 else np.float32(rng.integers(0, 255, 3))
    width = rng.uniform(0.025, 0.06) * u
    rims = [np.vstack([p, p[:1]]) for p in lenses]
    bridge = _to_image(aff, np.array([[-0.5 + rx * 0.95, cy - 0.05], [0.0, cy - 0.1], [0.5 - rx * 0.95, cy - 0.05]]))
    arms = [_to_image(aff, np.array([[s * (0.5 + rx), cy - 0.05], [s * 1.1, cy - 0.12]])) for s in (-1, 1)]
    frame = _lines((h, w), rims + [bridge] + arms, width)
    out = _blend(out, frame, np.broadcast_to(frame_col, out.shape))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def draw_sunglasses(rgb: np.ndarray, points: np.ndarray, rng: RngLike = None,
                    tint: tuple[int, int, int] | None = None) -> np.ndarray:
    """Dark lenses (5-30 % of the face shows through) in a random (or the given) tint and shape."""
    rng = _rng(rng)
    tint = tint or LENS_TINTS[int(rng.integers(len(LENS_TINTS)))]
    return _glasses(rgb, points, rng, float(rng.uniform(0.05, 0.3)), tint)


def draw_clear_glasses(rgb: np.ndarray, points: np.ndarray, rng: RngLike = None) -> np.ndarray:
    """Prescription glasses: a frame and nearly clear lenses (the negative for sunglasses)."""
    rng = _rng(rng)
    return _glasses(rgb, points, rng, float(rng.uniform(0.88, 0.97)), (200, 205, 210))


def draw_mask(rgb: np.ndarray, points: np.ndarray, rng: RngLike = None,
              colour: tuple[int, int, int] | None = None) -> np.ndarray:
    """A surgical or cloth mask from the nose bridge to under the chin, with pleats and ear loops."""
    rng = _rng(rng)
    img, aff, u = _canvas(rgb, points)
    h, w = img.shape[:2]
    jaw = _to_face(aff, points[list(JAW), :2])
    top = rng.uniform(0.22, 0.38)
    jaw = jaw[jaw[:, 1] > top]
    jaw = jaw + np.stack([np.sign(jaw[:, 0]) * 0.04, np.full(len(jaw), 0.08)], 1)  # a little beyond the skin
    edge = np.array([[x, top + 0.12 * x * x] for x in np.linspace(jaw[-1, 0], jaw[0, 0], 12)])
    outline = _to_image(aff, np.vstack([jaw, edge]))
    cover = _fill((h, w), [outline], 0.015 * u)
    base = colour or MASK_COLOURS[int(rng.integers(len(MASK_COLOURS)))]
    colour = np.float32(base) + np.float32(rng.uniform(-10, 10, 3))
    # Shading: lighter on the nose and cheeks, darker under the chin; pleats.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inv = cv2.invertAffineTransform(aff)
    v = xx * inv[1, 0] + yy * inv[1, 1] + inv[1, 2]  # face-frame height of each pixel
    shade = 1.0 + 0.08 * np.cos((v - 0.6) * 2.0) - 0.12 * np.clip(v - 1.3, 0, 1)
    pleats = sum(np.exp(-0.5 * ((v - p) / 0.02) ** 2) for p in (0.65, 0.9, 1.15)) * rng.uniform(0.05, 0.15)
    layer = colour * (shade - pleats)[:, :, None] + rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
    out = _blend(img, cover, layer)
    loops = [_to_image(aff, np.array([[s * 0.85, top + 0.1], [s * 1.15, -0.05]])) for s in (-1, 1)]
    loops += [_to_image(aff, np.array([[s * 0.8, 1.0], [s * 1.15, 0.1]])) for s in (-1, 1)]
    out = _blend(out, _lines((h, w), loops, 0.025 * u), np.broadcast_to(colour * 0.9, out.shape))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def draw_cap(rgb: np.ndarray, points: np.ndarray, rng: RngLike = None,
             colour: tuple[int, int, int] | None = None) -> np.ndarray:
    """A baseball cap: crown over the head, brim across the forehead."""
    rng = _rng(rng)
    img, aff, u = _canvas(rgb, points)
    h, w = img.shape[:2]
    low = rng.uniform(-0.6, -0.4)  # where the brim meets the forehead
    crown = _ellipse(0.0, low - 0.05, rng.uniform(1.1, 1.3), rng.uniform(1.0, 1.25), n=64)
    crown = crown[crown[:, 1] <= low]
    crown = np.vstack([crown, [[crown[:, 0].max(), low], [crown[:, 0].min(), low]]])
    brim = _ellipse(0.0, low + 0.02, rng.uniform(0.95, 1.15), rng.uniform(0.12, 0.22), n=48)
    brim = brim[brim[:, 1] >= low - 0.05]
    base = colour or CAP_COLOURS[int(rng.integers(len(CAP_COLOURS)))]
    colour = np.float32(base) + np.float32(rng.uniform(-12, 12, 3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inv = cv2.invertAffineTransform(aff)
    v = (xx * inv[1, 0] + yy * inv[1, 1] + inv[1, 2])
    shade = 1.0 + 0.15 * np.clip((low - v) / 1.2, 0, 1)
    layer = colour * shade[:, :, None] + rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
    out = _blend(img, _fill((h, w), [_to_image(aff, crown)], 0.01 * u), layer)
    brim_colour = np.broadcast_to(colour * rng.uniform(0.6, 0.85), out.shape)
    out = _blend(out, _fill((h, w), [_to_image(aff, brim)], 0.01 * u), brim_colour)
    seam = [_to_image(aff, np.array([[0.0, low], [0.0, low - 1.1]]))]
    out = _blend(out, _lines((h, w), seam, 0.02 * u) * 0.5, np.broadcast_to(colour * 0.7, out.shape))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


#: Masks of ``draw_mask_varied``: plain colours (white, light blues, black,
#: greys, pink, navy, beige, green, denim, and colours near skin: light pink,
#: peach, yellow, mustard, khaki) and a second colour for patterns.
VARIED_MASK_COLOURS = ((238, 240, 242), (226, 230, 236), (150, 192, 222), (172, 206, 232), (120, 170, 210),
                       (30, 30, 34), (52, 52, 58), (118, 120, 126), (170, 172, 178), (232, 172, 188),
                       (38, 48, 88), (214, 196, 170), (104, 150, 120), (84, 104, 142), (150, 40, 50),
                       (70, 72, 78), (242, 204, 214), (236, 200, 176), (222, 192, 96), (200, 160, 60),
                       (190, 176, 140))
MASK_SHAPES = ("surgical", "kn95", "cloth")
MASK_PATTERNS = ("plain", "plain", "plain", "stripes", "dots", "checks", "print", "floral", "photo")
#: Colour photographs scikit-image ships (``skimage.data``), cut into the
#: printed fabric of ``"photo"`` masks (animals, food, objects, colour fields;
#: none shows a face).
PHOTO_PRINTS = ("chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
                "colorwheel")
#: Pixels per face unit of the pattern textures ("floral", "photo"), laid
#: out over u in [-1.6, 1.6] and v in [-0.4, 2.6] of the face frame.
TEXTURE_SCALE = 48
TEXTURE_ORIGIN = (-1.6, -0.4)


def draw_mask_varied(rgb: np.ndarray, points: np.ndarray, rng: RngLike = None) -> np.ndarray:
    """A face mask of a random shape (surgical with pleats, a KN95 folded to a
    point over the nose and chin, a cloth mask), colour (``VARIED_MASK_COLOURS``),
    pattern (plain, stripes, dots, checks, a random print), side light and
    edge softness, from the nose to under the chin, with ear loops."""
    rng = _rng(rng)
    img, aff, u = _canvas(rgb, points)
    h, w = img.shape[:2]
    shape = MASK_SHAPES[int(rng.integers(len(MASK_SHAPES)))]
    jaw = _to_face(aff, points[list(JAW), :2])
    top = rng.uniform(0.18, 0.4) if rng.random() < 0.8 else rng.uniform(0.4, 0.6)  # some sit below the nose tip
    jaw = jaw[jaw[:, 1] > top]
    spread, drop = rng.uniform(0.0, 0.1), rng.uniform(0.03, 0.18)
    jaw = jaw + np.stack([np.sign(jaw[:, 0]) * spread, np.full(len(jaw), drop)], 1)
    xs = np.linspace(jaw[-1, 0], jaw[0, 0], 16)
    if shape == "kn95":
        jaw[:, 1] += rng.uniform(0.05, 0.15) * np.exp(-(jaw[:, 0] / 0.3) ** 2)
        edge = np.stack([xs, top - 0.05 + rng.uniform(0.15, 0.3) * np.abs(xs)], 1)
    else:
        edge = np.stack([xs, top + rng.uniform(0.04, 0.2) * xs * xs], 1)
    outline = _to_image(aff, np.vstack([jaw, edge]))
    cover = _fill((h, w), [outline], rng.uniform(0.005, 0.03) * u)
    base = np.float32(VARIED_MASK_COLOURS[int(rng.integers(len(VARIED_MASK_COLOURS)))])
    colour = base + np.float32(rng.uniform(-12, 12, 3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inv = cv2.invertAffineTransform(aff)
    fu = xx * inv[0, 0] + yy * inv[0, 1] + inv[0, 2]  # face-frame coordinates of each pixel
    fv = xx * inv[1, 0] + yy * inv[1, 1] + inv[1, 2]
    pattern = MASK_PATTERNS[int(rng.integers(len(MASK_PATTERNS)))]
    second = np.float32(VARIED_MASK_COLOURS[int(rng.integers(len(VARIED_MASK_COLOURS)))])
    f = rng.uniform(4, 10)
    if pattern == "stripes":
        a = rng.uniform(0, np.pi)
        on = np.sin((fu * np.cos(a) + fv * np.sin(a)) * f * np.pi) > rng.uniform(-0.3, 0.5)
    elif pattern == "dots":
        on = ((fu * f) % 1 - 0.5) ** 2 + ((fv * f) % 1 - 0.5) ** 2 < rng.uniform(0.03, 0.1)
    elif pattern == "checks":
        on = (np.floor(fu * f) + np.floor(fv * f)) % 2 == 1
    elif pattern == "print":
        noise = cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        on = noise > rng.uniform(0.0, 0.8)
    else:
        on = np.zeros((h, w), bool)
    layer = np.where(on[:, :, None], second, colour).astype(np.float32)
    if pattern in ("floral", "photo"):
        texture = _floral(colour, rng) if pattern == "floral" else _photo(rng)
        to_face = np.float32([[1 / TEXTURE_SCALE, 0, TEXTURE_ORIGIN[0]], [0, 1 / TEXTURE_SCALE, TEXTURE_ORIGIN[1]]])
        warp = np.hstack([aff[:, :2] @ to_face[:, :2], (aff[:, :2] @ to_face[:, 2] + aff[:, 2])[:, None]])
        layer = cv2.warpAffine(texture, warp.astype(np.float32), (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    side = rng.uniform(-0.25, 0.25)
    shade = (1.0 + rng.uniform(0.0, 0.12) * np.cos((fv - 0.6) * 2.0) - rng.uniform(0.05, 0.25) * np.clip(fv - 1.3, 0, 1)
             + side * np.clip(fu, -1, 1))
    if shape == "surgical":
        shade = shade - sum(np.exp(-0.5 * ((fv - p) / 0.02) ** 2) for p in (0.65, 0.9, 1.15)) * rng.uniform(0.05, 0.15)
    else:  # a seam down the middle
        shade = shade - np.exp(-0.5 * (fu / 0.02) ** 2) * rng.uniform(0.0, 0.15)
    layer = layer * shade[:, :, None] + rng.normal(0, rng.uniform(1, 4), (h, w, 1)).astype(np.float32)
    out = _blend(img, cover, layer)
    loops = [_to_image(aff, np.array([[s * 0.85, top + 0.1], [s * 1.15, -0.05]])) for s in (-1, 1)]
    loops += [_to_image(aff, np.array([[s * 0.8, 1.0], [s * 1.15, 0.1]])) for s in (-1, 1)]
    out = _blend(out, _lines((h, w), loops, 0.025 * u), np.broadcast_to(colour * 0.9, out.shape))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _texture_size() -> tuple[int, int]:
    """(width, height) in pixels of a pattern texture (see ``TEXTURE_SCALE``)."""
    return round(3.2 * TEXTURE_SCALE), round(3.0 * TEXTURE_SCALE)


def _floral(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flower print: on ``base``, scattered flowers of petals (ellipses) in
    two to four colours with a darker centre, and leaves."""
    tw, th = _texture_size()
    tex = np.empty((th, tw, 3), np.float32)
    tex[:] = base
    palette = [np.float32(VARIED_MASK_COLOURS[int(rng.integers(len(VARIED_MASK_COLOURS)))])
               for _ in range(int(rng.integers(2, 5)))]
    leaf = np.float32((60, 110, 60)) * np.float32(rng.uniform(0.7, 1.3))
    size = rng.uniform(0.06, 0.16) * TEXTURE_SCALE
    for _ in range(int(tw * th / (size * size * rng.uniform(4, 10)))):
        cx, cy = rng.uniform(0, tw), rng.uniform(0, th)
        colour = palette[int(rng.integers(len(palette)))].tolist()
        for k in range(5):
            a = 2 * np.pi * k / 5 + rng.uniform(0, 1)
            centre = (round(cx + 0.6 * size * np.cos(a)), round(cy + 0.6 * size * np.sin(a)))
            axes = (max(1, round(size * 0.55)), max(1, round(size * 0.3)))
            cv2.ellipse(tex, centre, axes, float(np.degrees(a)), 0, 360, colour, -1, cv2.LINE_AA)
        cv2.circle(tex, (round(cx), round(cy)), max(1, round(size * 0.25)), (np.float32(colour) * 0.5).tolist(), -1)
        if rng.random() < 0.5:
            a = rng.uniform(0, 2 * np.pi)
            centre = (round(cx + 1.3 * size * np.cos(a)), round(cy + 1.3 * size * np.sin(a)))
            cv2.ellipse(tex, centre, (max(1, round(size * 0.6)), max(1, round(size * 0.22))), float(np.degrees(a)),
                        0, 360, leaf.tolist(), -1, cv2.LINE_AA)
    return tex


@functools.cache
def _print_photo(name: str) -> np.ndarray:
    """``skimage.data``'s photograph ``name``, RGB float32, at most 512 px on its longer side."""
    from skimage import data

    photo = np.asarray(getattr(data, name)(), np.float32)[:, :, :3]
    f = min(1.0, 512 / max(photo.shape[:2]))
    return cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else photo


def _photo(rng: np.random.Generator) -> np.ndarray:
    """A photograph printed on the fabric: a random part of one of ``PHOTO_PRINTS``
    (scikit-image's sample images), mirrored or not, fitted to the texture."""
    photo = _print_photo(PHOTO_PRINTS[int(rng.integers(len(PHOTO_PRINTS)))])
    ph, pw = photo.shape[:2]
    frac = rng.uniform(0.4, 1.0)
    ch, cw = max(8, round(ph * frac)), max(8, round(pw * frac))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    part = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        part = part[:, ::-1]
    return cv2.resize(np.ascontiguousarray(part), _texture_size(), interpolation=cv2.INTER_AREA)
