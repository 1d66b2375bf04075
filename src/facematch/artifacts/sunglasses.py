"""Models that read the embedding network's own activations around face points: the sunglasses model
(code 7, ``checks.occlusion.sunglasses_by_model``, around the eye centres) and the mouth model (code 9,
``checks.occlusion.mask_by_mouth``, ``MaskMouthModel``: around the nose tip and the mouth centre).

Schema ``facematch-sunglasses/1``:
``version``; ``embedder``, the network whose inner tensor ``tap`` (of shape
``tap_shape``: channels, rows, columns) it reads, computed on the network's
own aligned chip of ``chip`` pixels; ``points``, the template points of that
alignment it reads around (sunglasses: the eye centres), and ``reach``, the distance in chip pixels around
each over which each channel is averaged (``region_features``);
then a logistic model (``mean``, ``scale``, ``weights``, ``bias``,
``threshold``) over those averages, one per channel and point, and
``provenance``. Fitted by ``tools/fit_sunglasses_eyes.py``.

Schema ``facematch-mask-mouth/1``: the same fields, read the same way, at
the nose tip and the mouth centre. Fitted by ``tools/fit_mask_mouth.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from facematch.artifacts import Source
from facematch.artifacts.logistic import Logistic


@dataclass(frozen=True, eq=False)
class SunglassesModel:
    KIND: ClassVar[str] = "sunglasses"
    SCHEMA: ClassVar[str] = "facematch-sunglasses/1"

    version: str
    embedder: str
    tap: str
    tap_shape: tuple[int, int, int]
    chip: int
    points: tuple[tuple[float, float], ...]
    reach: float
    logistic: Logistic
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> Self:
        what = f"{cls.KIND} artefact"
        shape = tuple(int(v) for v in doc["tap_shape"])
        points = [[float(c) for c in p] for p in doc["points"]]
        if len(shape) != 3 or min(shape) <= 0 or not points or any(len(p) != 2 for p in points):
            raise ValueError(f"{what}: tap_shape needs 3 positive sizes and points (x, y) pairs")
        reach, chip = float(doc["reach"]), int(doc["chip"])
        if reach <= 0 or chip <= 0:
            raise ValueError(f"{what}: reach and chip must be positive")
        logistic = Logistic.from_doc(doc, what, len(points) * shape[0])
        return cls(str(doc["version"]), str(doc["embedder"]), str(doc["tap"]), (shape[0], shape[1], shape[2]),
                   chip, tuple((p[0], p[1]) for p in points), reach, logistic, dict(doc["provenance"]), source)

    def reads(self, embedder: str | None, taps: dict[str, np.ndarray] | None) -> bool:
        """Whether ``taps`` (from the network ``embedder``) hold the tensor this model was fitted on."""
        return holds_tensor(embedder, taps, self.embedder, self.tap, self.tap_shape)

    def score(self, taps: dict[str, np.ndarray]) -> float:
        """Log-odds less the threshold (positive: warn) of the tensor in ``taps`` (``reads`` must hold),
        averaged over its views (``views``: the chip's own run and its mirror image's)."""
        return float(np.mean([self.logistic.score(region_features(v, self.points, self.reach, self.chip))
                              for v in views(taps[self.tap])]))


@dataclass(frozen=True, eq=False)
class MaskMouthModel(SunglassesModel):
    """The mouth model (code 9): the sunglasses model's reading at the nose tip and the mouth centre."""

    KIND: ClassVar[str] = "mask-mouth"
    SCHEMA: ClassVar[str] = "facematch-mask-mouth/1"

    def chip_box(self) -> tuple[float, float, float, float]:
        """The chip pixels (x0, x1, y0, y1) of the cells read around the last point (the mouth centre)."""
        _, h, w = self.tap_shape
        x0, x1, y0, y1 = cells(self.points[-1], self.reach, self.chip, h, w)
        return x0 * self.chip / w, x1 * self.chip / w, y0 * self.chip / h, y1 * self.chip / h


def holds_tensor(embedder: str | None, taps: dict[str, np.ndarray] | None, fitted_for: str, tap: str,
                 shape: tuple[int, int, int]) -> bool:
    """Whether ``taps`` (inner tensors from the network ``embedder``) hold the tensor ``tap`` of ``shape``,
    one view or several (``views``), that a model fitted for the network ``fitted_for`` reads."""
    if embedder != fitted_for or taps is None or tap not in taps:
        return False
    got = np.asarray(taps[tap]).shape
    return got == shape or (len(got) == len(shape) + 1 and got[0] > 0 and got[1:] == shape)


def views(tensor: np.ndarray) -> np.ndarray:
    """An inner tensor as views along a first axis: ``(channels, rows, columns)`` is one view;
    ``OnnxFaceEmbedder.embed_tapped`` gives ``(views, channels, rows, columns)``, the chip's own run first,
    then its mirror image's (whose left is the face's right: a model read on it judges the mirrored face)."""
    t = np.asarray(tensor)
    return t[None] if t.ndim == 3 else t


def cells(point: tuple[float, float], reach: float, chip: int, rows: int, cols: int) -> tuple[int, int, int, int]:
    """The cells (x0, x1, y0, y1, ends excluded) of a ``rows`` x ``cols`` grid over a ``chip``-pixel chip
    within ``reach`` chip pixels (at least one cell) of ``point``."""
    cx, cy = point[0] * cols / chip, point[1] * rows / chip
    rx, ry = max(1.0, reach * cols / chip), max(1.0, reach * rows / chip)
    return (max(0, int(np.floor(cx - rx))), min(cols, int(np.ceil(cx + rx))),
            max(0, int(np.floor(cy - ry))), min(rows, int(np.ceil(cy + ry))))


def region_features(tap: np.ndarray, points: tuple[tuple[float, float], ...], reach: float, chip: int) -> np.ndarray:
    """Each channel of the network's inner tensor ``tap`` (channels x rows x
    columns over its ``chip``-pixel chip) averaged over the cells within
    ``reach`` chip pixels (at least one cell) of each of the ``points``
    (template points of the alignment, e.g. the eye centres, the image's left
    one first), point after point."""
    _, h, w = tap.shape
    out = []
    for point in points:
        x0, x1, y0, y1 = cells(point, reach, chip, h, w)
        out.append(np.asarray(tap[:, y0:y1, x0:x1], np.float64).mean(axis=(1, 2)))
    return np.concatenate(out)
