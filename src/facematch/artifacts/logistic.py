"""The logistic model inside the hat and occlusion artefacts (``artifacts.hat``, ``artifacts.occlusion``):
features standardised by ``mean`` and ``scale``, then ``weights`` and ``bias`` give the log-odds, and
``threshold`` is the operating point the fit chose (log-odds). One parser refuses a document whose lists
disagree in length, whose scales are not positive or whose weights are not finite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Logistic:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    @classmethod
    def from_doc(cls, doc: dict[str, Any], what: str, size: int | None = None) -> Logistic:
        """The model in ``doc`` (keys ``mean``, ``scale``, ``weights``, ``bias``, ``threshold``), with
        ``size`` features when given; a ``ValueError`` naming ``what`` otherwise."""
        mean, scale, weights = (np.asarray(doc[k], np.float64) for k in ("mean", "scale", "weights"))
        n = len(weights) if size is None else size
        if not n or any(a.shape != (n,) for a in (mean, scale, weights)) or scale.min() <= 0 \
                or not np.isfinite(weights).all():
            raise ValueError(f"{what}: needs {n} finite weights, means and positive scales, one a feature")
        return cls(mean, scale, weights, float(doc["bias"]), float(doc["threshold"]))

    def score(self, x: np.ndarray) -> float:
        """The log-odds for features ``x``, less the threshold: positive means the model warns."""
        return float(((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.weights + self.bias) \
            - self.threshold
