"""Fit the mask model (``facematch.artifacts.occlusion``, code 9) and write
``src/facematch/data/occlusion-v1.json``.

    .venv/bin/python -m tools.fit_occlusion [--data ../shared/data] [--workers 1] [--cache /tmp/occl.npz]

With ``--cache`` the costly part (detection, face mesh and embedding of every
face and copy) is kept with the mesh points; a later run with other rule
measures (``RULE_FEATURES``) draws the copies again and measures them on
the cached points, without detecting again.

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
colour (colours near skin included), pattern (stripes, dots, checks,
flowers, printed photographs) and shading, some sitting below the nose tip
(``draw_mask_varied``, half the faces), dark sunglasses, clear glasses, or a
mask and sunglasses together; a quarter of the drawn copies is cut tight
around the face (the chin often cut, as in masked selfies), a third shrunk
(8-30 px between the eyes) and a fifth turned grey; a seventh of the faces
also enters as a grey copy. Every copy goes
through the detector, face mesh, alignment and embedder again, as a photo
would. No real mask photo is used: ``attributes/mask`` is an evaluation set.

Classes weighted to equal total weight, features standardised, L2 penalty
chosen from ``PENALTIES`` by five-fold cross-validation split by person (the
most recall at the false-alarm budget), Newton's method. The threshold lets
at most ``MAX_FALSE_ALARM`` of the real faces without a mask (as they are and
their grey copies; those the rule does not flag count as passed) of each
source (LFW, CASIA, P101) through, on the out-of-fold scores: the strictest
of the three; the artefact also records the rate on the faces with
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
#: Share of the drawn copies cut tight around the face (``tight_crop``).
TIGHT = 0.25


def detect(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(raw embedding, face-mesh points) of the largest face, or None: the costly part, cached."""
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
    return e, np.asarray(best.mesh.points, np.float32)


def measures(rgb: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """``RULE_FEATURES`` of the face (mesh ``pts``), then 1 where the mask rule fires as ``occlusions`` runs
    it, else 0."""
    from facematch.checks import occlusion as o

    limits = o.OcclusionLimits()
    view = o.FaceView.from_points(rgb, pts, limits.view_scale)
    eyes = o.eye_distance(pts)
    hats = eyes >= limits.hat_min_eye_distance and bool(o.hat(view, rgb.shape, "img2", limits))
    glasses = eyes >= limits.sunglasses_min_eye_distance and bool(o.sunglasses(view, "img2", limits))
    bare = o.mask_references(hats, glasses)
    fires = eyes >= limits.mask_min_eye_distance and all(o.mask(view, pts, "img2", limits, ref) for ref in bare)
    return np.concatenate([o.rule_features(view, pts, limits, bare[0]), [float(fires)]])


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def tight_crop(rgb: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image cut close around the face, as a masked selfie often is: from 0.6-1.3 eye distances above
    the eyes to 0.15-0.75 below the mouth (the chin often cut), 0.8-1.3 to either side of the face's middle."""
    from tools.synth.occluders import face_affine

    aff = face_affine(pts)
    side = rng.uniform(0.8, 1.3)
    top, bottom = -rng.uniform(0.6, 1.3), 1.15 + rng.uniform(0.15, 0.75)
    uv = np.array([[-side, top], [side, top], [-side, bottom], [side, bottom]], np.float32)
    xy = uv @ aff[:, :2].T + aff[:, 2]
    h, w = rgb.shape[:2]
    x0, y0 = np.clip(np.floor(xy.min(0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(xy.max(0)).astype(int), [x0 + 1, y0 + 1], [w, h])
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def copies(rgb: np.ndarray, pts: np.ndarray, seed: int) -> list[tuple[str, np.ndarray]]:
    """The face's copies besides the one as it is, (variant, image): one with an occluder drawn (``DRAWN``),
    a quarter of them cut tight (``tight_crop``), a third shrunk to 8-30 px between the eyes, a fifth grey;
    and a seventh of the faces as a grey copy. Seeded: the same ``seed`` gives the same copies."""
    from facematch.checks.occlusion import eye_distance
    from tools.synth import occluders

    rng = np.random.default_rng(seed)
    kind = [k for k, _ in DRAWN][int(rng.choice(len(DRAWN), p=[p for _, p in DRAWN]))]
    img = rgb
    if "mask" in kind:
        img = occluders.draw_mask_varied(img, pts, rng)
    if "sunglasses" in kind:
        img = occluders.draw_sunglasses(img, pts, rng)
    if kind == "clear":
        img = occluders.draw_clear_glasses(img, pts, rng)
    if rng.random() < TIGHT:
        img = tight_crop(img, pts, rng)
    if rng.random() < 1 / 3:  # a small face: 8-30 px between the eyes
        f = min(1.0, rng.uniform(8, 30) / max(eye_distance(pts), 1.0))
        img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.2:
        img = grey(img)
    out = [(kind, img)]
    if rng.random() < 1 / 7:
        out.append(("grey", grey(rgb)))
    return out


Job = tuple[str, str, int, int]  # path, person, sunglasses label, seed
Row = tuple[str, str, int, list[float], np.ndarray, list[float], int, int]


def images_of(job: Job, points: np.ndarray | None = None) -> list[tuple[str, np.ndarray]] | None:
    """The job's images, (variant, image): as it is, then ``copies`` (drawn along the face's mesh
    ``points``, found when not given); None when no face is found as it is."""
    from facematch.types import ImageKind
    from tools.local import matcher

    rgb = matcher().decode(Path(job[0]).read_bytes(), ImageKind.PORTRAIT)
    if points is None:
        first = detect(rgb)
        if first is None:
            return None
        points = first[1]
    return [("as is", rgb), *copies(rgb, points, job[3])]


def rows_of(job: Job) -> list[Row]:
    """-> rows (person, variant, copy index, embedding, mesh points, ``measures``, sunglasses, mask)."""
    _, person, sun, _ = job
    out: list[Row] = []
    for k, (variant, img) in enumerate(images_of(job) or []):
        found = detect(img)
        if found is not None:
            e, pts = found
            out.append((person, variant, k, [float(v) for v in e], pts, [float(v) for v in measures(img, pts)],
                        max(sun, int("sunglasses" in variant)), int("mask" in variant)))
    return out


def remeasure(args: tuple[Job, list[tuple[int, np.ndarray]]]) -> list[list[float]]:
    """``measures`` again for cached rows (copy index, mesh points) of one job, on its images drawn again
    (along the cached points of the face as it is)."""
    job, rows = args
    imgs = images_of(job, dict(rows).get(0)) or []
    return [[float(v) for v in measures(imgs[k][1], pts)] for k, pts in rows]


def jobs(data: Path) -> list[Job]:
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


def features(data: Path, workers: int, cache: Path | None) -> tuple[np.ndarray, ...]:
    """(person, variant, [embedding, ``measures``], sunglasses, mask) per face, from ``cache`` when it
    holds them (the rule measures taken again when their names changed), else computed (and cached)."""
    todo = jobs(data)
    if cache is not None and cache.exists():
        z = dict(np.load(cache, allow_pickle=False))
        if list(z["rule_features"]) != list(RULE_FEATURES):
            print("rule measures changed: measuring the cached faces again")
            groups: dict[int, list[tuple[int, np.ndarray]]] = {}
            for j, k, pts in zip(z["job"], z["copy"], z["points"], strict=True):
                groups.setdefault(int(j), []).append((int(k), pts))
            with ProcessPoolExecutor(workers) as ex:
                got = ex.map(remeasure, [(todo[j], rows) for j, rows in groups.items()], chunksize=16)
                z["rules"] = np.array([m for ms in got for m in ms], np.float64)
            z["rule_features"] = np.array(RULE_FEATURES)
            np.savez(cache, **z)
    else:
        with ProcessPoolExecutor(workers) as ex:
            done = ex.map(rows_of, todo, chunksize=16)
            rows = [(j, r) for j, rs in enumerate(done) for r in rs]
        z = {"job": np.array([j for j, _ in rows]), "person": np.array([r[0] for _, r in rows]),
             "variant": np.array([r[1] for _, r in rows]), "copy": np.array([r[2] for _, r in rows]),
             "embedding": np.array([r[3] for _, r in rows], np.float64),
             "points": np.array([r[4] for _, r in rows], np.float32),
             "rules": np.array([r[5] for _, r in rows], np.float64),
             "sunglasses": np.array([r[6] for _, r in rows]), "mask": np.array([r[7] for _, r in rows]),
             "rule_features": np.array(RULE_FEATURES)}
        if cache is not None:
            np.savez(cache, **z)
    x = np.hstack([z["embedding"], z["rules"]])
    return z["person"], z["variant"], x, z["sunglasses"], z["mask"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the embeddings and mesh points here (npz) and reuse them; the rule measures are "
                         "taken again (on the images drawn again) when RULE_FEATURES changed")
    ap.add_argument("--out", type=Path, default=ARTEFACT)
    args = ap.parse_args()
    if not (args.data / "lfw").is_dir():
        print(f"no LFW at {args.data / 'lfw'}: nothing fitted")
        return 0
    person, variant, x, sun, msk = features(args.data, args.workers, args.cache)
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
    source = np.array([p.split("/")[0] for p in person])  # lfw, casia_v5, p101jp_s2: the strictest threshold
    best = None
    for penalty in PENALTIES:
        s = cross_validate(x, y, fold, penalty, gate)
        t = max(threshold(s[real & (y == 0) & (source == src)], MAX_FALSE_ALARM) for src in set(source.tolist()))
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
