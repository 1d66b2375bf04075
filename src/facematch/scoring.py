"""Embedding distance -> calibrated matching percent, and the v2 decision.

The map is a monotone piecewise-linear function through knots stored in a
versioned JSON file (``facematch/data/calibration-<version>.json`` for the
packaged ones) that records the model, data, date and command that produced
it. The contract's
thresholds are on the percent: match above 75, review in [65, 75], else no.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MATCH_ABOVE = 75.0
REVIEW_FROM = 65.0
#: The packaged calibration of each embedder (``FACEMATCH_MODELS__EMBEDDER``), used unless
#: ``FACEMATCH_MATCH__CALIBRATION`` names another: each fitted on East-Asian faces (docs/accuracy.md).
DEFAULT_CALIBRATIONS = {"sface-2021dec": "sface-v1", "dlib-resnet-v1": "asia-v2"}
#: The default network's.
DEFAULT_CALIBRATION = DEFAULT_CALIBRATIONS["sface-2021dec"]


def default_calibration(embedder: str) -> str:
    """The packaged calibration fitted for ``embedder`` (the default network's for one without its own)."""
    return DEFAULT_CALIBRATIONS.get(embedder, DEFAULT_CALIBRATION)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (unit vectors): what the calibration maps."""
    return float(np.linalg.norm(a - b))


def packaged_calibrations() -> list[str]:
    """Versions of the calibrations that ship in the package."""
    names = (p.name for p in resources.files("facematch.data").iterdir())
    return sorted(n[len("calibration-"):-len(".json")] for n in names
                  if n.startswith("calibration-") and n.endswith(".json"))


@dataclass(frozen=True)
class Calibration:
    version: str
    distances: tuple[float, ...]  # increasing
    percents: tuple[float, ...]  # decreasing
    provenance: dict[str, Any]

    @property
    def embedder(self) -> str:
        """The embedder setting (``FACEMATCH_MODELS__EMBEDDER``) it was fitted for."""
        return str(self.provenance.get("embedder", "dlib-resnet-v1"))

    @classmethod
    def packaged(cls, version: str = DEFAULT_CALIBRATION) -> Calibration:
        """A calibration that ships in the package, by version."""
        if version not in packaged_calibrations():
            raise ValueError(f"no packaged calibration {version!r}: choose one of {packaged_calibrations()}")
        return cls.parse(resources.files("facematch.data").joinpath(f"calibration-{version}.json").read_text())

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        """The calibration JSON at ``path``; the packaged default without one."""
        return cls.packaged() if path is None else cls.parse(Path(path).read_text())

    @classmethod
    def parse(cls, text: str) -> Calibration:
        doc = json.loads(text)
        d, p = zip(*doc["knots"], strict=True)
        cal = cls(doc["version"], tuple(map(float, d)), tuple(map(float, p)),
                  {k: v for k, v in doc.items() if k not in ("knots", "version")})
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


def decision(matching: float) -> int:
    """1 if matching > 75 %, 0 if in [65 %, 75 %], else -1 (on the value rounded as reported)."""
    m = round(matching, 2)
    if m > MATCH_ABOVE:
        return 1
    if m >= REVIEW_FROM:
        return 0
    return -1
