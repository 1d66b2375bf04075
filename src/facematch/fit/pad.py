"""Fitting the presentation-attack model (``artifacts.pad.PadModel``, scored
by ``models.pad.RecaptureDetector``).

A logistic regression over ``models.pad.FEATURES``, standardised, with each
physics feature's sign fixed (``SIGNS``: a lifted black level, a cooler
white, glare, softness and moire peaks can only raise the score; contrast and
chroma only lower it): a feature whose direction on the fitting data
disagrees gets weight 0 rather than a direction that fits one device. The
hue-texture bins have no physical direction (``FREE``): their weights take
either sign, held small by the same L2
penalty ``PENALTY``; fitted by projected gradient descent (bounded,
deterministic). The limit (operating point) is picked on the fitting data
(``pick_limit``). The data sets and the run: ``tools/fit_pad.py``.
"""

from __future__ import annotations

import numpy as np

from facematch.models.pad import HUE_BINS, Z_CLIP

#: A weight that may take either sign.
FREE = 2
#: +1: may only raise the attack score; -1: may only lower it; 0: left out; ``FREE``: either. ``soft`` at 0
#: was tried (docs/presentation-attacks.md): fewer blurred genuine faces flagged, more clean ones.
SIGNS = {"moire": 1, "black": 1, "contrast": -1, "chroma": -1, "cool": 1, "glare": 1, "soft": 1} | {
    f"hue_lbp{i}": FREE for i in range(HUE_BINS)}
PENALTY = 0.05
TRAIN_BPCER = 0.05
TRAIN_LFW_FA = 0.01
TRAIN_WEBCAM_FA = 0.05


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, signs: np.ndarray,
        penalty: float = PENALTY, steps: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Sign-constrained weighted logistic regression on standardised ``x``:
    (mean, scale, weights, bias)."""
    ok = ~np.isnan(x).any(axis=1)
    x, y, w = x[ok], y[ok], w[ok]
    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w)) + 1e-9
    z = np.clip((x - mean) / scale, -Z_CLIP, Z_CLIP)
    w = w / w.sum()
    # Each weight's bounds from its sign: [0, inf), (-inf, 0], either (FREE), or 0 (left out).
    low = np.where((signs == -1) | (signs == FREE), -np.inf, 0.0)
    high = np.where((signs == 1) | (signs == FREE), np.inf, 0.0)
    beta = np.zeros(x.shape[1])
    b = 0.0
    lr = 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ beta + b)))
        g = z.T @ (w * (p - y)) + penalty * beta
        gb = float(np.sum(w * (p - y)))
        beta = beta - lr * g
        b -= lr * gb
        beta = np.clip(beta, low, high)
    return mean, scale, beta, b


def weights_for(groups: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Sample weights: each (labels, total) group split evenly between its classes."""
    out = []
    for y, total in groups:
        w = np.where(y == 1, total / 2 / max(1, (y == 1).sum()), total / 2 / max(1, (y == 0).sum()))
        out.append(w)
    return np.concatenate(out)


def probability(x: np.ndarray, model: dict[str, object]) -> np.ndarray:
    """The modelled attack probability of each row of ``x`` (``model``: features, mean, scale, weights, bias)."""
    z = np.clip(np.nan_to_num((x - np.asarray(model["mean"])) / np.asarray(model["scale"]), nan=0.0), -Z_CLIP, Z_CLIP)
    logit = z @ np.asarray(model["weights"]) + float(model["bias"])  # type: ignore[arg-type]
    return np.asarray(1 / (1 + np.exp(-logit)))


def pick_limit(scores_real_bona: np.ndarray, scores_lfw_bona: np.ndarray, scores_webcam_bona: np.ndarray) -> float:
    """Lowest limit with at most TRAIN_BPCER of real, TRAIN_LFW_FA of LFW and TRAIN_WEBCAM_FA of the
    East-Asian webcam bona fide above it."""
    return float(max(np.quantile(scores_real_bona, 1 - TRAIN_BPCER), np.quantile(scores_lfw_bona, 1 - TRAIN_LFW_FA),
                     np.quantile(scores_webcam_bona, 1 - TRAIN_WEBCAM_FA)))
