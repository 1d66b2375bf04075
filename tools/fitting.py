"""What the fitting tools share: the class-balanced, L2-penalised logistic regression
(``fit``), the score at a false-alarm budget (``threshold``) and writing an artefact
with the sha256 to pin in ``facematch.artifacts.PACKAGED`` (``write_artefact``)."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np


def fit(x: np.ndarray, y: np.ndarray, penalty: float, weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Weighted (classes to equal total weight, or ``weight`` per sample, summing to the sample count),
    L2-penalised logistic regression by Newton's method: (weights, bias); the bias is not penalised."""
    n, d = x.shape
    if weight is None:
        weight = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    a = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    reg = np.eye(d + 1) * penalty
    reg[-1, -1] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-a @ beta))
        grad = a.T @ (weight * (p - y)) + reg @ beta
        hess = (a * (weight * p * (1 - p))[:, None]).T @ a + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta[:-1], float(beta[-1])


def fit_standardised(x: np.ndarray, y: np.ndarray, penalty: float, weight: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``fit`` on ``x`` standardised by its own mean and standard deviation, with ``penalty`` per unit of
    sample weight: (mean, scale, weights, bias), what a logistic artefact stores."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights, bias = fit((x - mean) / scale, y, penalty * len(y), weight)
    return mean, scale, weights, bias


def threshold(negative_scores: np.ndarray, max_false_alarm: float, negatives: int | None = None,
              at_least: int = 0) -> float:
    """The score above which at most ``max_false_alarm`` of ``negatives`` faces lie (by default the
    scored ones; more where faces that were never scored count as passed), and at least ``at_least``
    (a source too small to measure the rate: with 0, one face alone sets the threshold of a source
    of fewer than ``1 / max_false_alarm`` faces); -inf when the budget covers every scored face."""
    ranked = np.sort(negative_scores)[::-1]
    k = max(at_least, int(max_false_alarm * (len(ranked) if negatives is None else negatives)))
    return float(ranked[k]) if k < len(ranked) else -np.inf


def write_artefact(doc: dict[str, Any], out: Path, indent: int | None = None) -> None:
    """``doc`` as JSON (compact, or indented by ``indent``) at ``out``, and the sha256 to pin."""
    text = json.dumps(doc, indent=indent, separators=None if indent else (",", ":")) + "\n"
    out.write_text(text)
    print(f"wrote {out}: pin sha256 {hashlib.sha256(text.encode()).hexdigest()} in "
          "src/facematch/artifacts/__init__.py (PACKAGED)")


#: What the provenance of every artefact fitted on people's photos says of them.
TERMS = "fitted weights only; no image or image-derived data of any person ships"


def tool_parser(doc: str, artefact: Path, data: Path) -> argparse.ArgumentParser:
    """The options of a fitting tool whose module docstring is ``doc``: ``--data`` (default ``data``),
    ``--workers`` and ``--write`` (rewrite ``artefact``)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=data)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write", action="store_true", help=f"write {artefact.name}")
    return ap
