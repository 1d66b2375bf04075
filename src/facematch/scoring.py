"""Embedding distance -> calibrated matching percent, and the v2 decision.

The map is the calibration artefact (``facematch.artifacts.calibration``,
packaged ones in ``facematch/data/calibration-<version>.json``), which records
the model, data, date and command that produced it. The contract's thresholds
are on the percent: match above 75, review in [65, 75], else no.
"""

from __future__ import annotations

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


def decision(matching: float) -> int:
    """1 if matching > 75 %, 0 if in [65 %, 75 %], else -1 (on the value rounded as reported)."""
    m = round(matching, 2)
    if m > MATCH_ABOVE:
        return 1
    if m >= REVIEW_FROM:
        return 0
    return -1
