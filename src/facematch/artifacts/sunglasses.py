"""The sunglasses model (code 7, ``checks.occlusion.sunglasses_by_model``): it reads the embedding network's
own activations around face points (the eye centres).

Schema ``facematch-sunglasses/1``:
``version``; ``embedder``, the network whose inner tensor ``tap`` (of shape
``tap_shape``: channels, rows, columns) it reads, computed on the network's
own aligned chip of ``chip`` pixels; ``points``, the template points of that
alignment it reads around (sunglasses: the eye centres), and ``reach``, the distance in chip pixels around
each over which each channel is averaged (``region_features``);
then a logistic model (``mean``, ``scale``, ``weights``, ``bias``,
``threshold``) over those averages, one per channel and point, and
``provenance``. Fitted by ``tools/fit_sunglasses_eyes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

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
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> SunglassesModel:
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
        return (embedder == self.embedder and taps is not None and self.tap in taps
                and np.asarray(taps[self.tap]).shape == self.tap_shape)

    def score(self, taps: dict[str, np.ndarray]) -> float:
        """Log-odds less the threshold (positive: warn) of the tensor in ``taps`` (``reads`` must hold)."""
        return self.logistic.score(region_features(taps[self.tap], self.points, self.reach, self.chip))


def region_features(tap: np.ndarray, points: tuple[tuple[float, float], ...], reach: float, chip: int) -> np.ndarray:
    """Each channel of the network's inner tensor ``tap`` (channels x rows x
    columns over its ``chip``-pixel chip) averaged over the cells within
    ``reach`` chip pixels (at least one cell) of each of the ``points``
    (template points of the alignment, e.g. the eye centres, the image's left
    one first), point after point."""
    _, h, w = tap.shape
    out = []
    for px, py in points:
        cx, cy = px * w / chip, py * h / chip
        rx, ry = max(1.0, reach * w / chip), max(1.0, reach * h / chip)
        x0, x1 = max(0, int(np.floor(cx - rx))), min(w, int(np.ceil(cx + rx)))
        y0, y1 = max(0, int(np.floor(cy - ry))), min(h, int(np.ceil(cy + ry)))
        out.append(np.asarray(tap[:, y0:y1, x0:x1], np.float64).mean(axis=(1, 2)))
    return np.concatenate(out)
