"""Fit the hat model over SFace's activations at the top of its chip (``src/facematch/data/hattop-v1.json``,
code 8, ``artifacts.hat.HatTopModel``).

    nice -n 10 .venv/bin/python -m tools.fit_hat_top --data ../shared/data [--write] [--workers 2]

What it reads: SFace's own inner tensor ``sface.EYE_TAP`` (``conv_10_relu``,
512 channels over 14 x 14 cells of 8 px), returned by the embedding's run
(``OnnxFaceEmbedder.embed_tapped``), as the sunglasses model does (section 7
of docs/checks.md), but at the top of ArcFace's 112 px chip: each channel
averaged over the cells of ``BOX`` (chip pixels 0-16 down, 16-96 across: the
top two rows of cells, columns 2-11; ``hat.box_features``), where a brim or
a cap's front shows. 512 numbers a face.

What it is fitted on: the faces ``tools/fit_hat.py`` fits ``hat-v3`` on, the
same way: every LFW image but those of the held-out people
(``tools.fit_hat.held_out``), labelled by ``benchmarks/labels/lfw_hats.txt``
(-1 left out), and every image of ``asian/casia_v5`` and ``asian/p101jp_s2``
as without a head covering; only faces whose ``HEAD_TOP`` lies mostly inside
the image (``hat_max_outside``); each face as it is, as a greyscale copy and
as a softened copy (``tools.fit_hat.VARIANTS``), each copy with its own chip,
hence its own tensor, as ``hat-v3``'s embedding model has its own embedding.
The model is a class-balanced logistic regression with an L2 penalty of
``PENALTY`` per unit of sample weight (``tools.fitting.fit``) over the numbers
standardised on the training faces.

The decision (``checks.occlusion.hat``): this model's log-odds added to those
``hat-v3`` decides with where the embedding is at hand (its model with the
embedding, threshold not taken off). The threshold of that sum is the
strictest of the three sources' (LFW, CASIA, P101), each at
``tools.fit_hat.MAX_FALSE_ALARM`` (1 %) false alarms, from out-of-fold
scores of ``tools.fit_hat``'s five-fold cross-validation split by person
(the same folds; ``hat-v3``'s out-of-fold log-odds are recomputed by
``tools.fit_hat``'s own procedure). Heads cut by the frame or turned keep
``hat-v3`` with its limits (``tools/fit_hat_cut.py``).

The tool then scores the held-out people's photos as they are (colour, the
faces the gate passes; a face cut off beyond it counts as not found here, as
in ``tools.fit_hat``) with ``hat-v3`` as shipped and with the sum, turned
heads read by ``hat-v3`` against ``hat_turned_min_score`` in both.

Features (``hat_features``, the embedding and the 512 numbers of each copy)
are cached in ``--cache`` (``/tmp/fit-hat-top.npz``, saved as it goes; 28 minutes for
the 8,077 images on the 2-core VM loaded by other sessions, then about 3 minutes from the cache). ``--write`` rewrites the artefact and prints the
sha256 to pin in ``facematch.artifacts.PACKAGED``.
"""

from __future__ import annotations

import datetime
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tools.fit_hat import (
    COPIES,
    HATLESS,
    LABELS,
    MAX_FALSE_ALARM,
    VARIANTS,
    cross_validated,
    held_out,
    lfw_images,
    source,
)
from tools.fitting import TERMS, fit, fit_standardised, threshold, tool_parser, write_artefact
from tools.labels import read_labels

ROOT = Path(__file__).resolve().parents[1]
ARTEFACT = ROOT / "src" / "facematch" / "data" / "hattop-v1.json"
CACHE = Path("/tmp/fit-hat-top.npz")
EXTS = {".jpg", ".jpeg", ".png", ".bmp"}
CHIP = 112
#: The part of the chip read (x0, x1, y0, y1, chip pixels): the top two rows of 8-px cells, columns 2-11.
BOX = (16.0, 96.0, 0.0, 16.0)
TAP_SHAPE = (512, 14, 14)
PENALTY = 0.1
FOLDS = 5
#: Cache status of an image: no face found, a face beyond the gate (``hat_max_outside``), a face judged.
NO_FACE, CUT, JUDGED = 0, 1, 2


def features(path: str) -> tuple[str, int, float, np.ndarray | None]:
    """(path, status, the head's yaw in degrees, per copy (``VARIANTS``) ``hat_features`` then the copy's
    embedding then its ``BOX`` numbers, or None unless judged), as ``tools.fit_hat.features`` computes
    the first two."""
    from facematch.artifacts.hat import box_features
    from facematch.checks import occlusion
    from facematch.models.alignment import alignment_points
    from facematch.models.protocols import TappedEmbedder
    from facematch.models.sface import EYE_TAP
    from facematch.types import ImageKind
    from tools.local import matcher

    rgb = matcher().decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    with matcher().pool.bundle() as bundle:
        found = bundle.detector.detect(rgb)
        if not found or found[0].mesh is None:
            return path, NO_FACE, 0.0, None
        limits = occlusion.OcclusionLimits()
        pts = found[0].mesh.points
        yaw = occlusion.head_yaw(pts)
        view = occlusion.FaceView.from_points(rgb, pts, limits.view_scale)
        if view.outside(occlusion.HEAD_TOP, rgb.shape) > limits.hat_max_outside:
            return path, CUT, yaw, None
        assert isinstance(bundle.embedder, TappedEmbedder)
        grey = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        soft = cv2.GaussianBlur(rgb, (0, 0), max(0.5, 0.04 * occlusion.eye_distance(pts)))
        points = bundle.landmarker(rgb, found[0].box)
        rows = []
        for image in (rgb, grey, soft):
            copy_view = view if image is rgb else occlusion.FaceView.from_points(image, pts, limits.view_scale)
            chip = bundle.embedder.align(image, alignment_points(bundle.embedder.points, points, pts))
            embedding, taps = bundle.embedder.embed_tapped(chip)
            rows.append(np.concatenate([occlusion.hat_features(copy_view), embedding,
                                        box_features(taps[EYE_TAP][0], BOX, CHIP)]))  # own run
    return path, JUDGED, yaw, np.stack(rows)


def cached_features(paths: list[str], keys: list[str], cache: Path, workers: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(status, yaw, features: images x copies x values, NaN unless judged) of ``paths``, cached under
    ``keys`` in ``cache`` (saved every few hundred images, so that an interrupted run resumes)."""
    known: dict[str, tuple[int, float, np.ndarray]] = {}
    if cache.exists():
        c = np.load(cache)
        known = {k: (int(s), float(w), x) for k, s, w, x in zip(c["keys"].tolist(), c["status"], c["yaw"], c["x"],
                                                                strict=True)}
    from facematch.checks.occlusion import hat_feature_count

    dim = hat_feature_count() + 128 + TAP_SHAPE[0]
    missing = [(p, k) for p, k in zip(paths, keys, strict=True) if k not in known]

    def save() -> None:
        ks = sorted(known)
        np.savez(cache, keys=np.array(ks), status=np.array([known[k][0] for k in ks], np.int8),
                 yaw=np.array([known[k][1] for k in ks]), x=np.stack([known[k][2] for k in ks]))

    with ProcessPoolExecutor(workers) as pool:
        for start in range(0, len(missing), 400):
            block = missing[start:start + 400]
            for (_, k), (_, status, yaw, rows) in zip(block, pool.map(features, [p for p, _ in block], chunksize=8),
                                                       strict=True):
                known[k] = (status, yaw, rows if rows is not None else np.full((COPIES, dim), np.nan))
            save()
            print(f"features: {start + len(block)}/{len(missing)}", flush=True)
    return (np.array([known[k][0] for k in keys]), np.array([known[k][1] for k in keys]),
            np.stack([known[k][2] for k in keys]))


def train(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias): the class-balanced logistic regression on standardised ``t``."""
    return fit_standardised(t, y, PENALTY)


def main(argv: list[str] | None = None) -> int:
    from facematch.checks.occlusion import OcclusionLimits, hat_feature_count, hat_model
    from tools.local import matcher

    ap = tool_parser(__doc__, ARTEFACT, ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args(argv)
    lfw = args.data / "lfw"
    if not lfw.is_dir():
        print(f"no LFW at {lfw}: nothing fitted")
        return 0
    held = held_out(lfw)
    paths = [str(p) for p in lfw_images(lfw)]
    rel = {p: str(Path(p).relative_to(lfw)) for p in paths}
    for name in HATLESS:
        root = args.data / "asian"
        extra = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in EXTS)
        paths += [str(p) for p in extra]
        rel.update({str(p): str(p.relative_to(root)) for p in extra})
    names = [rel[p] for p in paths]
    status, yaw, rows = cached_features(paths, names, args.cache, args.workers)
    labels = read_labels(LABELS)
    keep = [i for i, n in enumerate(names) if status[i] != NO_FACE and labels.get(n, 0) != -1]
    tests = [i for i in keep if Path(names[i]).parent.name in held]
    faces = [i for i in keep if Path(names[i]).parent.name not in held]
    negatives = {s: sum(1 for i in faces if labels.get(names[i], 0) == 0 and source(names[i]) == s)
                 for s in ("lfw", *HATLESS)}
    positives = sum(1 for i in faces if labels.get(names[i], 0) == 1)
    # Each judged face three times (VARIANTS), all in the same fold, as tools.fit_hat orders them.
    gated = [(names[i], c) for i in faces if status[i] == JUDGED for c in range(COPIES)]
    index = {n: i for i, n in enumerate(names)}
    xet = np.stack([rows[index[n], c] for n, c in gated]).astype(np.float64)
    d = hat_feature_count()
    x, e, t = xet[:, :d], xet[:, d:d + 128], xet[:, d + 128:]
    y = np.array([1 if labels.get(n, 0) == 1 else 0 for n, _ in gated])
    src = np.array([source(n) for n, _ in gated])
    print(f"LFW but {len(held)} held-out people + {', '.join(HATLESS)}: {len(faces)} faces ({positives} with a head "
          f"covering, {sum(negatives.values())} without); {len(gated)} copies pass the gate ({int(y.sum())} with)")
    people = sorted({Path(n).parent.name for n, _ in gated})
    order = np.random.default_rng(0).permutation(len(people))
    fold_of = {people[i]: k % FOLDS for k, i in enumerate(order)}
    fold = np.array([fold_of[Path(n).parent.name] for n, _ in gated])
    # hat-v3's out-of-fold log-odds, by tools.fit_hat's own procedure.
    image_scores = cross_validated(x, y, fold)
    embedding_scores = cross_validated(e, y, fold)
    (w_image, w_embedding), _ = fit(np.stack([image_scores, embedding_scores], 1), y, 0.0)
    weight = float(w_embedding / w_image)
    base = image_scores + weight * embedding_scores
    top = np.zeros(len(y))
    for k in range(FOLDS):
        mean, scale, w, b = train(t[fold != k], y[fold != k])
        top[fold == k] = (t[fold == k] - mean) / scale @ w + b
    total = base + top

    def operating_point(scores: np.ndarray) -> tuple[float, dict[str, float], dict[str, Any]]:
        """The strictest source's threshold (each at MAX_FALSE_ALARM, faces beyond the gate counted as passed),
        the per-source thresholds and the out-of-fold figures there."""
        per = {s: threshold(scores[(y == 0) & (src == s)], MAX_FALSE_ALARM, COPIES * negatives[s]) for s in negatives}
        lim = max(per.values())
        return lim, per, {"recall": int((scores[y == 1] > lim).sum()), "positives": COPIES * positives,
                          "false_alarms": {s: int((scores[(y == 0) & (src == s)] > lim).sum()) for s in negatives},
                          "negatives": {s: COPIES * n for s, n in negatives.items()}, "copies": list(VARIANTS)}

    shipped = hat_model()
    t_base, _, cv_base = operating_point(base)
    limit, per_source, cv_total = operating_point(total)
    print(f"hat-v3 recomputed: embedding weight {weight:.4f} (shipped "
          f"{shipped.provenance['embedding_weight']}), threshold {t_base:.4f} (shipped "
          f"{shipped.with_embedding.threshold:.4f})")
    for name, cv in (("hat-v3", cv_base), ("hat-v3 + top of the chip", cv_total)):
        print(f"{name}: 5-fold cross-validation by person at <= {MAX_FALSE_ALARM:.0%} false alarms per source: "
              f"recall {cv['recall']}/{cv['positives']}, false alarms {cv['false_alarms']} of {cv['negatives']}")
    print("per-source thresholds of the sum: " + ", ".join(f"{k} {v:.4f}" for k, v in per_source.items()))
    mean, scale, w, b = train(t, y)
    # The held-out people, colour, as serving scores them: hat-v3 as shipped; a head turned past hat_max_yaw
    # keeps hat-v3 against hat_turned_min_score.
    lim = OcclusionLimits()
    held_result = {}
    for name, with_top in (("hat-v3", False), ("hat-v3 + top of the chip", True)):
        found = {True: 0, False: 0}
        count = {True: 0, False: 0}
        for i in tests:
            hat = labels.get(names[i], 0) == 1
            count[hat] += 1
            if status[i] != JUDGED:
                continue
            v = rows[i, 0].astype(np.float64)
            score = shipped.score(v[:d], v[d:d + 128], shipped.embedder)
            if abs(yaw[i]) > lim.hat_max_yaw:
                flagged = score > max(lim.hat_min_score, lim.hat_turned_min_score)
            elif with_top:
                flagged = score + shipped.with_embedding.threshold + float((v[d + 128:] - mean) / scale @ w + b) \
                    > limit
            else:
                flagged = score > lim.hat_min_score
            found[hat] += int(flagged)
        held_result[name] = {"people": len(held), "recall": found[True], "positives": count[True],
                             "false_alarms": found[False], "negatives": count[False]}
        print(f"{name}, held-out LFW people ({len(held)}, colour, cut heads not judged): recall "
              f"{found[True]}/{count[True]}, false alarms {found[False]}/{count[False]}")
    doc = {
        "schema": "facematch-hattop/1", "version": "v1", "base": shipped.version,
        "embedder": matcher().pool.embedder.name, "tap": "conv_10_relu", "tap_shape": list(TAP_SHAPE), "chip": CHIP,
        "box": list(BOX), "mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b,
        "threshold": limit,
        "provenance": {
            "fitted_on": "the faces hat-v3 is fitted on (tools/fit_hat.py): every LFW image but those of every "
                         "5th person folder (sorted), labels benchmarks/labels/lfw_hats.txt; every image of "
                         f"asian/{' and asian/'.join(HATLESS)} as without; faces whose HEAD_TOP lies mostly "
                         "inside the image, each also as a greyscale and a softened copy with its own chip",
            "faces": len(faces), "positives": positives, "negatives": negatives, "copies_gated": len(gated),
            "method": f"class-balanced logistic regression, L2 {PENALTY} per unit of sample weight "
                      "(tools/fitting.py: fit), over SFace's conv_10_relu averaged over the box (chip pixels)",
            "threshold": f"of hat-v3's log-odds with the embedding plus this model's: the strictest of "
                         f"{MAX_FALSE_ALARM:.0%} false alarms on LFW, asian/casia_v5 and asian/p101jp_s2, out of fold "
                         "(tools/fit_hat.py's 5 folds by person; hat-v3's out-of-fold log-odds recomputed)",
            "per_source_thresholds": per_source,
            "cross_validation_by_person": {"hat-v3": cv_base, "with_top": cv_total},
            "hat_v3_recomputed": {"embedding_weight": round(weight, 6), "threshold": round(t_base, 6)},
            "held_out_lfw_people": held_result,
            "command": "nice -n 10 .venv/bin/python -m tools.fit_hat_top --data ../shared/data --write",
            "date": datetime.date.today().isoformat(),
            "terms": TERMS}}
    if args.write:
        write_artefact(doc, ARTEFACT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
