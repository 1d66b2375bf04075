"""Fit the distance -> matching-percent map so that the contract's thresholds
mean fixed false-accept rates: 75 % at FAR 0.1 %, 65 % at FAR 1 %."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from facematch.artifacts.calibration import Calibration

FAR_AT_MATCH = 1e-4  # matching > 75 %: the State Bank of Vietnam's draft bar (FIDO-style, FAR < 0.01 %)
FAR_AT_REVIEW = 1e-2  # matching >= 65 %


def distance_at_far(impostor: np.ndarray, far: float) -> float:
    """Largest distance threshold whose false-accept rate (share of impostor
    pairs at or below it) does not exceed ``far``."""
    d = np.sort(impostor[np.isfinite(impostor)])
    k = int(np.floor(far * len(d)))  # impostor pairs allowed below the threshold
    return float(d[k] - 1e-6) if k < len(d) else float(d[-1])


def fit(genuine: np.ndarray, impostor: np.ndarray, *, model: str, data: str, command: str, version: str,
        embedder: str = "dlib-resnet-v1") -> dict[str, Any]:
    genuine, impostor = genuine[np.isfinite(genuine)], impostor[np.isfinite(impostor)]
    d75 = distance_at_far(impostor, FAR_AT_MATCH)
    d65 = distance_at_far(impostor, FAR_AT_REVIEW)
    d_median_impostor = float(np.median(impostor))
    d_far = max(float(np.percentile(impostor, 99)), d_median_impostor + 0.05)
    knots = [(0.0, 100.0), (d75, 75.0), (d65, 65.0), (max(d_median_impostor, d65 + 0.01), 25.0),
             (max(d_far, d_median_impostor + 0.02), 5.0), (max(2.0, d_far + 0.1), 0.0)]
    # Few impostor pairs can put two knots on one distance: keep the map strictly increasing.
    for i in range(1, len(knots)):
        knots[i] = (max(knots[i][0], knots[i - 1][0] + 1e-5), knots[i][1])
    return {
        "schema": Calibration.SCHEMA,
        "version": version,
        "model": model,
        "embedder": embedder,
        "data": data,
        "date": dt.date.today().isoformat(),
        "command": command,
        "targets": {"75": f"FAR {FAR_AT_MATCH:g}", "65": f"FAR {FAR_AT_REVIEW:g}"},
        "fitted_on": {
            "genuine_pairs": int(len(genuine)),
            "impostor_pairs": int(len(impostor)),
            "far_at_75": float(np.mean(impostor <= d75)),
            "far_at_65": float(np.mean(impostor <= d65)),
            "gar_at_75": float(np.mean(genuine <= d75)),
            "gar_at_65": float(np.mean(genuine <= d65)),
        },
        "knots": [[round(d, 6), p] for d, p in knots],
    }
