"""Fit the sunglasses model (``facematch.checks.occlusion.SUNGLASSES_MODEL``)
on all of LFW, labelled by eye, and print the constants to paste into
``occlusion.py``.

    .venv/bin/python -m tools.fit_sunglasses [--data ../shared/data] [--workers 2]

Every LFW face goes through the detector and the face view; those whose two
eye windows are both covered at least ``lens_min_coverage`` (the check's
gate) give ``lens_features``. Labels: ``benchmarks/labels/lfw_sunglasses.txt``
(1: sunglasses hide the eyes; -1: tinted or unclear, left out; unlisted: no
sunglasses). The model is a logistic regression, classes weighted to equal
total weight, L2 penalty 1 on the weights, fitted by Newton's method; the
threshold lets at most 1 % of LFW's faces without sunglasses through. Five-fold
cross-validation (folds stratified, seed 0) gives the recall to expect at that
false-alarm rate on faces like LFW's. The real attribute sets
(``benchmarks/checks.py``) are not used here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tools.fitting import fit, threshold
from tools.labels import over_lfw, read_labels

MAX_FALSE_ALARM = 0.01
PENALTY = 1.0

def features(path: str) -> tuple[str, list[float] | None, bool]:
    """(file name, the features or None when the gate is not passed, face found)."""
    from facematch.checks import occlusion
    from facematch.types import ImageKind
    from tools.local import matcher

    rgb = matcher().decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    with matcher().pool.bundle() as bundle:
        found = bundle.detector.detect(rgb)
    if not found or found[0].mesh is None:
        return Path(path).name, None, False
    limits = occlusion.OcclusionLimits()
    view = occlusion.FaceView.from_points(rgb, found[0].mesh.points, limits.view_scale)
    lenses = occlusion.lenses(view, limits)
    if min(lenses.coverage) < limits.lens_min_coverage:
        return Path(path).name, None, True
    x = occlusion.lens_features(lenses, occlusion.eye_contrasts(view), view.has_colour)
    return Path(path).name, [float(v) for v in x], True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = over_lfw(args.data, features, args.workers, "nothing fitted")
    labels = read_labels()
    faces = [(n, x) for n, x, face in rows if face and labels.get(n, 0) != -1]
    negatives = sum(1 for n, _ in faces if labels.get(n, 0) == 0)
    positives = sum(1 for n, _ in faces if labels.get(n, 0) == 1)
    gated = [(n, x) for n, x in faces if x is not None]
    x = np.array([v for _, v in gated])
    y = np.array([1 if labels.get(n, 0) == 1 else 0 for n, _ in gated])
    print(f"LFW: {len(faces)} faces ({positives} with sunglasses, {negatives} without); "
          f"{len(gated)} pass the coverage gate ({y.sum()} with sunglasses)")

    rng = np.random.default_rng(0)
    fold = np.zeros(len(y), int)
    for c in (0, 1):
        members = np.flatnonzero(y == c)
        rng.shuffle(members)
        fold[members] = np.arange(len(members)) % 5
    scores = np.zeros(len(y))
    for k in range(5):
        w, b = fit(x[fold != k], y[fold != k], PENALTY)
        scores[fold == k] = x[fold == k] @ w + b
    t = threshold(scores[y == 0], MAX_FALSE_ALARM, negatives)
    print(f"5-fold cross-validation at <= {MAX_FALSE_ALARM:.0%} false alarms: recall "
          f"{int((scores[y == 1] > t).sum())}/{positives}, false alarms {int((scores[y == 0] > t).sum())}/{negatives}")

    w, b = fit(x, y, PENALTY)
    scores = x @ w + b
    t = threshold(scores[y == 0], MAX_FALSE_ALARM, negatives)
    print(f"fitted on all: recall {int((scores[y == 1] > t).sum())}/{positives}, "
          f"false alarms {int((scores[y == 0] > t).sum())}/{negatives}\n")
    print("SUNGLASSES_MODEL = (" + ", ".join(f"{v:.4f}" for v in w) + ")")
    print(f"SUNGLASSES_BIAS = {b:.4f}")
    print(f"SUNGLASSES_THRESHOLD = {t:.4f}")


if __name__ == "__main__":
    main()
