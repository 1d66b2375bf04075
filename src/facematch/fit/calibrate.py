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


def knots(d75: float, d65: float, impostor: np.ndarray) -> list[list[float]]:
    """The distance -> percent map through 75 % at ``d75`` and 65 % at ``d65``: 25 % at the impostors' median
    distance, 5 % at their 99th percentile, 0 beyond, each knot past the one before (few impostor pairs can
    put two on one distance)."""
    imp = impostor[np.isfinite(impostor)]
    med = float(np.median(imp))
    d_far = max(float(np.percentile(imp, 99)), med + 0.05)
    pts = [(0.0, 100.0), (d75, 75.0), (d65, 65.0), (max(med, d65 + 0.01), 25.0),
           (max(d_far, med + 0.02), 5.0), (max(2.0, d_far + 0.1), 0.0)]
    for i in range(1, len(pts)):
        pts[i] = (max(pts[i][0], pts[i - 1][0] + 1e-5), pts[i][1])
    return [[round(d, 6), p] for d, p in pts]


def document(*, version: str, model: str, data: str, command: str, targets: tuple[float, float],
             fitted_on: dict[str, Any], knot_list: list[list[float]], embedder: str | None = None,
             rule: str | None = None) -> dict[str, Any]:
    """A calibration document, schema ``facematch-calibration/1`` (``artifacts.calibration``): what every
    fit writes, in one key order."""
    doc: dict[str, Any] = {"schema": Calibration.SCHEMA, "version": version, "model": model}
    if embedder is not None:
        doc["embedder"] = embedder
    doc.update({"data": data, "date": dt.date.today().isoformat(), "command": command,
                "targets": {"75": f"FAR {targets[0]:g}", "65": f"FAR {targets[1]:g}"}})
    if rule is not None:
        doc["rule"] = rule
    doc.update({"fitted_on": fitted_on, "knots": knot_list})
    return doc


def fit(genuine: np.ndarray, impostor: np.ndarray, *, model: str, data: str, command: str, version: str,
        embedder: str = "dlib-resnet-v1") -> dict[str, Any]:
    genuine, impostor = genuine[np.isfinite(genuine)], impostor[np.isfinite(impostor)]
    d75 = distance_at_far(impostor, FAR_AT_MATCH)
    d65 = distance_at_far(impostor, FAR_AT_REVIEW)
    fitted_on = {
        "genuine_pairs": int(len(genuine)),
        "impostor_pairs": int(len(impostor)),
        "far_at_75": float(np.mean(impostor <= d75)),
        "far_at_65": float(np.mean(impostor <= d65)),
        "gar_at_75": float(np.mean(genuine <= d75)),
        "gar_at_65": float(np.mean(genuine <= d65)),
    }
    return document(version=version, model=model, data=data, command=command, targets=(FAR_AT_MATCH, FAR_AT_REVIEW),
                    fitted_on=fitted_on, knot_list=knots(d75, d65, impostor), embedder=embedder)
