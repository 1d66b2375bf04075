"""Checks on the ID card photo (``type1=card``): is there a document at all
(1), is it a photocopy (2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from facematch.checks import Finding
from facematch.checks.occlusion import EYE_A, EYE_B
from facematch.types import InvalidCode


@dataclass(frozen=True)
class CardLimits:
    #: Text lines are looked for with the image scaled so the face is
    #: ``text_face_height`` pixels tall (a card's print is then 4-24 px tall);
    #: without a face, with the long side at ``text_long_side`` and at half that
    #: (the larger count is kept): with no face to give the card's scale, a card
    #: filling the frame has its print 23-35 px tall at 1000 px, 12-18 px at 500.
    text_face_height: int = 80
    text_long_side: int = 1000
    #: A document shows at least ``min_text_lines`` text lines near the face
    #: (specimen documents with a portrait: 3-38; synthetic card photos: 4 or
    #: more; Caltech selfies: 0-2).
    min_text_lines: int = 3
    #: Photocopy: the 90th percentile of the CIELAB a*b* distance of the face's
    #: pixels (box shrunk 10 % a side) from their median colour. A greyscale
    #: copy stays below 5 under a neutral light, and once a tinted light is
    #: made white (``paper_white``); a colour portrait shows 5 or more (skin
    #: against hair, lips, background).
    min_face_colour: float = 5.0
    #: ... and the document around it has no colour either (the same measure over the portrait and the card
    #: to its right: ``document_colour``). Many genuine documents engrave the portrait in grey, but print colour
    #: around it; a greyscale copy is grey throughout. Colour card photos and scans in the dev data: 8.1 or more
    #: around the face; greyscale copies (DLC-2021): 1-8 where the copy fills that region (more where the
    #: table or newspaper under a card-sized copy shows). Fitted on those sets (docs/checks.md).
    min_document_colour: float = 8.0


Box = tuple[float, float, float, float]


def quarter_turns(mesh_points: np.ndarray | None) -> int:
    """How many quarter turns (``np.rot90``'s ``k``) bring the face of ``mesh_points`` (the face mesh, whose
    points follow the face however it is turned) nearest to upright: 0 for an upright face, 1 for one lying
    on its right side (eye line pointing down the image), 3 for one on its left, 2 upside down; 0 without a
    mesh. A card photographed turned a quarter (a phone held upright over a card lying across) carries its
    portrait, and its text, turned with it."""
    if mesh_points is None:
        return 0
    a = mesh_points[list(EYE_A), :2].mean(axis=0)
    b = mesh_points[list(EYE_B), :2].mean(axis=0)
    roll = math.degrees(math.atan2(float(b[1] - a[1]), float(b[0] - a[0])))
    return round(roll / 90.0) % 4


def upright(rgb: np.ndarray, box: Box | None, turns: int) -> tuple[np.ndarray, Box | None]:
    """``rgb`` turned by ``turns`` quarter turns anticlockwise (``np.rot90``, a view: no pixel is copied)
    and ``box`` mapped into it, so that the card checks, which look for a document's text beside its
    portrait and to its right, see the card as it is printed."""
    turns %= 4
    if turns == 0:
        return rgb, box
    turned = np.rot90(rgb, turns)
    return turned, None if box is None else turn_box(box, turns, rgb.shape)


def turn_points(points: np.ndarray, turns: int, shape: tuple[int, ...]) -> np.ndarray:
    """``points`` (..., 2; x, y) in pixels of an image of ``shape``, mapped into ``np.rot90(image, turns)``."""
    h, w = shape[:2]
    x, y = points[..., 0], points[..., 1]
    turns %= 4
    if turns == 1:
        return np.stack([y, w - x], axis=-1)
    if turns == 2:
        return np.stack([w - x, h - y], axis=-1)
    if turns == 3:
        return np.stack([h - y, x], axis=-1)
    return points


def turn_box(box: Box, turns: int, shape: tuple[int, ...]) -> Box:
    """``box`` in pixels of an image of ``shape``, mapped into ``np.rot90(image, turns)`` (``turn_points``)."""
    corners = turn_points(np.array([[box[0], box[1]], [box[2], box[3]]], dtype=np.float64), turns, shape)
    (x1, y1), (x2, y2) = corners.min(axis=0), corners.max(axis=0)
    return float(x1), float(y1), float(x2), float(y2)


def _resize_grey(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Grey level at ``scale``: halved by Gaussian pyramid steps, then linear
    (an area filter on a whole photo costs several milliseconds)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    while scale < 0.5 and min(grey.shape) > 16:
        grey = cv2.pyrDown(grey)
        scale *= 2
    size = (max(1, round(w * scale * grey.shape[1] / w)), max(1, round(h * scale * grey.shape[0] / h)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)


def text_lines(rgb: np.ndarray, box: tuple[float, float, float, float] | None, limits: CardLimits) -> int:
    """Number of text-line-like blobs centred outside the face (its box and a
    margin of 0.3 face widths) and within a few face sizes of it (the whole
    image without a face): morphological gradient,
    Otsu threshold, letters joined along the line (a 9x1 closing), then blobs
    whose minimum-area rectangle (so that a tilted card's lines count) is
    4-24 px thick, at least 3 times as long and at least 40 % filled.

    A document's text lies within a few face sizes of its portrait, mostly on
    one side: to the right on a CCCD, to the left where the portrait is on the
    right (some IDs, or a card held upside down). Both regions are counted, 3
    face widths on one side and 5 on the other, and the larger count kept.

    Without a face nothing gives the print's size: the whole image is counted
    with its long side at ``text_long_side`` and at half that, and the larger
    count kept (a card that fills the frame prints its text too thick to count
    at the first)."""
    if box is None:
        whole = np.ascontiguousarray(rgb)
        return max(_text_lines(whole, None, limits, long_side) for long_side in
                   (limits.text_long_side, limits.text_long_side // 2))
    x1, y1, x2, y2 = box
    fw, fh = x2 - x1, y2 - y1
    counts = []
    for left, right in ((3, 5), (5, 3)):
        cx, cy = int(max(0, x1 - left * fw)), int(max(0, y1 - 2 * fh))
        region = np.ascontiguousarray(rgb[cy:int(y2 + 2.5 * fh), cx:int(x2 + right * fw)])
        counts.append(_text_lines(region, (x1 - cx, y1 - cy, x2 - cx, y2 - cy), limits))
    return max(counts)


def text_sides(rgb: np.ndarray, box: Box, limits: CardLimits) -> tuple[int, int]:
    """Text lines (``text_lines``' blobs) whose centre lies beside the portrait on its left and on its right,
    each side within 3 face widths of it, from a face height above it to one and a half below."""
    x1, y1, x2, y2 = box
    fw, fh = x2 - x1, y2 - y1
    cx, cy = int(max(0, x1 - 3 * fw)), int(max(0, y1 - fh))
    region = np.ascontiguousarray(rgb[cy:int(y2 + 1.5 * fh), cx:int(x2 + 3 * fw)])
    xs = _line_centres(region, (x1 - cx, y1 - cy, x2 - cx, y2 - cy), limits)
    return sum(x < x1 - cx for x in xs), sum(x > x2 - cx for x in xs)


def facing(rgb: np.ndarray, box: Box | None, limits: CardLimits) -> tuple[np.ndarray, Box | None]:
    """``rgb`` mirrored left to right (a view, with ``box`` mapped) when the text beside the portrait lies on
    its left (``text_sides``: at least ``min_text_lines`` lines there, more than twice those on its right),
    else as it is. The card checks look for the document to the portrait's right, as a CCCD prints it; a
    card photo saved mirrored (a front camera, a web page drawing its mirrored preview) or a document that
    prints its portrait on the right would show them the table beside the card instead."""
    if box is None:
        return rgb, box
    left, right = text_sides(rgb, box, limits)
    if left < limits.min_text_lines or left <= 2 * right:
        return rgb, box
    w = rgb.shape[1]
    return rgb[:, ::-1], (w - box[2], box[1], w - box[0], box[3])


def _text_lines(rgb: np.ndarray, box: tuple[float, float, float, float] | None, limits: CardLimits,
                long_side: int = 0) -> int:
    return len(_line_centres(rgb, box, limits, long_side, beside=True))


def _line_centres(rgb: np.ndarray, box: tuple[float, float, float, float] | None, limits: CardLimits,
                  long_side: int = 0, beside: bool = False) -> list[float]:
    """The x of each text-line blob's centre, in pixels of ``rgb`` (``text_lines``). Blobs on the face are
    left out: with ``beside``, those centred within the face's box and a margin of 0.3 face widths (a line
    of text beside the portrait may start within the margin: a CCCD prints its fields right beside it);
    else every blob that reaches into that margin (``text_sides``: ``facing``'s rule was chosen so)."""
    h, w = rgb.shape[:2]
    if box is not None:
        scale = limits.text_face_height / max(box[3] - box[1], 1.0)
    else:
        scale = (long_side or limits.text_long_side) / max(h, w)
    scale = min(scale, 1600 / max(h, w))
    grey = _resize_grey(rgb, scale)
    grad = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    bw = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
    face = None
    if box is not None:
        fx1, fy1, fx2, fy2 = (v * scale for v in box)
        m = 0.3 * (fx2 - fx1)
        face = (fx1 - m, fy1 - m, fx2 + m, fy2 + m)
    centres: list[float] = []
    for i in range(1, n):
        x, y, bw_, bh_, area = stats[i]
        span = max(bw_, bh_)
        if area < 48 or span < 12 or not 1.6 <= area / span <= 24:  # no line of text: too small, or too thick
            continue
        if face is not None:
            if beside:  # centred on the face
                on_face = face[0] <= x + bw_ / 2 <= face[2] and face[1] <= y + bh_ / 2 <= face[3]
            else:  # reaching into it
                on_face = x + bw_ > face[0] and x < face[2] and y + bh_ > face[1] and y < face[3]
            if on_face:
                continue
        centre = (x + bw_ / 2) / scale
        if 4 <= bh_ <= 24 and bw_ >= 3 * bh_ and area >= 0.4 * bw_ * bh_:  # a level line
            centres.append(centre)
            continue
        ys, xs = np.nonzero(labels[y:y + bh_, x:x + bw_] == i)  # a tilted one?
        (_, _), (a, b), _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        thick, long = min(a, b) + 1, max(a, b) + 1
        if 4 <= thick <= 24 and long >= 3 * thick and area >= 0.4 * thick * long:
            centres.append(centre)
    return centres


def card_presence(rgb: np.ndarray, box: tuple[float, float, float, float] | None, image: str,
                  limits: CardLimits) -> list[Finding]:
    """No identity document in the card photo: fewer text lines (see
    ``text_lines``) than any document shows. Runs with or without a face.
    The value reported is the line count."""
    lines = text_lines(rgb, box, limits)
    if lines >= limits.min_text_lines:
        return []
    return [Finding(InvalidCode.NO_CARD, "card_presence", image, value=lines, limit=limits.min_text_lines)]


def face_region(rgb: np.ndarray, box: Box | None) -> Box:
    """The face's box shrunk 10 % a side; the central half of the image without a face."""
    h, w = rgb.shape[:2]
    if box is None:
        box = (w / 4, h / 4, 3 * w / 4, 3 * h / 4)
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    return (x1 + 0.1 * bw, y1 + 0.1 * bh, x2 - 0.1 * bw, y2 - 0.1 * bh)


def document_region(box: Box) -> Box:
    """The portrait and the document beside it: from half a face width left of the face to 2.5 face widths
    right of it (a CCCD's text and emblem side), 0.3 face heights above to 0.5 below."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    return (x1 - 0.5 * bw, y1 - 0.3 * bh, x2 + 2.5 * bw, y2 + 0.5 * bh)


def face_colour(rgb: np.ndarray, box: Box | None, gains: np.ndarray | None = None) -> float:
    """90th percentile of the a*b* distance from the median colour over ``face_region``, subsampled to at
    most ~200 px a side; with ``gains``, after scaling the channels by them (``paper_white``)."""
    return _colour_spread(rgb, face_region(rgb, box), gains)


def document_colour(rgb: np.ndarray, box: Box, gains: np.ndarray | None = None) -> float:
    """``face_colour``'s measure over ``document_region``."""
    return _colour_spread(rgb, document_region(box), gains)


def _crop(rgb: np.ndarray, region: Box, side: int = 200) -> np.ndarray:
    """``region`` of ``rgb``, subsampled to at most about ``side`` px a side."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = region
    crop = rgb[int(max(0, y1)):int(min(h, y2)), int(max(0, x1)):int(min(w, x2))]
    step = max(1, max(crop.shape[:2]) // side)
    return np.ascontiguousarray(crop[::step, ::step])


#: A pixel with a channel at or above this level is clipped (``paper_white``).
CLIPPED = 250


def paper_white(rgb: np.ndarray, region: Box) -> np.ndarray | None:
    """Channel gains that make the brightest tenth of ``region``'s unclipped pixels (by R + G + B; the region
    subsampled to about 100 px a side) grey: the white of the paper or the card under the light of the photo
    (a white-patch white balance). None when the region is empty, clipped or black."""
    crop = _crop(rgb, region, side=100).reshape(-1, 3).astype(np.float32)
    crop = crop[crop.max(axis=1) < CLIPPED]  # a clipped channel no longer holds the light's colour
    if len(crop) < 30:
        return None
    total = crop.sum(axis=1)
    white = crop[total >= np.percentile(total, 90)].mean(axis=0)
    if white.min() < 1.0:
        return None
    gains: np.ndarray = (white.max() / white).astype(np.float32)
    return gains


def _colour_spread(rgb: np.ndarray, region: Box, gains: np.ndarray | None = None) -> float:
    crop = _crop(rgb, region)
    if crop.size < 30:
        return float("inf")
    if gains is not None:
        crop = np.clip(crop.astype(np.float32) * gains, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    a, b = lab[:, 1], lab[:, 2]
    return float(np.percentile(np.hypot(a - np.median(a), b - np.median(b)), 90))


def photocopy(rgb: np.ndarray, box: Box | None, image: str, limits: CardLimits) -> list[Finding]:
    """A greyscale copy of the card: the portrait carries no colour of its
    own (``face_colour`` below ``min_face_colour``), and neither does the
    document around it (``document_colour`` below ``min_document_colour``),
    in the photo as it is or in the photo once its light is made white
    (``paper_white`` over the document, or over the face's region without a
    face): a warm or cool light tints a grey copy's paper more than its
    toner, which the measure would read as colour. Each version is judged
    whole (face and document alike). The value reported is the face's colour
    in the version that raised it."""
    gains = paper_white(rgb, face_region(rgb, None) if box is None else document_region(box))
    for g in [None] if gains is None else [None, gains]:
        value = face_colour(rgb, box, g)
        if value >= limits.min_face_colour:
            continue
        if box is not None and document_colour(rgb, box, g) >= limits.min_document_colour:
            continue  # a grey (engraved) portrait on a colour document
        return [Finding(InvalidCode.PHOTOCOPY, "photocopy", image, value=value, limit=limits.min_face_colour)]
    return []
