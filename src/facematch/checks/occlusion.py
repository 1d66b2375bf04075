"""What covers the face: sunglasses (7), a hat (8), a mask (9).

Every check looks at the face through a ``FaceView``: the image resampled
(one affine warp) into a frame fixed to the face mesh, where the eye centres
sit at (-0.5, 0) and (+0.5, 0) and the mouth centre at (0, 1.15), in units of
the distance between the eyes (x to the image's right, y down). Regions are
then fixed boxes in that frame, whatever the face's size, roll or position.

Colour is compared as chromaticity (r, g, b divided by their sum), which a
shadow or a brighter light leaves alone, against a per-image skin reference
(``FaceView.skin``) taken from patches that the occluder in question cannot
cover; ``occlusions`` also drops the patches an occluder already found
covers. Greyscale images carry no colour (``FaceView.has_colour``), so the
mask check reports nothing on them, and the sunglasses model sees no colour
shift there, only coverage, darkness and the eyes.

Where the configured embedder is the one it was fitted for (SFace), a mask
the rule finds must be confirmed by a logistic model over the face's own
embedding (computed for matching anyway, on a chip aligned on the face's
five points) and the rule measures (``model_scores``, the packaged
``occlusion-v1`` artefact): the rule finds nearly every mask but also
beards, stubble and shadowed chins, which the embedding tells apart. With
another embedder, or with ``OcclusionLimits.embedding_models`` off, the rule
alone decides. A mask neither finds is still found by the mouth model
(``mask_by_mouth``, the packaged ``mask-mouth-v1``) from SFace's own
activations at the nose tip and the mouth centre, which read no skin: a mask
coloured like skin, or printed with red, passes the rule. The hat model reads
the same embedding beside its image features when it is SFace's (``hat``),
and its image features alone otherwise; with SFace's activations at the top
of its chip also at hand, a second model over them adds its log-odds
(``hattop-v1``) for heads neither cut by the frame nor turned.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from facematch import artifacts
from facematch.artifacts.hat import HatModel, HatTopModel
from facematch.artifacts.occlusion import OcclusionModel
from facematch.artifacts.sunglasses import MaskMouthModel, SunglassesModel
from facematch.checks import Finding
from facematch.types import InvalidCode

#: Face-mesh indices (MediaPipe's 468-point topology).
EYE_A = (33, 133)  # corners of the eye on the image's left
EYE_B = (263, 362)  # corners of the eye on the image's right
MOUTH = (0, 17, 61, 291)  # upper lip top, lower lip bottom, mouth corners
#: Outer and inner lip contours.
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
MOUTH_OPENING = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
#: The face's outline beside the eyes (image left, image right): the line between them turns out of the
#: image plane as the head turns left or right (``head_yaw``).
CHEEK_EDGES = (234, 454)

#: Canonical positions of the eye centres and the mouth centre.
CANONICAL = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 1.15]], np.float32)
X_RANGE = (-1.3, 1.3)
Y_RANGE = (-2.0, 2.0)

Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in face units

FOREHEAD: Box = (-0.4, 0.4, -0.75, -0.45)
GLABELLA: Box = (-0.08, 0.08, -0.2, 0.1)
OUTER_CHEEKS: tuple[Box, Box] = ((-0.85, -0.55, 0.2, 0.4), (0.55, 0.85, 0.2, 0.4))
LOWER_CHEEKS: tuple[Box, Box] = ((-0.65, -0.35, 0.6, 0.9), (0.35, 0.65, 0.6, 0.9))
EYE_WINDOWS: tuple[Box, Box] = ((-0.9, -0.1, -0.25, 0.5), (0.1, 0.9, -0.25, 0.5))
LOWER_FACE: Box = (-0.5, 0.5, 0.75, 1.5)
UPPER_FOREHEAD: Box = (-0.45, 0.45, -1.0, -0.6)
TEMPLES: tuple[Box, Box] = ((-1.3, -1.0, -0.35, 0.1), (1.0, 1.3, -0.35, 0.1))
#: Beside the upper forehead, where hair frames it (or a scarf, or background).
HAIR_SIDES: tuple[Box, Box] = ((-0.95, -0.65, -1.0, -0.55), (0.65, 0.95, -1.0, -0.55))
NOSE: Box = (-0.12, 0.12, 0.3, 0.6)
#: The top of the head just above the hairline, where a cap's crown, a
#: beanie, a scarf or a turban sits; inside the frame of most tight crops
#: (unlike the crown further up). ``BRIM_BAND`` is where a brim or a hat's lower edge
#: crosses the forehead.
HEAD_TOP: Box = (-0.6, 0.6, -1.5, -1.05)
BRIM_BAND: Box = (-0.6, 0.6, -1.4, -0.35)
#: Where each check takes its skin reference: patches its own occluder
#: leaves bare. Sunglasses may cover the glabella and the upper cheeks, a
#: mask the nose and the cheeks, a hat the forehead. ``occlusions`` also drops
#: the patches that an occluder already found covers.
ABOVE_MASK: tuple[Box, ...] = (GLABELLA, FOREHEAD)
BESIDE_LENSES: tuple[Box, ...] = (NOSE, *LOWER_CHEEKS, FOREHEAD)
BELOW_HAT: tuple[Box, ...] = (GLABELLA, NOSE, *OUTER_CHEEKS, *LOWER_CHEEKS)
#: Where the eye detectors look: the eye windows and a little of the brow above.
EYE_SEARCH: tuple[Box, Box] = ((-0.9, -0.1, -0.35, 0.5), (0.1, 0.9, -0.35, 0.5))
#: OpenCV's Haar cascade for eyes, trained on eyes with and without glasses
#: (it ships in opencv-python, ``cv2.data``). It runs on the face view resampled
#: to ``EYE_SCALE`` pixels per face unit, looking for eyes 0.25-0.8 face units wide.
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"
EYE_SCALE = 80
_cascades = threading.local()  # cv2.CascadeClassifier is not shared between threads

#: The sunglasses model: a logistic regression over ``lens_features``
#: (names below), fitted by ``tools/fit_sunglasses.py`` on all of LFW
#: labelled by eye (``benchmarks/labels/lfw_sunglasses.txt``); the
#: threshold gives at most 1 % false alarms on LFW's faces without
#: sunglasses. Re-run that script to refit and paste its output here.
LENS_FEATURES = ("coverage_min", "coverage_max", "colour_shift_min", "colour_shift_max", "darkness_min",
                 "darkness_max", "eye_contrast_min", "eye_contrast_max", "has_colour")
SUNGLASSES_MODEL = (4.1335, 2.4564, 0.6770, 0.8140, -3.2985, -2.4567, -2.6612, -2.7468, 0.0013)
SUNGLASSES_BIAS = -2.5015
SUNGLASSES_THRESHOLD = -0.2837

#: The hat model: a logistic regression over ``hat_features`` (the measures
#: named in ``HAT_MEASURES``, then the HOG descriptor ``HAT_HOG`` of the grey
#: ``HAT_WINDOW``), standardised; fitted by ``tools/fit_hat.py`` on the
#: LFW images labelled by eye (``benchmarks/labels/lfw_hats.txt``) but those of every fifth person
#: and the hatless East-Asian faces of ``asian/casia_v5`` and ``asian/p101jp_s2``
#: (black hair, fringes), each also as a greyscale and a softened copy; threshold at 1 % false
#: alarms on each source's faces without a head covering (out-of-fold scores of a
#: five-fold cross-validation by person). Where the face's own SFace embedding
#: is at hand (``occlusions``: the network the model names), a second logistic
#: regression over the same features followed by that embedding decides, with
#: its own threshold fitted the same way. The
#: artefact, with what it was fitted on, is ``facematch/data/hat-v3.json`` (``artifacts.hat``). Beside it,
#: ``facematch/data/hattop-v1.json`` (``tools/fit_hat_top.py``) reads SFace's activations at the top of its chip
#: and adds its log-odds to those of the model with the embedding (``hat``).
HAT_MEASURES: tuple[str, ...] = ("skin_upper_forehead", "skin_forehead", "skin_head_top", "texture_upper_forehead",
                "head_top_chroma", "head_top_lightness", "head_top_spread", "head_top_vs_temples",
                "head_top_vs_hair_side", "brim_edge", "brim_straightness",
                "upper_forehead_lightness", "upper_forehead_chroma", "skin_hair_sides",
                "upper_forehead_vs_head_top", "head_top_absolute_lightness")
#: The layout of skin and of darkness over ``HAT_WINDOW``: a grid of
#: ``HAT_GRID`` (columns, rows) cells, each giving its skin-coloured fraction
#: and its mean lightness over the skin's (where the forehead's skin
#: stops and how: a brim's level edge, a hairline's arch, a scarf's sides).
HAT_GRID = (6, 4)
HAT_MEASURES += tuple(f"{kind}_grid_{r}_{c}" for kind in ("skin", "lightness")
                      for r in range(HAT_GRID[1]) for c in range(HAT_GRID[0]))
#: Forehead and top of the head, as the hat model's HOG sees it: resampled to
#: 64 x 40 pixels, 16-pixel blocks on an 8-pixel stride, 8-pixel cells, 9 bins.
HAT_WINDOW: Box = (-1.1, 1.1, -1.6, -0.3)
HAT_HOG = ((64, 40), (16, 16), (8, 8), (8, 8), 9)


@dataclass(frozen=True)
class OcclusionLimits:
    #: Pixels per face unit (eye distance) of the face view. 40 resolves a
    #: lens, a lip or a brim; more only costs time.
    view_scale: int = 40
    #: A pixel is skin-coloured when its chromaticity is within this L1
    #: distance of the image's skin reference.
    skin_distance: float = 0.06
    #: Sunglasses: within each eye window, pixels darker than
    #: ``lens_darkness`` x the cheek skin's lightness, opened with a disc of
    #: ``lens_min_size`` face units (frames, brows, lashes and the eye slit
    #: are thinner and vanish), must cover at least ``lens_min_coverage`` of
    #: the window on both sides; then ``SUNGLASSES_MODEL``'s score of what
    #: the windows show must exceed ``lens_min_score`` (see ``sunglasses``).
    lens_darkness: float = 0.7
    lens_min_size: float = 0.2
    lens_min_coverage: float = 0.3
    lens_min_score: float = SUNGLASSES_THRESHOLD
    #: Mask: less than ``mask_max_skin`` of the lower face (nose tip to chin)
    #: is skin-coloured and the lips are no redder than their surroundings by
    #: more than ``mask_max_lip_redness`` (CIELAB a*).
    mask_max_skin: float = 0.2
    mask_max_lip_redness: float = 6.0
    #: Mask: a mask the rule above finds is confirmed by the mask model
    #: (``model_scores``: the packaged ``occlusion-v1``, a logistic model over
    #: the face's embedding and ``RULE_FEATURES``) when the configured
    #: embedder is the one it was fitted for: its score over its fitted
    #: threshold (log-odds) must exceed ``mask_min_model_score``. Off, or with
    #: another embedder, the rule alone decides. The same switch lets the hat
    #: model read the embedding (``hat``); off, its image model alone decides.
    embedding_models: bool = True
    mask_min_model_score: float = 0.0
    #: Sunglasses: where the configured embedder is the one the sunglasses
    #: model was fitted for (the packaged ``sunglasses-v1``: a logistic model
    #: over the network's own activations around the eyes, ``region_features``)
    #: and ``embedding_models`` is on, that model decides instead of the lens
    #: rule above: its score over its fitted threshold (log-odds) must exceed
    #: ``sunglasses_min_model_score``. Otherwise the rule decides.
    sunglasses_min_model_score: float = 0.0
    #: Mask: where the embedder is the one the mouth model was fitted for (the
    #: packaged ``mask-mouth-v1``: a logistic model over the network's own
    #: activations at the nose tip and the mouth centre) and ``embedding_models``
    #: is on, a mask the rule and ``occlusion-v1`` do not find is still found
    #: when that model's score over its fitted threshold exceeds
    #: ``mask_min_mouth_score`` (``mask_by_mouth``). It is not read where more
    #: than ``mask_mouth_max_outside`` of the chip it reads around the mouth
    #: lies outside the image: the chip is black there, as a dark mask is.
    mask_min_mouth_score: float = 0.0
    mask_mouth_max_outside: float = 0.5
    #: The network's activations (``taps``: the sunglasses model, the mouth
    #: model, ``hattop-v1``) are read only on faces at least this many pixels
    #: between the eye centres; below, the chip they come from is mostly
    #: upsampled, and the lens rule, ``hat-v3`` and the mask rule with
    #: ``occlusion-v1`` decide as they do without the models.
    taps_min_eye_distance: float = 0.0
    #: Hat: the hat model's score of ``hat_features`` (and of the embedding, see
    #: ``embedding_models``; and, for a head neither cut nor turned, of the
    #: network's activations at the top of its chip, ``hat_top_model``), less
    #: the threshold it was fitted with (1 % false alarms per training source,
    #: cross-validated), must exceed this.
    hat_min_score: float = 0.0
    #: Hat: up to this fraction of ``HEAD_TOP`` outside the image, the
    #: model's own threshold (``hat_min_score``) decides. Beyond it (a
    #: close-up that cuts the head, whose view then shows the image's border
    #: replicated) a stricter score is asked, by how much is cut: more than
    #: half to 70 %, 70-90 %, over 90 % (``HAT_CUT_BANDS``). Each is the 99th
    #: percentile, in its band, of the scores of 1,500 hatless LFW photos of
    #: the people the hat model was fitted on, each cut across at 1.3, 1.2 and
    #: 1.1 eye distances above the eyes: ``python -m tools.fit_hat_cut --data
    #: ../shared/data`` (docs/checks.md, section 8).
    hat_max_outside: float = 0.5
    hat_cut_min_score_70: float = 2.14
    hat_cut_min_score_90: float = 5.41
    hat_cut_min_score_100: float = 6.38
    #: Hat: a head turned left or right by more than ``hat_max_yaw`` degrees
    #: (``head_yaw``) shows, in the window the model reads, the hair at the
    #: side of the head and, beside the face, the back of it: a dark mass
    #: that the model, fitted on mostly frontal faces, can take for a hood or
    #: a cap's side. Its score must then pass ``hat_turned_min_score`` (or the
    #: limit for a cut head, whichever is stricter): the 99th percentile of
    #: the scores of the hatless LFW photos of the people the hat model was
    #: fitted on whose heads are turned that far, as they are: ``python -m
    #: tools.fit_hat_cut --turned --data ../shared/data`` (docs/checks.md,
    #: section 8).
    hat_max_yaw: float = 30.0
    hat_turned_min_score: float = 1.29
    #: Each check's own lower size limit: the distance between the eye
    #: centres (face mesh, pixels of the image) below which it is not run,
    #: independent of the "too small" warning (11), which is about matching
    #: (40 px on a portrait): the occlusions are judged on far smaller faces.
    #: Chosen on the dev sets by ``benchmarks/occlusion_size.py`` (the faces
    #: of attributes/mask, attributes/sunglasses and clean_face, and clean
    #: faces with drawn caps, masks and lenses, shrunk from 60 to 4 px): the
    #: smallest size down to which the check's recall on the faces found
    #: stays at least two thirds of its full-size recall on every positive
    #: set (false alarms on clean_face stay at most 1.4 % at every size).
    #: docs/checks.md, "Occlusion checks on small faces", has the figures.
    mask_min_eye_distance: float = 5.0
    sunglasses_min_eye_distance: float = 6.0
    hat_min_eye_distance: float = 5.0


@dataclass(frozen=True)
class FaceView:
    """The face in the canonical frame (see the module docstring)."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    lab: np.ndarray  # float32 CIELAB: L in [0, 100], a* and b* centred on 0
    chroma: np.ndarray  # float32 chromaticity r, g, b (each pixel sums to 1)
    scale: int
    has_colour: bool
    affine: np.ndarray  # (2, 3) original image pixels -> view pixels

    @classmethod
    def from_points(cls, rgb: np.ndarray, points: np.ndarray, scale: int = 40) -> FaceView:
        src = np.array([points[list(EYE_A), :2].mean(0), points[list(EYE_B), :2].mean(0),
                        points[list(MOUTH), :2].mean(0)], np.float32)
        affine = np.asarray(cv2.getAffineTransform(src, to_view(CANONICAL, scale)), np.float64)
        w = round((X_RANGE[1] - X_RANGE[0]) * scale)
        h = round((Y_RANGE[1] - Y_RANGE[0]) * scale)
        # Only the part of the image the view covers is resampled. A plain
        # bilinear warp that shrinks would alias, so a large face is first
        # halved (Gaussian pyramid) until the warp scales by at most 2:1.
        inv = cv2.invertAffineTransform(affine)
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float32) @ inv[:, :2].T + inv[:, 2]
        x0, y0 = np.floor(corners.min(0)).astype(int) - 2
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(rgb.shape[1], x1), min(rgb.shape[0], y1)
        crop = rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        warp = affine.copy()
        warp[:, 2] += warp[:, :2] @ np.array([x0, y0], np.float32)
        shrink = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
        while shrink < 0.5 and min(crop.shape[:2]) > 16:
            crop = cv2.pyrDown(crop)
            warp[:, :2] *= 2
            shrink *= 2
        view = cv2.warpAffine(crop, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lab = cv2.cvtColor(view, cv2.COLOR_RGB2LAB).astype(np.float32)  # 8-bit: L * 255 / 100, a + 128, b + 128
        lab[:, :, 0] *= 100.0 / 255.0
        lab[:, :, 1:] -= 128.0
        f = view.astype(np.float32) + 3.0  # +3: dark pixels get a stable, near-neutral chromaticity
        chroma = f / f.sum(axis=2, keepdims=True)
        v = view.astype(np.int16)
        has_colour = bool(max(np.abs(v[:, :, 0] - v[:, :, 2]).mean(), np.abs(v[:, :, 1] - v[:, :, 2]).mean()) > 2.0)
        return cls(view, lab, chroma, scale, has_colour, affine)

    def mirrored(self) -> FaceView:
        """The view of the image mirrored left to right: the canonical frame is symmetric about the face's
        midline (``CANONICAL``, ``X_RANGE``), so that is this view flipped, the eye on the image's left
        taking the other's place."""
        w = self.rgb.shape[1]
        flip = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0]])
        affine = flip[:, :2] @ self.affine
        affine[:, 2] += flip[:, 2]
        return replace(self, rgb=np.ascontiguousarray(self.rgb[:, ::-1]), lab=np.ascontiguousarray(self.lab[:, ::-1]),
                       chroma=np.ascontiguousarray(self.chroma[:, ::-1]), affine=affine)

    def map(self, points: np.ndarray) -> np.ndarray:
        """Image pixels -> view pixels."""
        mapped: np.ndarray = np.asarray(points, np.float32)[:, :2] @ self.affine[:, :2].T + self.affine[:, 2]
        return mapped

    def outside(self, box: Box, image_shape: tuple[int, ...]) -> float:
        """Fraction of ``box`` (sampled on a 5x5 grid) that falls outside the original image."""
        x0, x1, y0, y1 = box
        uv = np.stack(np.meshgrid(np.linspace(x0, x1, 5), np.linspace(y0, y1, 5)), -1).reshape(-1, 2)
        inv = cv2.invertAffineTransform(self.affine)
        xy = to_view(uv, self.scale) @ inv[:, :2].T + inv[:, 2]
        h, w = image_shape[:2]
        return float(((xy[:, 0] < 0) | (xy[:, 0] >= w) | (xy[:, 1] < 0) | (xy[:, 1] >= h)).mean())

    def cut(self, a: np.ndarray, box: Box) -> np.ndarray:
        x0, x1, y0, y1 = box
        s = self.scale
        return a[round((y0 - Y_RANGE[0]) * s):round((y1 - Y_RANGE[0]) * s),
                 round((x0 - X_RANGE[0]) * s):round((x1 - X_RANGE[0]) * s)]

    def skin(self, patches: tuple[Box, ...], agree: float = 0.04) -> Skin:
        """The skin's colour, from the ``patches`` that agree.

        Each patch votes for the patches whose median chromaticity lies within
        ``agree`` (L1) of its own; the largest group is taken for skin, ties
        going to the group of the patch listed first (the least often covered).
        """
        meds = np.array([np.median(self.cut(self.chroma, b).reshape(-1, 3), axis=0) for b in patches])
        close = np.abs(meds[:, None, :] - meds[None, :, :]).sum(axis=2) < agree
        best = int(np.argmax(close.sum(axis=1)))  # argmax keeps the first of equals
        chroma = np.median(meds[close[best]], axis=0)
        group = [b for b, c in zip(patches, close[best], strict=True) if c]
        lab = np.concatenate([self.cut(self.lab, b).reshape(-1, 3) for b in group])
        pixels = np.concatenate([self.cut(self.chroma, b).reshape(-1, 3) for b in group])
        near = np.abs(pixels - chroma).sum(axis=1) < agree
        ref = lab[near] if near.sum() >= 10 else lab
        return Skin(chroma, float(np.median(ref[:, 0])), np.median(ref[:, 1:], axis=0))

    def skin_mask(self, box: Box, skin: Skin, distance: float) -> np.ndarray:
        """Pixels of ``box`` whose chromaticity is within ``distance`` of ``skin``."""
        close: np.ndarray = np.abs(self.cut(self.chroma, box) - skin.chroma).sum(axis=2) < distance
        return close


@dataclass(frozen=True)
class Skin:
    chroma: np.ndarray  # chromaticity (3,)
    lightness: float  # median CIELAB L of the skin pixels
    ab: np.ndarray  # median CIELAB a*, b* (2,)


def to_view(xy: np.ndarray, scale: int) -> np.ndarray:
    """Face units -> pixels of the face view."""
    origin = np.array([X_RANGE[0], Y_RANGE[0]], np.float32)
    view: np.ndarray = ((np.asarray(xy, np.float32) - origin) * scale).astype(np.float32)
    return view


def eye_contrasts(view: FaceView) -> tuple[float, float]:
    """Per eye window (``EYE_SEARCH``): the contrast of the best eye OpenCV's
    eye cascade finds there (95th minus 5th percentile of its grey levels,
    over the cheeks' median grey), 0 when it finds none. The cascade
    normalises contrast, so it may still find an eye behind a lens that
    passes some light; the lens dims that eye's contrast in proportion."""
    cascade = getattr(_cascades, "eye", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, EYE_CASCADE))  # type: ignore[attr-defined]
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {EYE_CASCADE} is missing from cv2.data")
        _cascades.eye = cascade
    grey = cv2.cvtColor(view.rgb, cv2.COLOR_RGB2GRAY)
    cheeks = max(1.0, float(np.median(np.concatenate([view.cut(grey, b).ravel() for b in LOWER_CHEEKS]))))
    up = EYE_SCALE / view.scale
    grey = cv2.resize(grey, None, fx=up, fy=up, interpolation=cv2.INTER_CUBIC)
    smallest, largest = round(0.25 * EYE_SCALE), round(0.8 * EYE_SCALE)
    best = []
    for x0, x1, y0, y1 in EYE_SEARCH:
        band = grey[round((y0 - Y_RANGE[0]) * EYE_SCALE):round((y1 - Y_RANGE[0]) * EYE_SCALE),
                    round((x0 - X_RANGE[0]) * EYE_SCALE):round((x1 - X_RANGE[0]) * EYE_SCALE)]
        eyes = cascade.detectMultiScale(band, 1.1, 3, minSize=(smallest, smallest), maxSize=(largest, largest))
        best.append(max((float(np.subtract(*np.percentile(band[y:y + h, x:x + w], [95, 5]))) / cheeks
                         for x, y, w, h in eyes), default=0.0))
    return best[0], best[1]


@dataclass(frozen=True)
class Lenses:
    """What the two eye windows show (image left, image right)."""

    coverage: tuple[float, float]  # fraction covered by solid dark pixels
    colour_shift: tuple[float, float]  # CIELAB a*b* distance of those pixels from skin; 0 without
    darkness: tuple[float, float]  # their median lightness over the cheek's; 1 without


def lenses(view: FaceView, limits: OcclusionLimits, reference: tuple[Box, ...] = BESIDE_LENSES) -> Lenses:
    """Per eye window (``EYE_WINDOWS``, brow to upper cheek): the pixels darker
    than ``lens_darkness`` x the lightness of the skin of the cheek below,
    morphologically opened with a disc ``lens_min_size`` face units wide
    (frames, brows, lashes and the eye slit are thinner and vanish), and how
    they differ from the skin (``reference`` patches) in colour and lightness."""
    skin = view.skin(reference)
    size = max(3, round(limits.lens_min_size * view.scale))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    coverage, shift, darkness = [], [], []
    for window, cheek in zip(EYE_WINDOWS, LOWER_CHEEKS, strict=True):
        # Lightness of the same side's cheek skin (side light darkens an eye
        # and its cheek alike); the reference's when the cheek is covered.
        bare = view.skin_mask(cheek, skin, limits.skin_distance)
        lightness = float(np.median(view.cut(view.lab[:, :, 0], cheek)[bare])) if bare.mean() > 0.3 else skin.lightness
        lab = view.cut(view.lab, window)
        solid = cv2.morphologyEx((lab[:, :, 0] < limits.lens_darkness * lightness).astype(np.uint8),
                                 cv2.MORPH_OPEN, disc).astype(bool)
        coverage.append(float(solid.mean()))
        if solid.sum() < 10:
            shift.append(0.0)
            darkness.append(1.0)
            continue
        lens = np.median(lab[solid], axis=0)
        shift.append(float(np.hypot(*(lens[1:] - skin.ab))) if view.has_colour else 0.0)
        darkness.append(float(lens[0]) / max(lightness, 1.0))
    return Lenses((coverage[0], coverage[1]), (shift[0], shift[1]), (darkness[0], darkness[1]))


def lens_gate(coverage: tuple[float, float], limits: OcclusionLimits) -> bool:
    """Whether the eye windows are covered enough for ``SUNGLASSES_MODEL`` to judge them: both at
    least ``lens_min_coverage``."""
    return min(coverage) >= limits.lens_min_coverage


def lens_features(found: Lenses, eyes: tuple[float, float], has_colour: bool) -> np.ndarray:
    """``LENS_FEATURES``: each measure's smaller and larger side (mirror
    symmetric), colour shifts in tens."""
    pairs = (found.coverage, tuple(v / 10 for v in found.colour_shift), found.darkness, eyes)
    return np.array([f(p) for p in pairs for f in (min, max)] + [float(has_colour)])


def sunglasses(view: FaceView, image: str, limits: OcclusionLimits,
               reference: tuple[Box, ...] = BESIDE_LENSES) -> list[Finding]:
    """Dark lenses over both eyes, through which no eye shows.

    ``lenses`` measures, per eye window, how much solid dark covers it, how
    unlike skin (the ``reference`` patches, ``BESIDE_LENSES``) it is in
    colour, and how dark. When both windows are covered at least
    ``lens_min_coverage`` (a shadowed eye socket can be dark too; clear
    glasses leave thin frames only), ``eye_contrasts`` looks for the eyes
    with OpenCV's eye cascade, and ``SUNGLASSES_MODEL`` weighs it all:
    large, dark, coloured lenses count for sunglasses, eyes seen at a real
    contrast against. The value reported is the model's score.
    """
    found = lenses(view, limits, reference)
    if not lens_gate(found.coverage, limits):
        return []
    x = lens_features(found, eye_contrasts(view), view.has_colour)
    score = float(np.dot(SUNGLASSES_MODEL, x) + SUNGLASSES_BIAS)
    if score > limits.lens_min_score:
        return [Finding(InvalidCode.SUNGLASSES, "sunglasses", image, value=score, limit=limits.lens_min_score)]
    return []


def load_sunglasses_model(path: str | Path | None = None) -> SunglassesModel:
    """The sunglasses artefact at ``path`` (the packaged ``sunglasses-v1`` without one)."""
    if path is None:
        return artifacts.load(SunglassesModel, version="v1")
    return artifacts.load(SunglassesModel, path=path)


@functools.cache
def sunglasses_model() -> SunglassesModel:
    """The packaged sunglasses model, read once (on first use, not at import)."""
    return load_sunglasses_model()


def sunglasses_by_model(taps: dict[str, np.ndarray] | None, embedder: str | None, image: str,
                        limits: OcclusionLimits, model: SunglassesModel | None = None) -> list[Finding] | None:
    """Sunglasses judged by the sunglasses model (``sunglasses-v1``) from the
    network's own activations around the eyes (``sunglasses.region_features`` of the tensor
    in ``taps`` it was fitted on, from the network ``embedder``). The value
    reported is its score over its fitted threshold. None when it cannot
    judge (``limits.embedding_models`` off, another network, no tensor): the
    lens rule (``sunglasses``) decides then."""
    if not limits.embedding_models or taps is None:
        return None
    model = model or sunglasses_model()
    if not model.reads(embedder, taps):
        return None
    score = model.score(taps)
    if score > limits.sunglasses_min_model_score:
        return [Finding(InvalidCode.SUNGLASSES, "sunglasses", image, value=score,
                        limit=limits.sunglasses_min_model_score)]
    return []


def load_mouth_model(path: str | Path | None = None) -> MaskMouthModel:
    """The mouth-model artefact at ``path`` (the packaged ``mask-mouth-v1`` without one)."""
    if path is None:
        return artifacts.load(MaskMouthModel, version="v1")
    return artifacts.load(MaskMouthModel, path=path)


@functools.cache
def mouth_model() -> MaskMouthModel:
    """The packaged mouth model, read once (on first use, not at import)."""
    return load_mouth_model()


def mouth_outside(points: np.ndarray, image_shape: tuple[int, ...], model: MaskMouthModel) -> float:
    """Fraction of the chip pixels the mouth model reads around the mouth (``MaskMouthModel.chip_box``,
    sampled on a 9x9 grid) that lie outside the image, for the chip the network aligns on the face mesh
    ``points`` (``alignment.arcface5``: the similarity from ``mesh_five`` onto ``ARCFACE112``)."""
    from facematch.models.alignment import ARCFACE112, mesh_five, similarity

    to_chip = similarity(mesh_five(points), ARCFACE112 * np.float32(model.chip / 112))
    x0, x1, y0, y1 = model.chip_box()
    uv = np.stack(np.meshgrid(np.linspace(x0 + 0.5, x1 - 0.5, 9), np.linspace(y0 + 0.5, y1 - 0.5, 9)), -1)
    inv = cv2.invertAffineTransform(to_chip)
    xy = uv.reshape(-1, 2) @ inv[:, :2].T + inv[:, 2]
    h, w = image_shape[:2]
    return float(((xy[:, 0] < 0) | (xy[:, 0] >= w) | (xy[:, 1] < 0) | (xy[:, 1] >= h)).mean())


def mask_by_mouth(taps: dict[str, np.ndarray] | None, embedder: str | None, points: np.ndarray,
                  image_shape: tuple[int, ...], image: str, limits: OcclusionLimits,
                  model: MaskMouthModel | None = None) -> list[Finding] | None:
    """A mask judged by the mouth model (``mask-mouth-v1``) from the network's own activations at the nose
    tip and the mouth centre (the tensor in ``taps`` it was fitted on, from the network ``embedder``). The
    value reported is its score over its fitted threshold. None when it cannot judge: ``embedding_models``
    off, another network, no tensor, or the mouth mostly outside the image (``mouth_outside``)."""
    if not limits.embedding_models or taps is None:
        return None
    model = model or mouth_model()
    if not model.reads(embedder, taps) or mouth_outside(points, image_shape, model) > limits.mask_mouth_max_outside:
        return None
    score = model.score(taps)
    if score > limits.mask_min_mouth_score:
        return [Finding(InvalidCode.MASK, "mask", image, value=score, limit=limits.mask_min_mouth_score)]
    return []


def lip_redness(view: FaceView, points: np.ndarray) -> float:
    """CIELAB a* of the lips (between the mesh's outer and inner lip
    contours, so that teeth and an open mouth do not count) minus that of a
    ring of skin around the mouth."""
    h, w = view.rgb.shape[:2]
    outer = np.zeros((h, w), np.uint8)
    cv2.fillPoly(outer, [np.round(view.map(points[list(LIPS)])).astype(np.int32)], 1)
    opening = np.zeros((h, w), np.uint8)
    cv2.fillPoly(opening, [np.round(view.map(points[list(MOUTH_OPENING)])).astype(np.int32)], 1)
    k = max(3, round(0.2 * view.scale)) | 1
    ring = cv2.dilate(outer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool) & ~outer.astype(bool)
    lips = outer.astype(bool) & ~opening.astype(bool)
    if lips.sum() < 4 or ring.sum() < 4:
        return 0.0
    a = view.lab[:, :, 1]
    return float(a[lips].mean() - a[ring].mean())


def mask(view: FaceView, points: np.ndarray, image: str, limits: OcclusionLimits,
         reference: tuple[Box, ...] = ABOVE_MASK) -> list[Finding]:
    """A mask over the nose, mouth and chin.

    Skin reference: the ``reference`` patches (``ABOVE_MASK``). The fraction of the lower face
    (``LOWER_FACE``: below the nose tip, to the chin) whose chromaticity is
    within ``skin_distance`` of the skin's, and the lips' redness against
    the skin around them (``lip_redness``). A mask when the lower face is
    mostly not skin-coloured and no red lips show (lips from the mesh
    ``points``, image pixels). Not decided on greyscale
    images. The value reported is the skin fraction.
    """
    if not view.has_colour:
        return []
    skin = float(view.skin_mask(LOWER_FACE, view.skin(reference), limits.skin_distance).mean())
    if skin < limits.mask_max_skin and lip_redness(view, points) <= limits.mask_max_lip_redness:
        return [Finding(InvalidCode.MASK, "mask", image, value=skin, limit=limits.mask_max_skin)]
    return []


def load_hat_model(path: str | Path | None = None) -> HatModel:
    """The hat artefact at ``path`` (the packaged ``hat-v3`` without one), refused when its features are not
    those ``hat_features`` computes."""
    model = artifacts.load(HatModel, version="v3") if path is None else artifacts.load(HatModel, path=path)
    same_hog = json.loads(json.dumps(model.hog)) == json.loads(json.dumps(HAT_HOG))
    if list(model.measures) != list(HAT_MEASURES) or not same_hog or list(model.window) != list(HAT_WINDOW) \
            or len(model.logistic.weights) != hat_feature_count():
        raise ValueError("hat artefact: its features are not those hat_features computes")
    return model


@functools.cache
def hat_model() -> HatModel:
    """The packaged hat model, read once (on first use, not at import)."""
    return load_hat_model()


def load_hat_top_model(path: str | Path | None = None) -> HatTopModel:
    """The artefact of the hat model over the network's activations at the top of its chip at ``path`` (the
    packaged ``hattop-v1`` without one), refused when it adds to another hat model than the packaged one or
    reads another network's tensor than the one the packaged hat model's embedding comes from."""
    top = artifacts.load(HatTopModel, version="v1") if path is None else artifacts.load(HatTopModel, path=path)
    base = hat_model()
    if top.base != base.version or top.embedder != base.embedder:
        raise ValueError(f"hattop artefact: fitted on {top.base} with {top.embedder}, not {base.version} with "
                         f"{base.embedder}")
    return top


@functools.cache
def hat_top_model() -> HatTopModel:
    """The packaged hat model over the activations at the top of the chip, read once (on first use)."""
    return load_hat_top_model()


def _hog() -> cv2.HOGDescriptor:
    hog = getattr(_cascades, "hat_hog", None)
    if hog is None:
        hog = cv2.HOGDescriptor(*HAT_HOG)
        _cascades.hat_hog = hog
    return hog


def hat_feature_count() -> int:
    return len(HAT_MEASURES) + int(_hog().getDescriptorSize())


def hat_measures(view: FaceView) -> np.ndarray:
    """``HAT_MEASURES`` of the face ``view``, judged against the skin of
    ``BELOW_HAT`` (the patches a hat leaves bare):

    - skin fractions of ``UPPER_FOREHEAD``, ``FOREHEAD``, ``HEAD_TOP`` and
      ``HAIR_SIDES`` (a hat or a fringe covers the first, a brim or scarf
      also the second);
    - the fine texture of the upper forehead (mean |L - Gaussian(L, 1.5 px)|,
      tens);
    - ``HEAD_TOP``'s and the upper forehead's median chroma (tens) and
      lightness over the skin's, the head top's lightness spread
      (interquartile range, tens) and absolute lightness (hundredths): hair
      is dark and weakly coloured, caps come in any colour, white included;
    - CIELAB distances (tens) of ``HEAD_TOP`` from what is beside the temples,
      from the hair at the sides of the forehead, and from the upper forehead;
    - the brim edge: the strongest row mean of the vertical lightness
      gradient in ``BRIM_BAND`` (a level, straight edge adds up), over the
      skin's lightness, and how straight the strongest edge of each column
      runs (fraction of columns within 2 px of their median row);
    - over ``HAT_WINDOW``, per ``HAT_GRID`` cell (``hat_grid``): the
      skin-coloured fraction, then the mean lightness over the skin's.

    On a greyscale image the chroma measures are 0 (the model was fitted on
    greyscale copies of its faces too).
    """
    skin = view.skin(BELOW_HAT)
    d = 0.06
    lab = view.lab
    light = lab[:, :, 0]
    texture = float(view.cut(np.abs(light - cv2.GaussianBlur(light, (0, 0), 1.5)), UPPER_FOREHEAD).mean())
    top = view.cut(lab, HEAD_TOP).reshape(-1, 3)
    top_med = np.median(top, axis=0)
    q75, q25 = np.percentile(top[:, 0], [75, 25])
    upper = np.median(view.cut(lab, UPPER_FOREHEAD).reshape(-1, 3), axis=0)
    temples = [np.median(view.cut(lab, b).reshape(-1, 3), axis=0) for b in TEMPLES]
    sides = [np.median(view.cut(lab, b).reshape(-1, 3), axis=0) for b in HAIR_SIDES]
    band = cv2.GaussianBlur(view.cut(light, BRIM_BAND), (0, 0), 1.0)
    diff = np.diff(band, axis=0)
    brim = float(np.abs(diff.mean(axis=1)).max()) * view.scale / 10.0 / max(skin.lightness, 1.0)
    rows = np.abs(diff).argmax(axis=0)
    straight = float((np.abs(rows - np.median(rows)) <= 2).mean())
    ref = max(skin.lightness, 1.0)
    return np.array([
        float(view.skin_mask(UPPER_FOREHEAD, skin, d).mean()),
        float(view.skin_mask(FOREHEAD, skin, d).mean()),
        float(view.skin_mask(HEAD_TOP, skin, d).mean()),
        texture / 10.0,
        float(np.hypot(top_med[1], top_med[2])) / 10.0 if view.has_colour else 0.0,
        float(top_med[0]) / ref,
        float(q75 - q25) / 10.0,
        min(float(np.linalg.norm(top_med - t)) for t in temples) / 10.0,
        min(float(np.linalg.norm(top_med - t)) for t in sides) / 10.0,
        brim,
        straight,
        float(upper[0]) / ref,
        float(np.hypot(upper[1], upper[2])) / 10.0 if view.has_colour else 0.0,
        float(np.mean([view.skin_mask(b, skin, d).mean() for b in HAIR_SIDES])),
        float(np.linalg.norm(upper - top_med)) / 10.0,
        float(top_med[0]) / 100.0,
        *hat_grid(view.skin_mask(HAT_WINDOW, skin, d).astype(np.float32)),
        *hat_grid(view.cut(light, HAT_WINDOW) / ref),
    ])


def hat_grid(a: np.ndarray) -> list[float]:
    """The mean of ``a`` (a ``HAT_WINDOW`` cut) over each ``HAT_GRID`` cell, row by row."""
    cols, rows = HAT_GRID
    ys = np.linspace(0, a.shape[0], rows + 1).astype(int)
    xs = np.linspace(0, a.shape[1], cols + 1).astype(int)
    return [float(a[ys[r]:ys[r + 1], xs[c]:xs[c + 1]].mean()) for r in range(rows) for c in range(cols)]


def hat_features(view: FaceView) -> np.ndarray:
    """The hat model's input: ``hat_measures`` then the HOG descriptor
    (``HAT_HOG``) of the grey ``HAT_WINDOW`` of the view."""
    grey = cv2.cvtColor(view.cut(view.rgb, HAT_WINDOW), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(np.ascontiguousarray(grey), HAT_HOG[0], interpolation=cv2.INTER_AREA)
    hog = np.asarray(_hog().compute(grey), np.float64).ravel()
    return np.concatenate([hat_measures(view), hog])


def hat(view: FaceView, image_shape: tuple[int, ...], image: str, limits: OcclusionLimits,
        embedding: np.ndarray | None = None, embedder: str | None = None, yaw: float = 0.0,
        taps: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """A head covering: cap, hat, beanie, hood, scarf, turban.

    The hat model (``HatModel``, logistic regressions fitted on wild LFW
    photos labelled by eye) weighs ``hat_features``: how much of the forehead
    and the top of the head is covered, by what (coloured or hair-like, like
    or unlike the hair beside it), whether a level edge (a brim) crosses the
    forehead, and the shape of the edges there (HOG). The value reported is
    the score over the fitted threshold (log-odds). With the face's own
    ``embedding`` from the network the model was fitted for (``embedder``)
    and ``limits.embedding_models`` on, the model that also reads the
    embedding decides; otherwise the image model alone. When ``HEAD_TOP`` lies mostly outside the image
    (a close-up that cuts the head: a border replicated into the view can
    look like a smooth cap), the score must pass a stricter limit, by how
    much is cut (``hat_limit``); so must a head turned by more than
    ``limits.hat_max_yaw`` degrees (``yaw``, ``head_yaw``). The finding
    reports the limit that applied.

    The image features are read on the view and on its mirror image
    (``FaceView.mirrored``) and the model's scores averaged (since
    2026-12-08): a head covering is one in a mirror, and a front camera or a
    web page may send the selfie mirrored. Fitted on photos as they are, the
    model read 10 of CASIA-FaceV5's 197 webcam photos mirrored as hats, none
    as they are (docs/checks.md, code 8).

    For a head neither cut nor turned, where the model with the embedding
    decides and ``taps`` (from the same network) hold the tensor the
    second artefact was fitted on (``hat_top_model``: SFace's activations at
    the top of its chip, where a brim or a cap's front shows), its log-odds
    are added to that model's and the sum is read against its own fitted
    threshold (the value reported is the sum over it). Otherwise nothing
    changes.
    """
    outside = view.outside(HEAD_TOP, image_shape)
    limit = hat_limit(outside, limits, yaw)
    model = hat_model()
    reads = limits.embedding_models and model.reads(embedding, embedder)
    both = (hat_features(view), hat_features(view.mirrored()))
    score = sum(model.score(x, embedding if reads else None, embedder) for x in both) / 2
    if reads and embedding is not None and outside <= limits.hat_max_outside and abs(yaw) <= limits.hat_max_yaw:
        top = hat_top_model()
        if taps is not None and top.reads(embedder, taps):
            score = top.score(sum(model.log_odds(x, embedding) for x in both) / 2, taps)
    if score > limit:
        return [Finding(InvalidCode.HAT, "hat", image, value=score, limit=limit)]
    return []


#: Upper edges of the bands of ``HEAD_TOP`` cut off by the frame with their own hat limit (``hat_limit``).
HAT_CUT_BANDS = (0.7, 0.9, 1.0)


def hat_limit(outside: float, limits: OcclusionLimits, yaw: float = 0.0) -> float:
    """The score a head covering must pass when ``outside`` of ``HEAD_TOP`` lies outside the image and the
    head is turned by ``yaw`` degrees: ``hat_min_score`` up to ``hat_max_outside``, then the stricter limit
    of its band (``HAT_CUT_BANDS``); for a head turned by more than ``hat_max_yaw`` (either way), at least
    ``hat_turned_min_score``."""
    limit = limits.hat_min_score
    if outside > limits.hat_max_outside:
        bands = zip(HAT_CUT_BANDS, (limits.hat_cut_min_score_70, limits.hat_cut_min_score_90,
                                    limits.hat_cut_min_score_100), strict=True)
        limit = next((lim for edge, lim in bands if outside <= edge), limits.hat_cut_min_score_100)
    if abs(yaw) > limits.hat_max_yaw:
        limit = max(limit, limits.hat_turned_min_score)
    return limit


def head_yaw(points: np.ndarray) -> float:
    """How far the head is turned left or right, in degrees (0: facing the camera; the sign says which
    way): the angle out of the image plane of the line between the face mesh's outline points beside the
    eyes (``CHEEK_EDGES``), from the mesh's relative depth (z, in the scale of x and y). 0 for points
    without depth."""
    p = np.asarray(points, np.float64)
    if p.ndim != 2 or p.shape[1] < 3:
        return 0.0
    d = p[CHEEK_EDGES[1]] - p[CHEEK_EDGES[0]]
    return float(np.degrees(np.arctan2(d[2], np.hypot(d[0], d[1]))))


#: What the rules measure, as inputs of the occlusion models beside the
#: embedding (``rule_features``): the skin-coloured fraction of the lower
#: face (against ``ABOVE_MASK``), the lips' redness (tens of CIELAB a*), then
#: ``LENS_FEATURES``, then ``MASK_MEASURES`` (``mask_measures``).
MASK_MEASURES = ("lower_face_contrast", "cheek_skin", "lower_face_texture")
RULE_FEATURES = ("lower_face_skin", "lip_redness", *LENS_FEATURES, *MASK_MEASURES)


def mask_measures(view: FaceView, skin: Skin, limits: OcclusionLimits) -> np.ndarray:
    """``MASK_MEASURES``: what tells a mask from a beard, a moustache, teeth or
    a shadowed chin, which the skin fraction alone does not:

    - the CIELAB distance (tens) of the lower face's median colour from the
      skin's: a mask differs in lightness too (white, black), a shadow or a
      beard less;
    - the skin-coloured fraction of ``LOWER_CHEEKS``: a mask covers them,
      an open mouth or a moustache does not;
    - the fine texture of the lower face (mean |L - Gaussian(L, 1 px)|,
      tens): fabric is smoother than stubble, teeth and lips.
    """
    low = view.cut(view.lab, LOWER_FACE).reshape(-1, 3)
    contrast = float(np.linalg.norm(np.median(low, axis=0) - np.array([skin.lightness, *skin.ab]))) / 10.0
    cheeks = float(np.mean([view.skin_mask(b, skin, limits.skin_distance).mean() for b in LOWER_CHEEKS]))
    light = view.lab[:, :, 0]
    texture = float(view.cut(np.abs(light - cv2.GaussianBlur(light, (0, 0), 1.0)), LOWER_FACE).mean()) / 10.0
    return np.array([contrast, cheeks, texture])


def rule_features(view: FaceView, points: np.ndarray, limits: OcclusionLimits,
                  reference: tuple[Box, ...] = ABOVE_MASK) -> np.ndarray:
    """``RULE_FEATURES`` of the face ``view`` (mesh ``points``, image pixels),
    the skin judged against the ``reference`` patches the mask rule used."""
    ref = view.skin(reference)
    skin = float(view.skin_mask(LOWER_FACE, ref, limits.skin_distance).mean())
    lens = lens_features(lenses(view, limits), eye_contrasts(view), view.has_colour)
    return np.concatenate([[skin, lip_redness(view, points) / 10.0], lens, mask_measures(view, ref, limits)])


def load_occlusion_model(path: str | Path | None = None) -> OcclusionModel:
    """The occlusion models' artefact at ``path`` (the packaged ``occlusion-v1`` without one), refused
    when it lacks a model or reads rule measures other than those ``rule_features`` computes."""
    model = artifacts.load(OcclusionModel, version="v1") if path is None else artifacts.load(OcclusionModel, path=path)
    if "mask" not in model.models:
        raise ValueError("occlusion artefact: needs a mask model")
    if model.reads_rules and list(model.rule_features) != list(RULE_FEATURES):
        raise ValueError("occlusion artefact: its rule measures are not those rule_features computes")
    return model


@functools.cache
def occlusion_model() -> OcclusionModel:
    """The packaged occlusion models, read once (on first use, not at import)."""
    return load_occlusion_model()


def model_scores(view: FaceView, points: np.ndarray, embedding: np.ndarray | None, embedder: str | None,
                 limits: OcclusionLimits, model: OcclusionModel | None = None,
                 reference: tuple[Box, ...] = ABOVE_MASK) -> dict[str, float] | None:
    """Per model (``"mask"``), the occlusion model's score
    of the face (log-odds over its fitted threshold) from its ``embedding``
    (the network's own, before any adaptation) and, where a model reads them,
    the ``rule_features`` of its ``view`` (skin judged against ``reference``,
    the patches the mask rule used). None without an embedding, or when
    ``embedder`` is not the network the models were fitted for (another
    network's embeddings mean nothing to them): the rules decide then."""
    if embedding is None or embedder is None:
        return None
    model = model or occlusion_model()
    if embedder != model.embedder or np.asarray(embedding).shape != (model.dim,):
        return None
    rules = rule_features(view, points, limits, reference) if model.reads_rules else None
    return {name: m.score(embedding, rules) for name, m in model.models.items()}


def occlusions(view: FaceView, points: np.ndarray, image_shape: tuple[int, ...], image: str,
               limits: OcclusionLimits, embedding: np.ndarray | None = None,
               embedder: str | None = None, taps: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """Hat, sunglasses and mask, each judged against skin that the others
    found do not cover: the mask's reference loses the forehead under a hat
    or the glabella behind lenses; with both found, the mask must hold against
    each of the two alone (``mask_references``), so that no finding silences
    the mask check and neither a wide bridge nor a headband makes one; when a
    mask is found, the lenses are judged again against the skin above the
    mask (their first reference, nose and cheeks, lay under it), and stand if
    any reading finds them. Each check runs only on faces whose eyes are at
    least its ``*_min_eye_distance`` apart.

    A mask the rule finds is then confirmed by the mask model
    (``model_scores``: the face's ``embedding`` from the network ``embedder``,
    and the rule measures) when ``limits.embedding_models`` is on and the
    model was fitted for that network; the finding then reports the model's
    score (the lower of the two readings when there are two). Otherwise the rule's finding stands.

    A mask that neither finds is still found by the mouth model where it can
    judge (``mask_by_mouth``: the network's ``taps`` at the nose tip and the
    mouth, no skin reference), with or without a hat or lenses.

    Sunglasses are judged by the sunglasses model from the network's ``taps``
    where it can (``sunglasses_by_model``; skin plays no part there, so
    nothing is judged again), by the lens rule otherwise. The hat check reads
    the same ``taps`` (``hat``, ``hat_top_model``)."""
    eyes = eye_distance(points)
    if eyes < limits.taps_min_eye_distance:
        taps = None
    hats = hat(view, image_shape, image, limits, embedding, embedder, head_yaw(points), taps) \
        if eyes >= limits.hat_min_eye_distance else []
    judge_lenses = eyes >= limits.sunglasses_min_eye_distance
    by_model = sunglasses_by_model(taps, embedder, image, limits) if judge_lenses else None
    glasses = by_model if by_model is not None else (sunglasses(view, image, limits) if judge_lenses else [])
    bare = mask_references(bool(hats), bool(glasses))
    found = [mask(view, points, image, limits, ref) for ref in bare] if eyes >= limits.mask_min_eye_distance else []
    masks = found[0] if found and all(found) else []
    if masks and limits.embedding_models:
        readings = [model_scores(view, points, embedding, embedder, limits, reference=ref) for ref in bare]
        if all(r is not None for r in readings):
            score = min(r["mask"] for r in readings if r is not None)
            masks = [Finding(InvalidCode.MASK, "mask", image, value=score, limit=limits.mask_min_model_score)
                     ] if score > limits.mask_min_model_score else []
    if not masks and eyes >= limits.mask_min_eye_distance:
        masks = mask_by_mouth(taps, embedder, points, image_shape, image, limits) or []
    if masks and glasses and by_model is None:
        glasses = next((g for g in (sunglasses(view, image, limits, ref) for ref in bare) if g), [])
    return masks + glasses + hats


def mask_references(hat_found: bool, sunglasses_found: bool) -> tuple[tuple[Box, ...], ...]:
    """The skin references the mask rule judges against in ``occlusions``: ``ABOVE_MASK`` less the
    forehead under a hat or the glabella behind lenses. With both found, neither patch is sure to be bare
    (a headband leaves the forehead, a wide bridge covers the glabella), so each is read alone and a mask
    must hold against both: ``(GLABELLA,)`` and ``(FOREHEAD,)``."""
    if hat_found and sunglasses_found:
        return (GLABELLA,), (FOREHEAD,)
    covered = {FOREHEAD} if hat_found else {GLABELLA} if sunglasses_found else set()
    return (tuple(b for b in ABOVE_MASK if b not in covered),)


def eye_distance(points: np.ndarray) -> float:
    """Distance between the eye centres of the face mesh ``points``, in image pixels."""
    return float(np.hypot(*(points[list(EYE_A), :2].mean(0) - points[list(EYE_B), :2].mean(0))))

