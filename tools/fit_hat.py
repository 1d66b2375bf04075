"""Fit the hat model (``facematch.artifacts.hat.HatModel``) on LFW
labelled by eye, and write its artefact ``src/facematch/data/hat-v1.json``.

    .venv/bin/python -m tools.fit_hat [--data ../shared/data] [--workers 2]

The first 1,600 LFW images in sorted path order (the range that
``benchmarks/labels/lfw_hats.txt`` labels: 1 head covering, -1 visor or
headband only and left out, unlisted: none), and every image of
``asian/casia_v5`` and ``asian/p101jp_s2`` (no head covering in either, checked
by eye on contact sheets: East-Asian black hair and fringes, which LFW has
few of) go through the detector and the face view; every face found whose ``HEAD_TOP`` lies mostly inside the image
(the check's gate) gives ``hat_features`` (16 measures and a 1,008-value
HOG descriptor), in colour, on a greyscale copy and on a softened copy of
the image (``VARIANTS``; the same label, the same fold). The model is a logistic regression on the features
standardised over the training faces, classes weighted to equal total
weight, L2 penalty 100 on the weights, fitted by Newton's method
(``tools.fitting.fit``); the threshold lets at most 2 % of those
LFW faces without a head covering through in the cross-validation (out-of-fold
scores; in-sample scores of the final model would set it too low). Five-fold cross-validation split
by person (seed 0) gives the recall to expect at that false-alarm rate on
faces like LFW's. The artefact records the fitted values, what they were
fitted on, the cross-validated and in-sample figures, and the command. The other hat sets
(``attributes/hat``, ``no_hat``, ``asian/kpop_idols``, ``asian/boysplanet``,
Yale, ``clean_face``) are not used here: they are
what ``benchmarks.selfie_checks`` reports on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from tools.fitting import fit, threshold, write_artefact
from tools.labels import LABELS_DIR, read_labels

LABELS = LABELS_DIR / "lfw_hats.txt"
LABELLED = 1600  # the first LFW images in sorted path order that the labels cover
MAX_FALSE_ALARM = 0.02
PENALTY = 100.0
ARTEFACT = Path(__file__).resolve().parents[1] / "src" / "facematch" / "data" / "hat-v1.json"
EXTS = {".jpg", ".jpeg", ".png", ".bmp"}
#: East-Asian sets without a head covering, added as negatives (black hair, fringes).
HATLESS = ("casia_v5", "p101jp_s2")
#: Each face enters the fit three times: as it is, as a greyscale copy (Yale
#: and old scans are grey) and softened (a Gaussian blur of 0.04 eye distances:
#: webcam frames lack the strand texture of LFW's press photos).
VARIANTS = ("colour", "grey", "soft")
COPIES = len(VARIANTS)


def lfw_range(lfw: Path) -> list[Path]:
    return sorted(p for p in lfw.rglob("*") if p.suffix.lower() in EXTS)[:LABELLED]


def features(path: str) -> tuple[str, list[list[float]] | None, bool]:
    """(path, the features of the image, of its greyscale copy and of a
    softened copy (Gaussian blur of 0.04 eye distances, like a webcam frame),
    or None when the gate is not passed, face found)."""
    from facematch.checks import occlusion
    from facematch.types import ImageKind
    from tools.local import matcher

    rgb = matcher().decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    with matcher().pool.bundle() as bundle:
        found = bundle.detector.detect(rgb)
    if not found or found[0].mesh is None:
        return path, None, False
    limits = occlusion.OcclusionLimits()
    view = occlusion.FaceView.from_points(rgb, found[0].mesh.points, limits.view_scale)
    if view.outside(occlusion.HEAD_TOP, rgb.shape) > limits.hat_max_outside:
        return path, None, True
    grey = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    grey_view = occlusion.FaceView.from_points(grey, found[0].mesh.points, limits.view_scale)
    pts = found[0].mesh.points
    soft = cv2.GaussianBlur(rgb, (0, 0), max(0.5, 0.04 * occlusion.eye_distance(pts)))
    soft_view = occlusion.FaceView.from_points(soft, pts, limits.view_scale)
    return path, [[float(v) for v in occlusion.hat_features(v)] for v in (view, grey_view, soft_view)], True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ARTEFACT)
    args = ap.parse_args()
    lfw = args.data / "lfw"
    if not lfw.is_dir():
        print(f"no LFW at {lfw}: nothing fitted")
        return 0
    paths = [str(p) for p in lfw_range(lfw)]
    rel = {p: str(Path(p).relative_to(lfw)) for p in paths}
    for name in HATLESS:  # every image without a head covering (checked by eye on contact sheets)
        root = args.data / "asian"
        extra = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in EXTS)
        paths += [str(p) for p in extra]
        rel.update({str(p): str(p.relative_to(root)) for p in extra})
    with ProcessPoolExecutor(args.workers) as ex:
        rows = list(ex.map(features, paths, chunksize=16))
    labels = read_labels(LABELS)
    faces = [(rel[p], xs) for p, xs, face in rows if face and labels.get(rel[p], 0) != -1]
    negatives = sum(1 for n, _ in faces if labels.get(n, 0) == 0)
    positives = sum(1 for n, _ in faces if labels.get(n, 0) == 1)
    # Each face three times (VARIANTS), all in the same fold.
    gated = [(n, x) for n, xs in faces if xs is not None for x in xs]
    x = np.array([v for _, v in gated])
    y = np.array([1 if labels.get(n, 0) == 1 else 0 for n, _ in gated])
    print(f"LFW (first {LABELLED}) + {', '.join(HATLESS)}: {len(faces)} faces ({positives} with a head covering, {negatives} without); "
          f"{len(gated)} pass the gate ({int(y.sum())} with)")
    # Folds split by person (the folder), so one person's photos never sit on both sides.
    people = sorted({Path(n).parent.name for n, _ in gated})  # LFW / casia / p101jp person folders
    order = np.random.default_rng(0).permutation(len(people))
    fold_of = {people[i]: k % 5 for k, i in enumerate(order)}
    fold = np.array([fold_of[Path(n).parent.name] for n, _ in gated])
    def standardise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sd = rows.std(axis=0)
        return rows.mean(axis=0), np.where(sd > 1e-6, sd, 1.0)

    scores = np.zeros(len(y))
    for k in range(5):
        mu, sd = standardise(x[fold != k])
        w, b = fit((x[fold != k] - mu) / sd, y[fold != k], PENALTY)
        scores[fold == k] = (x[fold == k] - mu) / sd @ w + b
    t_cv = threshold(scores[y == 0], MAX_FALSE_ALARM, COPIES * negatives)
    t = t_cv
    cv = {"recall": int((scores[y == 1] > t).sum()), "positives": COPIES * positives,
          "false_alarms": int((scores[y == 0] > t).sum()), "negatives": COPIES * negatives, "copies": list(VARIANTS)}
    print(f"5-fold cross-validation by person at <= {MAX_FALSE_ALARM:.0%} false alarms: recall "
          f"{cv['recall']}/{COPIES * positives}, false alarms {cv['false_alarms']}/{COPIES * negatives} ({', '.join(VARIANTS)})")
    mu, sd = standardise(x)
    w, b = fit((x - mu) / sd, y, PENALTY)
    scores = (x - mu) / sd @ w + b
    # The threshold is the cross-validated one: on its own training faces the
    # full model scores the negatives lower than it will score new faces.
    t = t_cv
    fitted = {"recall": int((scores[y == 1] > t).sum()), "false_alarms": int((scores[y == 0] > t).sum())}
    print(f"fitted on all: recall {fitted['recall']}/{COPIES * positives}, false alarms "
          f"{fitted['false_alarms']}/{COPIES * negatives} ({', '.join(VARIANTS)})")
    from facematch.checks.occlusion import HAT_HOG, HAT_MEASURES, HAT_WINDOW

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    artefact = {
        "schema": "facematch-hat/1", "version": "hat-v1", "measures": list(HAT_MEASURES), "window": list(HAT_WINDOW),
        "hog": json.loads(json.dumps(HAT_HOG)),
        "mean": [round(float(v), 6) for v in mu], "scale": [round(float(v), 6) for v in sd],
        "weights": [round(float(v), 6) for v in w], "bias": round(b, 6), "threshold": round(t, 6),
        "provenance": {
            "command": "python -m tools.fit_hat " + " ".join(sys.argv[1:]), "commit": commit,
            "fitted_on": f"the first {LABELLED} LFW images (sorted paths), labels benchmarks/labels/lfw_hats.txt; "
                         f"every image of asian/{' and asian/'.join(HATLESS)} as without; each face also as a "
                         "greyscale and a softened copy",
            "faces": len(faces), "positives": positives, "negatives": negatives, "gated": len(gated),
            "max_false_alarm": MAX_FALSE_ALARM, "penalty": PENALTY,
            "cross_validation_by_person": cv, "in_sample": fitted}}
    write_artefact(artefact, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
