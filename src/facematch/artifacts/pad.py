"""The presentation-attack model's weights (``models.pad.RecaptureDetector``).

Schema ``facematch-pad/1``: ``version``, ``features`` (names, in the order
``models.pad.features`` computes them), ``mean`` and ``scale`` (their
standardisation), ``weights`` and ``bias`` (the logistic model), ``limit``
(the operating point it was fitted with) and ``provenance`` (fitted on, not
fitted on, method, command, date, terms). Fitted by ``facematch.fit.pad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from facematch.artifacts import Source


@dataclass(frozen=True)
class PadModel:
    KIND: ClassVar[str] = "pad"
    SCHEMA: ClassVar[str] = "facematch-pad/1"

    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    limit: float
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> PadModel:
        features = tuple(str(f) for f in doc["features"])
        mean, scale, weights = (tuple(float(v) for v in doc[k]) for k in ("mean", "scale", "weights"))
        n = len(features)
        if not len(mean) == len(scale) == len(weights) == n or min(scale) <= 0:
            raise ValueError("pad artefact: mean, scale and weights need one positive-scaled entry a feature")
        return cls(str(doc["version"]), features, mean, scale, weights, float(doc["bias"]), float(doc["limit"]),
                   dict(doc["provenance"]), source)

    def to_doc(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA, "version": self.version, "features": list(self.features),
                "mean": list(self.mean), "scale": list(self.scale), "weights": list(self.weights),
                "bias": self.bias, "limit": self.limit, "provenance": self.provenance}
