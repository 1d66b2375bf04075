"""Genuine cards under the capture conditions of real phone photos: which
card-side warning fires, and when the face is lost.

The dev data holds no photo of a Vietnamese card; the held-out real CCCD
photos that raised codes 1, 2 and 10 before are not ours. This benchmark
renders CCCD-like cards (``tools/synth/cards.py: render_card``, no ghost)
around one photo per person of LFW and the East-Asian sets, photographs each
(``photograph``, 1600x1200) and then degrades the photo the ways a customer's
phone does, one condition at a time:

- out of focus (Gaussian defocus of 2.5 and 4 px at 1600 px wide) and
  shaken (a 12 px linear motion blur);
- dim light (exposure x0.35, sensor noise, JPEG 70), tungsten light without
  white balance, the warm cast an automatic white balance leaves (blue down
  by a tenth), a phone's processing (strong sharpening, chroma smoothing,
  JPEG 50), a washed-out photo (contrast cut to 0.6 and 0.45), a shadow
  over part of the photo; a stop over and a stop under, and a flash or lamp
  hot spot on the card (genuine cards only), since the nineteenth session;
- the photo upside down and turned a quarter clockwise (a card lying on a
  desk, the phone held from another side), and mirrored (a front camera, or
  a web page that saves its mirrored preview);
- the card small in the frame (about a third of the width), tilted 35
  degrees away from the camera, a half-size photo (800x600), a 3200x2400
  photo, the card cropped to its own edges (what capture apps with a card
  guide send), glare over the portrait, a thumb over the card's corner;
- the same card printed with its Vietnamese diacritics (``MARKED``: "CỘNG
  HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "NGUYỄN VĂN ĐỨC"; the other rows print
  plain ASCII), under ten of the conditions.

Each photo goes through ``Matcher.analyze`` as ``type1=card`` with the
shipped settings. Counted per condition: faces found, and cards raising each
card-side code (1, 2, 3, 6, 10, 11). Nothing is fitted here: every card is
genuine, so every code 1, 2, 3 and 10 is a false alarm; 11 says the portrait
was too small to judge. The renderer's cards are not real cards: this maps
where each check breaks as capture gets worse, it is no estimate of a rate
on real photos.

    .venv/bin/python -m benchmarks.card_capture --data ../shared/data [--people 12]

Writes benchmarks/results/card_capture.json. Reads ../shared/data in place.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks import machine
from benchmarks.ghost import ASIAN, people
from benchmarks.same_photo import jpeg, load
from facematch.matcher import ImageAnalysis, Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tools.pad_data import exposed
from tools.synth import cards

CODES = (1, 2, 3, 6, 10, 11)
SOURCES = ("lfw", *ASIAN)

Photo = tuple[np.ndarray, np.ndarray]  # the photo and the card's four corners in it (x, y)
Condition = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _jpeg_cycle(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def defocus(sigma: float) -> Condition:
    def apply(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    return apply


def shaken(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = 12
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0 / n
    rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(img, -1, k / k.sum())


def dim(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lin = (img.astype(np.float32) / 255.0) ** 2.2 * 0.35
    out = 255.0 * lin ** (1 / 2.2) + rng.normal(0, 6.0, img.shape)
    return _jpeg_cycle(_u8(out), 70)


def tungsten(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _u8(img.astype(np.float32) * np.array([1.12, 0.97, 0.70], np.float32))


def warm_cast(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What an automatic white balance leaves of a warm lamp: blue down by a tenth."""
    return _u8(img.astype(np.float32) * np.array([1.03, 1.0, 0.90], np.float32))


def washed_out(contrast: float) -> Condition:
    """Contrast about mid-grey cut to ``contrast`` of itself: haze, veiling glare off a sleeve, a cheap lens."""
    def apply(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _u8(128.0 + (img.astype(np.float32) - 128.0) * contrast)
    return apply


def shadow(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The phone's or the hand's shadow over the left or right part of the photo: 45 % of the light, soft edge."""
    h, w = img.shape[:2]
    gain = np.ones((h, w), np.float32)
    edge = int(rng.uniform(0.3, 0.7) * w)
    if rng.random() < 0.5:
        gain[:, :edge] = 0.45
    else:
        gain[:, edge:] = 0.45
    return _u8(img * cv2.GaussianBlur(gain, (0, 0), 25)[:, :, None])


def phone_processing(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = img.astype(np.float32)
    sharp = f + 1.5 * (f - cv2.GaussianBlur(f, (0, 0), 1.5))
    ycc = cv2.cvtColor(_u8(sharp), cv2.COLOR_RGB2YCrCb)
    ycc[:, :, 1:] = cv2.GaussianBlur(ycc[:, :, 1:], (0, 0), 2.0)
    return _jpeg_cycle(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 50)


def small_in_frame(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    f = 0.6
    small = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    top = int(rng.integers(0, h - small.shape[0]))
    left = int(rng.integers(0, w - small.shape[1]))
    return cv2.copyMakeBorder(small, top, h - small.shape[0] - top, left, w - small.shape[1] - left,
                              cv2.BORDER_REPLICATE)


def tilted(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The camera pitched 35 degrees: the far edge shortened as a pinhole camera sees a plane turned away."""
    h, w = img.shape[:2]
    t = math.radians(35)
    focal = 1.2 * w  # a phone's main camera: about 65 degrees across
    far = focal / (focal + h / 2 * math.sin(t))
    near = focal / (focal - h / 2 * math.sin(t))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w / 2 * (1 - far), 0], [w / 2 * (1 + far), 0], [w / 2 * (1 + near), h],
                      [w / 2 * (1 - near), h]])
    dst[:, 1] = (dst[:, 1] - h / 2) * math.cos(t) + h / 2
    dst = (dst - dst.mean(0)) * min(w / np.ptp(dst[:, 0]), h / np.ptp(dst[:, 1])) + [w / 2, h / 2]
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    if rng.random() < 0.5:  # either edge away from the camera
        flip = np.float64([[1, 0, 0], [0, -1, h], [0, 0, 1]])
        m = flip @ m @ flip
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def half_size(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    return _jpeg_cycle(cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA), 85)


def cropped(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The card's bounding box with a 2 % margin: a capture app's card guide."""
    h, w = img.shape[:2]
    lo, hi = quad.min(0), quad.max(0)
    pad = 0.02 * (hi - lo)
    x0, y0 = np.maximum(0, np.floor(lo - pad)).astype(int)
    x1, y1 = np.minimum([w, h], np.ceil(hi + pad)).astype(int)
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def _blob(img: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (round(centre[0]), round(centre[1])), (round(axes[0]), round(axes[1])), angle, 0, 360,
                1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(axes) * 0.12)


def glare_on_portrait(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A specular highlight over the portrait's side of the card (its left third), 60-80 % towards white."""
    tl, tr, br, bl = quad
    c = tl + (tr - tl) * rng.uniform(0.12, 0.3) + (bl - tl) * rng.uniform(0.4, 0.7)
    size = float(np.linalg.norm(tr - tl))
    g = _blob(img, c, (size * 0.12, size * 0.06), float(rng.uniform(0, 180))) * rng.uniform(0.6, 0.8)
    return _u8(255 - (255 - img.astype(np.float32)) * (1 - g[:, :, None]))


def thumb(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thumb over one of the card's corners, as when the card is held up to the camera."""
    corner = quad[int(rng.integers(0, 4))]
    centre = quad.mean(0)
    size = float(np.linalg.norm(quad[1] - quad[0]))
    c = corner + (centre - corner) * 0.08
    angle = math.degrees(math.atan2(*(centre - corner)[::-1]))
    m = _blob(img, c, (size * 0.12, size * 0.055), angle)
    skin = np.array([205, 150, 125], np.float32) * rng.uniform(0.8, 1.05)
    return _u8(img * (1 - m[:, :, None]) + skin * m[:, :, None])


def as_photographed(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return img


def mirrored(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo mirrored left to right, as a front camera or a web page drawing its mirrored preview saves it."""
    return np.ascontiguousarray(img[:, ::-1])


def exposure(stops: float) -> Condition:
    """The photo taken ``stops`` more exposed (negative: less), in linear light, clipped as a sensor clips, JPEG
    90: auto-exposure set by a dark desk or a bright window (``tools.pad_data.exposed``)."""
    def apply(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _jpeg_cycle(exposed(img, stops), 90)
    return apply


def flash(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone's flash or a desk lamp close to the card: light up to 2.5 stops brighter (x5.6) at a point near the
    card's centre, falling off as a Gaussian of a third of the card's size, clipped, JPEG 90."""
    h, w = img.shape[:2]
    span = quad.max(0) - quad.min(0)
    c = quad.mean(0) + rng.uniform(-0.25, 0.25, 2) * span
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - c[0], yy - c[1]) / (0.35 * float(span.mean()))
    lin = (img.astype(np.float32) / 255.0) ** 2.2 * (1.0 + 4.6 * np.exp(-r ** 2))[:, :, None].astype(np.float32)
    return _jpeg_cycle(_u8(255.0 * np.clip(lin, 0.0, 1.0) ** (1 / 2.2)), 90)


def turned(quarters: int) -> Condition:
    """The photo turned ``quarters`` quarter turns anticlockwise, as a card lying on a desk comes out when the
    phone is held from another side (EXIF holds how the phone was held, not how the card lay)."""
    def apply(img: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(img, quarters))
    return apply


CONDITIONS: dict[str, Condition] = {
    "as photographed": as_photographed,
    "out of focus (2.5 px)": defocus(2.5),
    "out of focus (4 px)": defocus(4.0),
    "shaken (12 px)": shaken,
    "dim light": dim,
    "tungsten light, no white balance": tungsten,
    "warm cast (blue -10 %)": warm_cast,
    "phone processing (sharpened, JPEG 50)": phone_processing,
    "card small in the frame": small_in_frame,
    "tilted 35 degrees": tilted,
    "half-size photo (800x600)": half_size,
    "cropped to the card": cropped,
    "glare over the portrait": glare_on_portrait,
    "thumb over a corner": thumb,
    "washed out (contrast 0.6)": washed_out(0.6),
    "washed out (contrast 0.45)": washed_out(0.45),
    "shadow over part of the photo": shadow,
    "upside down": turned(2),
    "turned a quarter clockwise": turned(3),
    "mirrored (front camera, web preview)": mirrored,
    # Since the nineteenth session (appended: the conditions above keep their seeds).
    "a stop over": exposure(1.0),
    "a stop under": exposure(-1.0),
    "flash hot spot (up to 2.5 stops)": flash,
}
LARGE = "3200x2400 photo"
#: Conditions also read on the same cards printed with their Vietnamese diacritics (``render_card(marked=True)``):
#: a CCCD's real letters, whose marks thicken its header lines.
MARKED = ("as photographed", "out of focus (2.5 px)", "phone processing (sharpened, JPEG 50)", "card small in the frame",
          "tilted 35 degrees", "half-size photo (800x600)", "cropped to the card", "upside down",
          "turned a quarter clockwise", "mirrored (front camera, web preview)")
MARKED_SUFFIX = ", Vietnamese diacritics"
#: The conditions that need the card's corners; the attacks' photos (a screen, a copy) are read without them.
ON_THE_CARD = ("cropped to the card", "glare over the portrait", "thumb over a corner", "flash hot spot (up to 2.5 stops)")
VARIANTS = ("genuine", "screen recapture (code 10)", "photocopy (code 2)")


def photographs(face: np.ndarray, seed: int) -> tuple[Photo, Photo, np.ndarray, np.ndarray, Photo]:
    """The card photographed at 1600x1200 and 3200x2400 (each with the card's corners), the 1600x1200 photo
    shown on a screen and photographed, a greyscale copy of the card photographed, and the same card printed
    with its Vietnamese diacritics photographed at 1600x1200 as the first."""
    card, _ = cards.render_card(face, seed)
    ch, cw = card.shape[:2]
    corners = np.float64([[0, 0], [cw, 0], [cw, ch], [0, ch]])

    def photo(printed: np.ndarray, size: tuple[int, int] = (1600, 1200)) -> Photo:
        img, hm = cards.photograph_with_homography(printed, seed + 1, out_size=size)
        return img, np.asarray(cv2.perspectiveTransform(corners[None], hm)).reshape(4, 2)

    small, large = photo(card), photo(card, (3200, 2400))
    screen = cards.screen_recapture(small[0], seed + 3)
    copy = cards.photograph(cards.photocopy(card, seed + 4), seed + 5)
    return small, large, screen, copy, photo(cards.render_card(face, seed, marked=True)[0])


def empty(conditions: list[str]) -> dict[str, dict[str, Any]]:
    return {c: {"images": 0, "face_found": 0, "code": {str(k): 0 for k in CODES}, "flagged": {}}
            for c in conditions}


def count(row: dict[str, Any], matcher: Matcher, name: str, img: np.ndarray) -> None:
    record(row, matcher.analyze(jpeg(img), ImageKind.CARD, "img1"), name)


def record(row: dict[str, Any], a: ImageAnalysis, name: str) -> None:
    """Count one analysed photo in ``row``: the photo, its face, each code it raised (with its name)."""
    row["images"] += 1
    row["face_found"] += a.face is not None
    for code in sorted({int(f.code) for f in a.findings}):
        row["code"][str(code)] = row["code"].get(str(code), 0) + 1
        row["flagged"].setdefault(str(code), []).append(name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--people", type=int, default=12, help="people per source (five sources)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/card_capture.json"))
    args = ap.parse_args(argv)
    if not (args.data / "lfw").exists():
        print(f"{args.data} has no lfw/: this benchmark needs ../shared/data")
        return 0
    t0 = time.time()
    matcher = build_matcher(Settings(), pool_size=1, parallel=False)
    rows = {v: empty([*CONDITIONS, LARGE, *(c + MARKED_SUFFIX for c in MARKED)] if v == VARIANTS[0]
                     else [c for c in CONDITIONS if c not in ON_THE_CARD])
            for v in VARIANTS}
    for s, source in enumerate(SOURCES):
        for k, path in enumerate(people(args.data, source, args.people)):
            seed = 130_000 + 1_000 * s + 10 * k
            (photo, quad), (large, _), screen, copy, (marked, marked_quad) = photographs(load(path), seed)
            name = f"{source}/{path.name}"
            for variant, img in zip(VARIANTS, (photo, screen, copy), strict=True):
                for c, (label, condition) in enumerate(CONDITIONS.items()):
                    if label in rows[variant]:
                        count(rows[variant][label], matcher, name,
                              condition(img, quad, np.random.default_rng(seed + 10_000 * c)))
            count(rows[VARIANTS[0]][LARGE], matcher, name, large)
            for c, (label, condition) in enumerate(CONDITIONS.items()):
                if label in MARKED:
                    count(rows[VARIANTS[0]][label + MARKED_SUFFIX], matcher, name,
                          condition(marked, marked_quad, np.random.default_rng(seed + 10_000 * c)))
        print(f"{source}: done ({time.time() - t0:.0f} s)", flush=True)
    matcher.close()
    for variant, by in rows.items():
        print(f"== {variant}\n{'condition':40s} {'images':>6s} {'face':>5s} " + " ".join(f"{c:>4d}" for c in CODES))
        for label, r in by.items():
            print(f"{label:40s} {r['images']:6d} {r['face_found']:5d} "
                  + " ".join(f"{r['code'][str(c)]:4d}" for c in CODES), flush=True)
    result = {"people_per_source": args.people, "sources": list(SOURCES), "variants": rows,
              "seconds": round(time.time() - t0)}
    machine.write_result(args.out, result, indent=1)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
