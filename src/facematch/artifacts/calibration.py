"""The calibration: embedding distance -> matching percent.

A monotone piecewise-linear map through knots, fitted so that the contract's
thresholds (75, 65) mean fixed false-accept rates on a named population
(``facematch.fit.population``). Schema ``facematch-calibration/1``:
``version``, ``knots`` ([distance, percent] pairs, distance increasing,
percent non-increasing, within 0-100) and the provenance (``model``,
``embedder``, ``data``, ``date``, ``command``, ``targets``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from facematch.artifacts import Source


@dataclass(frozen=True)
class Calibration:
    KIND: ClassVar[str] = "calibration"
    SCHEMA: ClassVar[str] = "facematch-calibration/1"
    #: Documents from before ``schema`` was written are this schema.
    UNMARKED_IS_CURRENT: ClassVar[bool] = True

    version: str
    distances: tuple[float, ...]  # increasing
    percents: tuple[float, ...]  # non-increasing
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @property
    def embedder(self) -> str:
        """The embedder setting (``FACEMATCH_MODELS__EMBEDDER``) it was fitted for."""
        return str(self.provenance.get("embedder", "dlib-resnet-v1"))

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source) -> Calibration:
        d, p = zip(*doc["knots"], strict=True)
        cal = cls(str(doc["version"]), tuple(map(float, d)), tuple(map(float, p)),
                  {k: v for k, v in doc.items() if k not in ("knots", "version", "schema")}, source)
        cal.validate()
        return cal

    def validate(self) -> None:
        d, p = np.array(self.distances), np.array(self.percents)
        if len(d) < 2 or np.any(np.diff(d) <= 0) or np.any(np.diff(p) > 0):
            raise ValueError(f"calibration {self.version}: knots must have increasing distance "
                             "and non-increasing percent")
        if p.max() > 100 or p.min() < 0:
            raise ValueError(f"calibration {self.version}: percents must lie in [0, 100]")

    def percent(self, distance: float) -> float:
        return float(np.interp(distance, self.distances, self.percents))

    def distance_at(self, percent: float) -> float:
        """The distance where the map crosses ``percent`` (inverse, for docs and eval)."""
        return float(np.interp(-percent, [-p for p in self.percents], self.distances))
