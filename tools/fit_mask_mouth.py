"""Fit the mouth model (``src/facematch/data/mask-mouth-v1.json``, code 9).

    nice -n 10 .venv/bin/python -m tools.fit_mask_mouth --data ../shared/data [--write] [--workers 2]

What it reads: the sunglasses model's method (``tools/fit_sunglasses_eyes.py``)
at the nose tip and the mouth centre of ArcFace's template (``POINTS``):
SFace's ``conv_10_relu`` from the embedding's own run, each of its 512
channels averaged over the cells within ``REACH`` chip pixels of each point,
1,024 numbers a face (``sunglasses.region_features``).

What it is fitted on: LFW beyond its first 1,600 images (those stay the
false-alarm set of ``benchmarks.selfie_checks``, as for ``occlusion-v1``),
``BARE`` of them chosen by a seeded draw as they are (no LFW photo shows a
face mask) and ``DRAWN`` others with a face mask drawn along the face mesh
(``occluders.draw_mask_varied``: three shapes, plain and near-skin colours,
stripes, dots, checks, flowers and printed photographs, some below the nose
tip), each detected again as the service would. Classes weighted alike; a
logistic regression with an L2 penalty of ``PENALTY`` per unit of sample
weight (``tools.fitting.fit``) over the numbers standardised on the fitting
set. No real mask photo is used: ``attributes/mask`` stays an evaluation set.

Faces whose mouth lies mostly outside the image (more than
``OcclusionLimits.mask_mouth_max_outside`` of the chip read around it,
``occlusion.mouth_outside``) are left out of the fit and of the thresholds,
as the service does not read the model on them: the chip is black there.

The threshold is the strictest of three real sources, each at
``MAX_FALSE_ALARM`` with at least one face allowed above it (``AT_LEAST``: a
source of fewer than 200 faces cannot measure 0.5 %, and one face would set
its threshold alone):

- LFW, scored out of fold (five folds by a CRC32 of the person's name, drawn
  copies with their person);
- ``asian/casia_v5`` and ``asian/p101jp_s2``, every image taken as without a
  mask and scored by the model fitted on all of the fitting set.

The features are cached in ``/tmp/fit-mask-mouth.npz``. ``--write`` rewrites
the artefact and prints the sha256 to pin in ``facematch.artifacts.PACKAGED``.
"""

from __future__ import annotations

import datetime
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from facematch.artifacts.logistic import Logistic
from facematch.artifacts.sunglasses import MaskMouthModel, region_features
from tools.fit_sunglasses_eyes import images
from tools.fitting import TERMS, fit_standardised, threshold, tool_parser, write_artefact

ROOT = Path(__file__).resolve().parents[1]
ARTEFACT = ROOT / "src" / "facematch" / "data" / "mask-mouth-v1.json"
CACHE = Path("/tmp/fit-mask-mouth.npz")
CHIP = 112
#: ArcFace's template at 112 px: the nose tip, and the mouth centre (the mean of its two mouth corners).
POINTS = ((56.0252, 71.7366), (56.1396, 92.2848))
REACH = 8.0
PENALTY = 0.1
MAX_FALSE_ALARM = 0.005
AT_LEAST = 1
FOLDS = 5
#: LFW images beyond ``HELD`` taken as they are, and others with a drawn mask (seeded draw).
HELD, BARE, DRAWN = 1600, 3000, 1000
SEED = 7
TAP_SHAPE = (512, 14, 14)


def template() -> MaskMouthModel:
    """An unfitted model of the artefact's reading (its points and chip box) for ``mouth_outside``."""
    n = len(POINTS) * TAP_SHAPE[0]
    blank = Logistic.from_doc({"mean": [0.0] * n, "scale": [1.0] * n, "weights": [0.0] * n, "bias": 0.0,
                               "threshold": 0.0}, "template", n)
    return MaskMouthModel("template", "sface-2021dec", "conv_10_relu", TAP_SHAPE, CHIP, POINTS, REACH, blank, {})


def mouth_vector(job: tuple[str, str]) -> tuple[list[float], float] | None:
    """(the 1,024 numbers, the share of the mouth's chip outside the image) of the subject's face in the image
    at ``job[0]``, after drawing a mask over it with the seed ``job[1]`` (``""``: none); None without a face."""
    from facematch.checks.occlusion import mouth_outside
    from facematch.models.alignment import alignment_points
    from facematch.models.facemesh import Mesh
    from facematch.models.protocols import TappedEmbedder
    from facematch.types import ImageKind
    from tools.local import matcher
    from tools.synth import occluders

    path, seed = job
    m = matcher()
    try:
        rgb = m.decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    except Exception:  # noqa: BLE001 - an unreadable image is left out, as the service refuses it
        return None
    model = template()
    with m.pool.bundle() as b:
        found = b.detector.detect(rgb)
        if not found or not isinstance(found[0].mesh, Mesh) or not isinstance(b.embedder, TappedEmbedder):
            return None
        if seed:
            rgb = occluders.draw_mask_varied(rgb, found[0].mesh.points, int(seed))
            found = b.detector.detect(rgb)
            if not found or not isinstance(found[0].mesh, Mesh):
                return None
        mesh = found[0].mesh.points
        landmarks = b.landmarker(rgb, found[0].box)
        chip = b.embedder.align(rgb, alignment_points(b.embedder.points, landmarks, mesh))
        _, taps = b.embedder.embed_tapped(chip)
    x = region_features(taps[model.tap][0], POINTS, REACH, CHIP)  # the chip's own run (views: own, mirrored)
    return x.tolist(), mouth_outside(mesh, rgb.shape, model)


def jobs(data: Path) -> list[tuple[str, str]]:
    """(path, drawing seed) of every image read: ``BARE`` + ``DRAWN`` seeded LFW images beyond ``HELD``,
    then every CASIA and P101 image."""
    lfw = images(data / "lfw" / "images")[HELD:]
    pick = np.random.default_rng(SEED).choice(len(lfw), BARE + DRAWN, replace=False)
    out = [(str(lfw[i]), "") for i in pick[:BARE]]
    out += [(str(lfw[i]), str(SEED * 10000 + j)) for j, i in enumerate(pick[BARE:])]
    return out + [(str(p), "") for sub in ("asian/casia_v5", "asian/p101jp_s2") for p in images(data / sub)]


def vectors(data: Path, workers: int) -> dict[str, tuple[np.ndarray, float]]:
    """``{path relative to data (#seed): (numbers, share of the mouth outside)}`` of ``jobs`` (cached)."""
    todo = jobs(data)
    keys = [str(Path(p).relative_to(data)) + (f"#{s}" if s else "") for p, s in todo]
    known: dict[str, np.ndarray] = {}
    if CACHE.exists():
        cached = np.load(CACHE)
        known = dict(zip(cached["keys"].tolist(), cached["x"], strict=True))
    missing = [(j, k) for j, k in zip(todo, keys, strict=True) if k not in known]
    dim = len(POINTS) * TAP_SHAPE[0] + 1
    with ProcessPoolExecutor(workers) as pool:
        for (_, k), row in zip(missing, pool.map(mouth_vector, [j for j, _ in missing], chunksize=16),
                               strict=True):
            known[k] = np.full(dim, np.nan, np.float32) if row is None else np.asarray(row[0] + [row[1]], np.float32)
    np.savez(CACHE, keys=np.array(keys), x=np.stack([known[k] for k in keys]))
    return {k: (known[k][:-1], float(known[k][-1])) for k in keys if np.isfinite(known[k]).all()}


def train(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) on standardised ``x``, the two classes weighed alike."""
    return fit_standardised(x, y, PENALTY)


def main(argv: list[str] | None = None) -> int:
    from facematch.checks.occlusion import OcclusionLimits

    ap = tool_parser(__doc__, ARTEFACT, ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    if not (args.data / "lfw" / "images").is_dir():
        print(f"no LFW under {args.data}: nothing fitted")
        return 0
    vec = vectors(args.data, args.workers)
    cut = OcclusionLimits().mask_mouth_max_outside
    read = {k: v for k, (v, outside) in vec.items() if outside <= cut}
    left = {src: sum(1 for k, (_, o) in vec.items() if k.startswith(src) and o > cut)
            for src in ("lfw/", "asian/casia_v5/", "asian/p101jp_s2/")}
    lfw = [k for k in read if k.startswith("lfw/")]
    x = np.stack([read[k] for k in lfw]).astype(np.float64)
    y = np.array([float("#" in k) for k in lfw])
    fold = np.array([zlib.crc32(Path(k.split("#")[0]).parent.name.encode()) % FOLDS for k in lfw])
    oof = np.zeros(len(y))
    for f in range(FOLDS):
        mean, scale, w, b = train(x[fold != f], y[fold != f])
        oof[fold == f] = ((x[fold == f] - mean) / scale) @ w + b
    mean, scale, w, b = train(x, y)
    limits = {"lfw_out_of_fold": threshold(oof[y == 0], MAX_FALSE_ALARM, at_least=AT_LEAST)}
    counts = {"lfw_out_of_fold": int((y == 0).sum())}
    for name, prefix in (("casia_v5", "asian/casia_v5/"), ("p101jp_s2", "asian/p101jp_s2/")):
        xs = np.stack([read[k] for k in read if k.startswith(prefix)]).astype(np.float64)
        limits[name] = threshold(((xs - mean) / scale) @ w + b, MAX_FALSE_ALARM, at_least=AT_LEAST)
        counts[name] = len(xs)
    limit = max(limits.values())
    pos, neg = oof[y == 1], oof[y == 0]
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    print(f"LFW {len(neg)} faces + {len(pos)} with drawn masks, out of fold: AUC {auc:.4f}, at the threshold "
          f"{limit:.3f}: {int((pos > limit).sum())}/{len(pos)} drawn masks found, {int((neg > limit).sum())}/"
          f"{len(neg)} false alarms; per-source thresholds "
          + ", ".join(f"{k} {v:.3f} ({counts[k]} faces)" for k, v in limits.items())
          + "; left out, mouth outside the image: " + ", ".join(f"{k} {v}" for k, v in left.items()))
    doc = {
        "schema": "facematch-mask-mouth/1", "version": "v1", "embedder": "sface-2021dec", "tap": "conv_10_relu",
        "tap_shape": list(TAP_SHAPE), "chip": CHIP, "points": [list(p) for p in POINTS], "reach": REACH,
        "mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b, "threshold": limit,
        "provenance": {
            "fitted_on": f"LFW beyond its first {HELD} images: {len(neg)} faces as they are and {len(pos)} others "
                         f"with a drawn face mask (tools/synth/occluders.py: draw_mask_varied, seeds from "
                         f"{SEED * 10000}); faces whose mouth lies mostly outside the image left out",
            "threshold": f"the strictest of {MAX_FALSE_ALARM:.1%} false alarms, at least {AT_LEAST} face "
                         "allowed above, on LFW out of fold (5 folds by person), asian/casia_v5 and "
                         "asian/p101jp_s2 (every image taken as without a mask)",
            "out_of_fold": {"auc": round(auc, 5), "drawn_masks_found": int((pos > limit).sum()),
                            "drawn_masks": len(pos), "false_alarms": int((neg > limit).sum()), "without": len(neg)},
            "per_source_thresholds": limits,
            "per_source_faces": counts,
            "left_out_mouth_outside": left,
            "method": f"class-balanced logistic regression, L2 {PENALTY} per unit of sample weight "
                      "(tools/fitting.py: fit), over SFace's conv_10_relu averaged at the nose tip and the "
                      "mouth centre",
            "command": "nice -n 10 .venv/bin/python -m tools.fit_mask_mouth --data ../shared/data --write",
            "date": datetime.date.today().isoformat(),
            "terms": TERMS}}
    if args.write:
        write_artefact(doc, ARTEFACT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
