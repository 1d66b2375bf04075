"""Fit the mask model (``facematch.artifacts.occlusion``, code 9) and write
``src/facematch/data/occlusion-v1.json``.

    .venv/bin/python -m tools.fit_occlusion [--data ../shared/data] [--workers 1] [--cache /tmp/occl.npz]

The mask rule (``occlusion.mask``: little skin-coloured lower face, no red
lips) finds nearly every mask but fires on about 6 % of LFW's faces too. The
model confirms its findings: a logistic regression over the face's own
SFace embedding (the network's, before any adaptation; chip and mirror
averaged, as the matcher computes it) and the rule measures
(``occlusion.RULE_FEATURES``), fitted and applied only on faces the rule
flags. Faces: LFW beyond the first 1,600 images in sorted path order (the
first 1,600 are what ``benchmarks.selfie_checks`` reports on; sunglasses
labels from ``benchmarks/labels/lfw_sunglasses.txt``, -1 left out), and every image of
``asian/casia_v5`` and ``asian/p101jp_s2`` (neither masks nor sunglasses).
Each face enters as it is and once more with an occluder drawn over it
(``tools.synth.occluders``, seeded per image): a mask of varied shape,
colour, pattern and shading (``draw_mask_varied``, half the faces), dark
sunglasses, clear glasses, or a mask and sunglasses together; a third of the
drawn copies is also shrunk (8-30 px between the eyes) and a fifth turned
grey; a seventh of the faces also enters as a grey copy. Every copy goes
through the detector, face mesh, alignment and embedder again, as a photo
would. No real mask photo is used: ``attributes/mask`` is an evaluation set.

Classes weighted to equal total weight, features standardised, L2 penalty
chosen from ``PENALTIES`` by five-fold cross-validation split by person (the
most recall at the false-alarm budget), Newton's method. The threshold lets
at most ``MAX_FALSE_ALARM`` of the real faces without a mask (as they are and
their grey copies; those the rule does not flag count as passed) through, on
the out-of-fold scores; the artefact also records the rate on the faces with
drawn glasses. The artefact records the weights, the threshold, the embedder they
are for, what they were fitted on and the cross-validated figures. A
sunglasses model of the same kind was tried and is not shipped
(docs/checks.md, "7 - sunglasses").
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from facematch.checks.occlusion import RULE_FEATURES
from tools.fitting import fit, threshold, write_artefact
from tools.labels import LABELS_DIR, read_labels

ARTEFACT = Path(__file__).resolve().parents[1] / "src" / "facematch" / "data" / "occlusion-v1.json"
EXTS = {".jpg", ".jpeg", ".png", ".bmp"}
SKIP_LFW = 1600  # the first LFW images in sorted path order: the benchmark's, not fitted on
NEGATIVE_SETS = ("casia_v5", "p101jp_s2")
MAX_FALSE_ALARM = 0.005
PENALTIES = (1.0, 10.0)
#: Drawn occluder per face (probabilities): mask, sunglasses, clear glasses, both.
DRAWN = (("mask", 0.5), ("sunglasses", 0.3), ("clear", 0.12), ("mask+sunglasses", 0.08))


def embed(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(raw embedding, ``RULE_FEATURES``, then 1 where the mask rule fires as ``occlusions`` runs it, else 0;
    face-mesh points) of the largest face, or None."""
    from facematch.checks import occlusion as o
    from facematch.models.alignment import alignment_points
    from facematch.models.facemesh import Mesh
    from tools.local import matcher

    with matcher().pool.bundle() as bundle:
        found = bundle.detector.detect(rgb)
        if not found or not isinstance(found[0].mesh, Mesh):
            return None
        best = found[0]
        points = bundle.landmarker(rgb, best.box)
        chip = bundle.embedder.align(rgb, alignment_points(bundle.embedder.points, points, best.mesh.points))
        e = np.asarray(bundle.embedder.embed(chip), np.float64)
    limits = o.OcclusionLimits()
    pts = best.mesh.points
    view = o.FaceView.from_points(rgb, pts, limits.view_scale)
    eyes = o.eye_distance(pts)
    hats = eyes >= limits.hat_min_eye_distance and bool(o.hat(view, rgb.shape, "img2", limits))
    glasses = eyes >= limits.sunglasses_min_eye_distance and bool(o.sunglasses(view, "img2", limits))
    bare = o.mask_reference(hats, glasses)
    fires = eyes >= limits.mask_min_eye_distance and bool(o.mask(view, pts, "img2", limits, bare))
    return np.concatenate([e, o.rule_features(view, pts, limits, bare), [float(fires)]]), pts


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def rows_of(job: tuple[str, str, int, int]) -> list[tuple[str, str, list[float], int, int]]:
    """(path, person, sunglasses label, seed) -> rows (person, variant, embedding, sunglasses, mask)."""
    from facematch.checks.occlusion import eye_distance
    from facematch.types import ImageKind
    from tools.local import matcher
    from tools.synth import occluders

    path, person, sun, seed = job
    rgb = matcher().decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    first = embed(rgb)
    if first is None:
        return []
    e, pts = first
    out = [(person, "as is", [float(v) for v in e], sun, 0)]
    rng = np.random.default_rng(seed)
    kind = [k for k, _ in DRAWN][int(rng.choice(len(DRAWN), p=[p for _, p in DRAWN]))]
    img = rgb
    if "mask" in kind:
        img = occluders.draw_mask_varied(img, pts, rng)
    if "sunglasses" in kind:
        img = occluders.draw_sunglasses(img, pts, rng)
    if kind == "clear":
        img = occluders.draw_clear_glasses(img, pts, rng)
    if rng.random() < 1 / 3:  # a small face: 8-30 px between the eyes
        f = min(1.0, rng.uniform(8, 30) / max(eye_distance(pts), 1.0))
        img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.2:
        img = grey(img)
    drawn = embed(img)
    if drawn is not None:
        out.append((person, kind, [float(v) for v in drawn[0]], max(sun, int("sunglasses" in kind)),
                    int("mask" in kind)))
    if rng.random() < 1 / 7:
        g = embed(grey(rgb))
        if g is not None:
            out.append((person, "grey", [float(v) for v in g[0]], sun, 0))
    return out


def jobs(data: Path) -> list[tuple[str, str, int, int]]:
    lfw = data / "lfw"
    labels = read_labels(LABELS_DIR / "lfw_sunglasses.txt")
    todo = []
    paths = sorted(p for p in lfw.rglob("*") if p.suffix.lower() in EXTS)[SKIP_LFW:]
    for p in paths:
        if labels.get(p.name, 0) != -1:
            todo.append((str(p), "lfw/" + p.parent.name, labels.get(p.name, 0)))
    for name in NEGATIVE_SETS:
        for p in sorted(p for p in (data / "asian" / name).rglob("*") if p.suffix.lower() in EXTS):
            todo.append((str(p), f"{name}/{p.parent.name}", 0))
    return [(p, person, s, i) for i, (p, person, s) in enumerate(todo)]


def logistic(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Standardised, class-balanced, L2-penalised logistic regression: (mean, scale, weights, bias)."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 1e-6, sd, 1.0)
    w, b = fit((x - mu) / sd, y, penalty)
    return mu, sd, w, b


def cross_validate(x: np.ndarray, y: np.ndarray, fold: np.ndarray, penalty: float, gate: np.ndarray) -> np.ndarray:
    """Out-of-fold scores of a five-fold cross-validation (``fold``: 0-4 per row) of the model fitted
    and applied on the rows that pass ``gate`` (-inf elsewhere)."""
    scores = np.full(len(y), -np.inf)
    for k in range(5):
        train, test = (fold != k) & gate, (fold == k) & gate
        mu, sd, w, b = logistic(x[train], y[train], penalty)
        scores[test] = (x[test] - mu) / sd @ w + b
    return scores


def without_cache(argv: list[str]) -> list[str]:
    """``argv`` less ``--cache PATH`` / ``--cache=PATH`` (a local file, not part of what was fitted)."""
    out, skip = [], False
    for a in argv:
        if skip or a.startswith("--cache="):
            skip = False
            continue
        if a == "--cache":
            skip = True
            continue
        out.append(a)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None, help="keep the embeddings here (npz) and reuse them")
    ap.add_argument("--out", type=Path, default=ARTEFACT)
    args = ap.parse_args()
    if not (args.data / "lfw").is_dir():
        print(f"no LFW at {args.data / 'lfw'}: nothing fitted")
        return 0
    if args.cache is not None and args.cache.exists():
        z = np.load(args.cache, allow_pickle=False)
        person, variant, x, sun, msk = (z[k] for k in ("person", "variant", "x", "sunglasses", "mask"))
    else:
        with ProcessPoolExecutor(args.workers) as ex:
            rows = [r for rs in ex.map(rows_of, jobs(args.data), chunksize=16) for r in rs]
        person = np.array([r[0] for r in rows])
        variant = np.array([r[1] for r in rows])
        x = np.array([r[2] for r in rows], np.float64)
        sun = np.array([r[3] for r in rows])
        msk = np.array([r[4] for r in rows])
        if args.cache is not None:
            np.savez(args.cache, person=person, variant=variant, x=x, sunglasses=sun, mask=msk)
    people = sorted(set(person.tolist()))
    order = np.random.default_rng(0).permutation(len(people))
    fold_of = {people[i]: k % 5 for k, i in enumerate(order)}
    fold = np.array([fold_of[p] for p in person])
    counts = {v: int((variant == v).sum()) for v in sorted(set(variant.tolist()))}
    print(f"{len(x)} faces of {len(people)} people: {counts}")
    dim = x.shape[1] - len(RULE_FEATURES) - 1
    y = msk
    gate = x[:, -1] > 0  # where the mask rule fires, as occlusions() runs it
    x = x[:, :-1]
    cv, models = {}, {}
    real = np.isin(variant, ("as is", "grey"))  # real faces (and their grey copies), nothing drawn
    best = None
    for penalty in PENALTIES:
        s = cross_validate(x, y, fold, penalty, gate)
        t = threshold(s[real & (y == 0)], MAX_FALSE_ALARM)
        recall = float((s[y == 1] > t).mean())
        print(f"mask: penalty {penalty}: cross-validated recall {recall:.3f} at threshold {t:.3f}")
        if best is None or recall > best[0]:
            best = (recall, penalty, s, t)
    assert best is not None
    recall, penalty, s, t = best
    cv = {"penalty": penalty, "recall": int((s[y == 1] > t).sum()), "positives": int(y.sum()),
          "rule_alone_recall": int(gate[y == 1].sum()),
          "false_alarms": int((s[y == 0] > t).sum()), "negatives": int((y == 0).sum()),
          "real_false_alarms": int((s[real & (y == 0)] > t).sum()), "real_negatives": int((real & (y == 0)).sum()),
          "rule_alone_real_false_alarms": int(gate[real & (y == 0)].sum()),
          "drawn_false_alarms_by_variant": {v: [int((s[(variant == v) & (y == 0)] > t).sum()),
                                                int(((variant == v) & (y == 0)).sum())]
                                            for v in ("sunglasses", "clear")},
          "recall_by_variant": {v: [int((s[(variant == v) & (y == 1)] > t).sum()), int(((variant == v) & (y == 1)).sum())]
                                for v in sorted(set(variant.tolist())) if ((variant == v) & (y == 1)).any()}}
    print(f"mask: {cv}")
    mu, sd, w, b = logistic(x[gate], y[gate], penalty)
    models["mask"] = {"embedding": True, "rules": True, "mean": [round(float(v), 6) for v in mu],
                      "scale": [round(float(v), 6) for v in sd], "weights": [round(float(v), 6) for v in w],
                      "bias": round(b, 6), "threshold": round(t, 6)}
    report = {"mask": {"cross_validation_by_person": cv}}
    from tools.local import matcher

    embedder = matcher().pool.embedder.name
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    artefact = {
        "schema": "facematch-occlusion/1", "version": "occlusion-v1", "embedder": embedder, "dim": dim,
        "rule_features": list(RULE_FEATURES),
        "models": models,
        "provenance": {
            "command": " ".join(["python -m tools.fit_occlusion", *without_cache(sys.argv[1:])]),
            "commit": commit,
            "fitted_on": f"LFW beyond the first {SKIP_LFW} images (sorted paths; sunglasses labels "
                         "benchmarks/labels/lfw_sunglasses.txt), every image of asian/"
                         + " and asian/".join(NEGATIVE_SETS)
                         + "; each face as it is and with a drawn occluder (tools.synth.occluders: varied masks, "
                           "sunglasses, clear glasses, both), some shrunk or grey; no real mask photo. Fitted and "
                           "applied on the faces the mask rule flags",
            "faces": len(x), "variants": counts, "max_false_alarm": MAX_FALSE_ALARM, **report}}
    write_artefact(artefact, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
