"""Presentation-attack detection on one image: is this a photo of a screen
or of a print (invalidCode 10)?

A recaptured face went through two imaging chains, the camera that took the
victim's photo and the camera pointed at a screen or a print of it, with a
display or ink between them. ``features`` measures what that leaves, on the
face region only (a face crop is all a client sends in most replays):

* ``moire``: the largest isolated peak of the spectrum of a square around
  the face at the image's own resolution (a screen's pixel grid aliased by
  the camera's, a print's halftone screen; ``imaging.spectrum.peak_prominence``);
* ``black``: the darkest 2 % of the face, luma 0-1: a screen's black level
  and the glare on its glass, a print's ink density, lift it;
* ``contrast``: luma's 98th minus 2nd percentile: both chains compress it;
* ``chroma``: median CIELAB chroma of the face: inks shrink the gamut, a
  display's gamut and white point change it;
* ``cool``: minus the CIELAB b* of the brightest 10 %: a display's white
  is bluer than indoor light on skin (``chroma`` and ``cool`` are NaN on a
  greyscale image, and the model then counts them as average);
* ``glare``: fraction of clipped near-white pixels (a reflection on glass),
  on every n-th pixel so that at most 160 a side are read;
* ``soft``: the fraction of gradient energy that survives a re-blur, at a
  fixed 64 px face size (a re-photograph's lost detail, in any resolution);
* ``hue_lbp0``-``hue_lbp9``: the colour micro-texture, a histogram of
  rotation-invariant uniform local binary patterns (8 neighbours, radius 1)
  of the hue channel of the face at 64 px or less (Boulkenafet et al.'s colour
  texture): a second imaging chain rewrites the pixel-to-pixel hue structure
  (a screen's sub-pixels, the second camera's demosaicking and chroma
  subsampling) even where its colour cast and sharpness look like a camera
  photo's (NaN on a greyscale image, like ``chroma`` and ``cool``).

Colour and tone are measured on the face resized to 96 px (area averaging),
so the cost does not grow with the image. The score is a logistic model over
the standardised features whose weights are an artefact
(``facematch/data/pad-v1.json``, ``artifacts.pad``, fitted by
``facematch.fit.pad``; it says on what). The detector holds no mutable state: one instance serves every
thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facematch import artifacts
from facematch.artifacts.pad import PadModel
from facematch.imaging.spectrum import face_patch, peak_prominence
from facematch.types import Box, ImageKind

#: Bins of the hue texture histogram: 0-8 the uniform patterns by their count of brighter neighbours, 9 the rest.
HUE_BINS = 10
FEATURES = ("moire", "black", "contrast", "chroma", "cool", "glare", "soft") + tuple(
    f"hue_lbp{i}" for i in range(HUE_BINS))
#: Side (pixels) of the full-resolution square whose spectrum is searched.
PATCH = 256
#: Side the face is resized to for colour and tone.
COLOUR_SIDE = 96
#: Side the face is resized to for ``soft`` and the hue texture.
SOFT_SIDE = 64
#: The 8 neighbours at radius 1, in circular order (local binary patterns).
_RING = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
#: Standardised features are clipped to +-Z_CLIP, so that no one feature's
#: outlier (an overexposed face's clipped pixels read as glare) decides alone.
Z_CLIP = 3.0


def face_region(rgb: np.ndarray, box: Box | None) -> np.ndarray:
    """The face box clipped to the image (its central 80 % without a box)."""
    h, w = rgb.shape[:2]
    if box is None:
        x1, y1, x2, y2 = 0.1 * w, 0.1 * h, 0.9 * w, 0.9 * h
    else:
        x1, y1, x2, y2 = box
    a, b = int(max(0, math.floor(x1))), int(max(0, math.floor(y1)))
    c, d = int(min(w, math.ceil(x2))), int(min(h, math.ceil(y2)))
    if c - a < 2 or d - b < 2:
        return rgb
    return rgb[b:d, a:c]


def _soft(grey: np.ndarray) -> float:
    g = cv2.resize(grey, (SOFT_SIDE, SOFT_SIDE), interpolation=cv2.INTER_AREA)

    def energy(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=0)).mean())

    e = energy(g)
    return energy(cv2.GaussianBlur(g, (0, 0), 1.0)) / e if e > 1e-4 else 1.0


def hue_texture(region: np.ndarray) -> np.ndarray:
    """Histogram (``HUE_BINS``, sums to 1) of the rotation-invariant uniform
    local binary patterns of the hue of ``region`` (RGB uint8), resized down
    to ``SOFT_SIDE`` (a smaller face is read as it is: upsampling would smooth
    its hue as a recapture does): a pattern with at most two 0/1 changes
    around the circle counts by its number of neighbours at least as high as
    the centre (0-8), any other in the last bin."""
    small = np.ascontiguousarray(region)
    if min(small.shape[:2]) > SOFT_SIDE:
        small = cv2.resize(small, (SOFT_SIDE, SOFT_SIDE), interpolation=cv2.INTER_AREA)
    hue = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[:, :, 0].astype(np.int16)
    if min(hue.shape) < 3:
        return np.full(HUE_BINS, math.nan)
    h, w = hue.shape
    centre = hue[1:-1, 1:-1]
    bits = np.stack([hue[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= centre for dy, dx in _RING])
    changes = (bits != np.roll(bits, 1, axis=0)).sum(axis=0)
    code = np.where(changes <= 2, bits.sum(axis=0), HUE_BINS - 1)
    return np.bincount(code.ravel(), minlength=HUE_BINS).astype(np.float64) / code.size


def features(rgb: np.ndarray, box: Box | None) -> np.ndarray:
    """The ``FEATURES`` of one RGB uint8 image, float64, in that order."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    region = face_region(rgb, box)
    patch = face_patch(rgb, box, PATCH)
    moire = peak_prominence(patch) if patch is not None else 0.0
    step = max(1, -(-max(region.shape[:2]) // 160))  # clipped pixels: enough at <= 256 px
    sparse = region[::step, ::step]
    glare = float((sparse.min(axis=2) >= 245).mean())
    small = cv2.resize(np.ascontiguousarray(region), (COLOUR_SIDE, COLOUR_SIDE), interpolation=cv2.INTER_AREA)
    f = small.astype(np.float32) / 255.0
    luma = f @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lo, hi, bright = np.percentile(luma, (2, 98, 90))
    if float(np.abs(f - f.mean(axis=2, keepdims=True)).max()) < 2 / 255:  # greyscale: no colour to judge
        chroma = cool = math.nan
        hue = np.full(HUE_BINS, math.nan)
    else:
        hue = hue_texture(region)
        lab = cv2.cvtColor(f, cv2.COLOR_RGB2LAB)
        chroma = float(np.median(np.hypot(lab[:, :, 1], lab[:, :, 2])))
        top = luma >= bright
        cool = -float(lab[:, :, 2][top].mean()) if top.any() else 0.0
    soft = _soft(luma)
    return np.concatenate([[moire, lo, hi - lo, chroma, cool, glare, soft], hue]).astype(np.float64)


@dataclass(frozen=True)
class RecaptureDetector:
    """``AttackDetector``: a logistic model over ``features``; the score is
    the modelled probability of an attack, 0-1."""

    model: PadModel
    name: str = "recapture"

    def __post_init__(self) -> None:
        if list(self.model.features) != list(FEATURES):
            raise ValueError(f"pad artefact features {list(self.model.features)} are not {list(FEATURES)}")

    @classmethod
    def load(cls, path: str | Path | None = None) -> RecaptureDetector:
        """The artefact at ``path``; the packaged ``pad-v1.json`` by default."""
        model = artifacts.load(PadModel, version="v1") if path is None else artifacts.load(PadModel, path=path)
        return cls(model, name=f"recapture-{model.version}")

    @property
    def limit(self) -> float:
        """The operating point it was fitted with (``FraudLimits.max_attack_score``'s default)."""
        return self.model.limit

    @property
    def version(self) -> str:
        return self.model.version

    def logit(self, x: np.ndarray) -> float:
        """The model's log-odds; a feature that is NaN (colour of a greyscale image) counts as average."""
        m = self.model
        z = np.nan_to_num((x - np.asarray(m.mean)) / np.asarray(m.scale), nan=0.0)
        return float(np.clip(z, -Z_CLIP, Z_CLIP) @ np.asarray(m.weights) + m.bias)

    def score(self, rgb: np.ndarray, box: Box | None, kind: ImageKind = ImageKind.PORTRAIT) -> float:
        """Probability that ``rgb`` is a photo of a screen or a print. The
        same model serves every ``kind``: a card's printed portrait is what
        its box points at."""
        t = self.logit(features(rgb, box))
        return 1.0 / (1.0 + math.exp(-t))
