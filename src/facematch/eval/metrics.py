"""Verification metrics from per-pair scores.

Scores are similarities (higher = more alike); a pair whose image had no face
(failure to acquire) gets score ``-inf``: it is a rejection, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Roc:
    far: np.ndarray  # false accept rate at each threshold (decreasing thresholds)
    tar: np.ndarray  # true accept rate
    thresholds: np.ndarray


def roc(scores: np.ndarray, labels: np.ndarray) -> Roc:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    # Thresholds at each distinct score: accept when score >= threshold.
    distinct = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(~y)[distinct]
    return Roc(far=np.r_[0.0, fp / max(1, (~y).sum())], tar=np.r_[0.0, tp / max(1, y.sum())],
               thresholds=np.r_[np.inf, s[distinct]])


def tar_at_far(r: Roc, target: float) -> float:
    """Highest TAR whose FAR does not exceed ``target`` (no interpolation)."""
    ok = r.far <= target + 1e-12
    return float(r.tar[ok].max()) if ok.any() else 0.0


def eer(r: Roc) -> float:
    frr = 1.0 - r.tar
    i = int(np.argmin(np.abs(frr - r.far)))
    return float((frr[i] + r.far[i]) / 2)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising accuracy (accept when score >= threshold)."""
    finite = np.unique(scores[np.isfinite(scores)])
    if len(finite) == 0:
        return np.inf
    candidates = np.r_[(finite[:-1] + finite[1:]) / 2, finite[0] - 1e-9, finite[-1] + 1e-9]
    acc = [np.mean((scores >= t) == labels) for t in candidates]
    return float(candidates[int(np.argmax(acc))])


def accuracy_10fold(scores: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """LFW protocol: for each fold, pick the threshold on the other nine and
    measure accuracy on it. Returns mean and standard deviation."""
    labels = labels.astype(bool)
    accs = []
    for f in np.unique(folds):
        test = folds == f
        t = best_threshold(scores[~test], labels[~test])
        accs.append(np.mean((scores[test] >= t) == labels[test]))
    return float(np.mean(accs)), float(np.std(accs))


def summary(scores: np.ndarray, labels: np.ndarray, folds: np.ndarray | None, failures: int,
            images: int) -> dict[str, Any]:
    labels = np.asarray(labels).astype(bool)
    r = roc(scores, labels)
    impostors = int((~labels).sum())
    out = {
        "pairs": int(len(labels)),
        "genuine_pairs": int(labels.sum()),
        "impostor_pairs": impostors,
        "images": images,
        "failure_to_acquire": failures / max(1, images),
        "failed_images": failures,
        "eer": eer(r),
        "tar_at_far_1e-2": tar_at_far(r, 1e-2),
        "tar_at_far_1e-3": tar_at_far(r, 1e-3),
    }
    if impostors >= 10_000:
        out["tar_at_far_1e-4"] = tar_at_far(r, 1e-4)
    if folds is not None and len(np.unique(folds)) > 1:
        out["accuracy_10fold"], out["accuracy_10fold_std"] = accuracy_10fold(np.asarray(scores, float), labels, folds)
    return out
