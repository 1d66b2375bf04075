"""The sunglasses model (code 7, ``checks.occlusion.sunglasses_by_model``).

Schema ``facematch-sunglasses/1``: ``version``; ``embedder``, the network
whose inner tensor ``tap`` (of shape ``tap_shape``: channels, rows, columns)
it reads, computed on the network's own aligned chip of ``chip`` pixels;
``reach``, the distance in chip pixels around each eye centre of the
alignment's template (``eyes``, image left then image right) over which
each channel is averaged (``checks.occlusion.eye_features``); then a
logistic model (``mean``, ``scale``, ``weights``, ``bias``, ``threshold``)
over those averages, one per channel and eye, and ``provenance``. Fitted by
``tools/fit_sunglasses_eyes.py``.
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
    eyes: tuple[tuple[float, float], tuple[float, float]]
    reach: float
    logistic: Logistic
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> SunglassesModel:
        shape = tuple(int(v) for v in doc["tap_shape"])
        eyes = [[float(c) for c in e] for e in doc["eyes"]]
        if len(shape) != 3 or min(shape) <= 0 or len(eyes) != 2 or any(len(e) != 2 for e in eyes):
            raise ValueError("sunglasses artefact: tap_shape needs 3 positive sizes and eyes two (x, y) points")
        reach, chip = float(doc["reach"]), int(doc["chip"])
        if reach <= 0 or chip <= 0:
            raise ValueError("sunglasses artefact: reach and chip must be positive")
        logistic = Logistic.from_doc(doc, "sunglasses artefact", 2 * shape[0])
        return cls(str(doc["version"]), str(doc["embedder"]), str(doc["tap"]), (shape[0], shape[1], shape[2]),
                   chip, ((eyes[0][0], eyes[0][1]), (eyes[1][0], eyes[1][1])), reach, logistic,
                   dict(doc["provenance"]), source)

    def reads(self, embedder: str | None, taps: dict[str, np.ndarray] | None) -> bool:
        """Whether ``taps`` (from the network ``embedder``) hold the tensor this model was fitted on."""
        return (embedder == self.embedder and taps is not None and self.tap in taps
                and np.asarray(taps[self.tap]).shape == self.tap_shape)
