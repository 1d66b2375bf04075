"""The hat model's weights (code 8, ``checks.occlusion.hat``).

Schema ``facematch-hat/1``: ``version``, the features it was fitted on
(``measures`` names, the head-top ``window``, the ``hog`` descriptor's
parameters), ``mean`` and ``scale`` (their standardisation), ``weights`` and
``bias`` (a logistic model), ``threshold`` (its operating point) and
``provenance``. Fitted by ``tools/fit_hat.py``; ``checks.occlusion`` refuses
one whose features are not those it computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from facematch.artifacts import Source


@dataclass(frozen=True, eq=False)
class HatModel:
    KIND: ClassVar[str] = "hat"
    SCHEMA: ClassVar[str] = "facematch-hat/1"

    version: str
    measures: tuple[str, ...]
    window: tuple[float, ...]
    hog: Any  # the HOG descriptor's parameters, as JSON lists
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> HatModel:
        mean, scale, weights = (np.asarray(doc[k], np.float64) for k in ("mean", "scale", "weights"))
        if not len(mean) == len(scale) == len(weights) or scale.min() <= 0 or not np.isfinite(weights).all():
            raise ValueError("hat artefact: mean, scale and weights need one positive-scaled entry a feature")
        return cls(str(doc["version"]), tuple(str(m) for m in doc["measures"]), tuple(float(v) for v in doc["window"]),
                   doc["hog"], mean, scale, weights, float(doc["bias"]), float(doc["threshold"]),
                   dict(doc["provenance"]), source)

    def score(self, x: np.ndarray) -> float:
        """The logistic model's log-odds for features ``x``, less the fitted threshold."""
        return float(((x - self.mean) / self.scale) @ self.weights + self.bias) - self.threshold
