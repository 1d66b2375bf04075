"""Fit the sunglasses model (``src/facematch/data/sunglasses-v1.json``, code 7).

    nice -n 10 .venv/bin/python -m tools.fit_sunglasses_eyes --data ../shared/data [--write] [--workers 2]

What it reads: SFace's own activations around the eyes. Every image goes
through the service's detector, landmarks and SFace's alignment; SFace embeds
the chip and returns its inner tensor ``sface.EYE_TAP`` from the same run
(``OnnxFaceEmbedder.embed_tapped``). Each of its 512 channels is averaged over
the cells within ``REACH`` chip pixels of each eye centre of ArcFace's template
(``occlusion.eye_features``): 1,024 numbers a face.

What it is fitted on: every LFW image but the tinted ones, labelled by
``benchmarks/labels/lfw_sunglasses.txt`` (73 faces whose eyes sunglasses hide;
every image not listed has none). The model is a class-balanced logistic
regression with an L2 penalty of ``PENALTY`` per unit of sample weight
(``tools.fitting.fit``), over the numbers standardised on LFW.

The threshold is the strictest of three sources, each at ``MAX_FALSE_ALARM``:

- LFW, scored out of fold (five folds by a CRC32 of the person's name, so no
  person is scored by a model fitted on their photos);
- ``asian/casia_v5`` and ``asian/p101jp_s2``, every image taken as without
  sunglasses and scored by the model fitted on all of LFW.

The features are cached in ``/tmp/fit-sunglasses-eyes.npz``. ``--write``
rewrites the artefact and prints the sha256 to pin in
``facematch.artifacts.PACKAGED``.
"""

from __future__ import annotations

import argparse
import datetime
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tools.fitting import fit, threshold, write_artefact
from tools.labels import read_labels

ROOT = Path(__file__).resolve().parents[1]
ARTEFACT = ROOT / "src" / "facematch" / "data" / "sunglasses-v1.json"
LABELS = ROOT / "benchmarks" / "labels" / "lfw_sunglasses.txt"
CACHE = Path("/tmp/fit-sunglasses-eyes.npz")
CHIP = 112
#: Chip pixels around each eye centre over which a channel is averaged (one 8-px cell each way).
REACH = 8.0
PENALTY = 0.1
MAX_FALSE_ALARM = 0.005
FOLDS = 5
EXTS = {".jpg", ".jpeg", ".png", ".gif", ".bmp"}


def template_eyes() -> tuple[tuple[float, float], tuple[float, float]]:
    """The eye centres of ArcFace's template at ``CHIP`` px, the image's left eye first."""
    from facematch.models.alignment import ARCFACE112

    (ax, ay), (bx, by) = (ARCFACE112[:2] * CHIP / 112).tolist()
    return (ax, ay), (bx, by)


def eye_vector(path: str) -> list[float] | None:
    """The 1,024 eye numbers of the subject's face in ``path``, as the service computes them; None without
    a face."""
    from facematch.checks.occlusion import eye_features
    from facematch.models.alignment import alignment_points
    from facematch.models.facemesh import Mesh
    from facematch.models.protocols import TappedEmbedder
    from facematch.models.sface import EYE_TAP
    from facematch.types import ImageKind
    from tools.local import matcher

    m = matcher()
    try:
        rgb = m.decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    except Exception:  # noqa: BLE001 - an unreadable image is left out, as the service refuses it
        return None
    with m.pool.bundle() as b:
        found = b.detector.detect(rgb)
        if not found or not isinstance(b.embedder, TappedEmbedder):
            return None
        points = b.landmarker(rgb, found[0].box)
        mesh = found[0].mesh.points if isinstance(found[0].mesh, Mesh) else None
        chip = b.embedder.align(rgb, alignment_points(b.embedder.points, points, mesh))
        _, taps = b.embedder.embed_tapped(chip)
    return eye_features(taps[EYE_TAP], template_eyes(), REACH, CHIP).tolist()


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTS)


def vectors(data: Path, workers: int) -> dict[str, np.ndarray]:
    """``{path relative to data: eye numbers}`` for LFW, CASIA and P101 (cached)."""
    paths = [p for sub in ("lfw/images", "asian/casia_v5", "asian/p101jp_s2") for p in images(data / sub)]
    keys = [str(p.relative_to(data)) for p in paths]
    if CACHE.exists():
        cached = np.load(CACHE)
        if list(cached["keys"]) == keys:
            return {k: v for k, v in zip(keys, cached["x"], strict=True) if np.isfinite(v).all()}
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(eye_vector, [str(p) for p in paths], chunksize=16))
    dim = len(next(r for r in rows if r is not None))
    x = np.array([r if r is not None else [np.nan] * dim for r in rows], np.float32)
    np.savez(CACHE, keys=np.array(keys), x=x)
    return {k: v for k, v in zip(keys, x, strict=True) if np.isfinite(v).all()}


def train(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) on standardised ``x``."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights, bias = fit((x - mean) / scale, y, PENALTY * len(y))
    return mean, scale, weights, bias


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write", action="store_true", help=f"write {ARTEFACT.name}")
    args = ap.parse_args(argv)
    if not (args.data / "lfw" / "images").is_dir():
        print(f"no LFW under {args.data}: nothing fitted")
        return 0
    vec = vectors(args.data, args.workers)
    labels = read_labels(LABELS)
    lfw = [k for k in vec if k.startswith("lfw/") and labels.get(Path(k).name, 0) != -1]
    x = np.stack([vec[k] for k in lfw]).astype(np.float64)
    y = np.array([float(labels.get(Path(k).name, 0) == 1) for k in lfw])
    fold = np.array([zlib.crc32(Path(k).parent.name.encode()) % FOLDS for k in lfw])
    oof = np.zeros(len(y))
    for f in range(FOLDS):
        mean, scale, w, b = train(x[fold != f], y[fold != f])
        oof[fold == f] = ((x[fold == f] - mean) / scale) @ w + b
    mean, scale, w, b = train(x, y)
    limits = {"lfw_out_of_fold": threshold(oof[y == 0], MAX_FALSE_ALARM)}
    for name, prefix in (("casia_v5", "asian/casia_v5/"), ("p101jp_s2", "asian/p101jp_s2/")):
        xs = np.stack([vec[k] for k in vec if k.startswith(prefix)]).astype(np.float64)
        limits[name] = threshold(((xs - mean) / scale) @ w + b, MAX_FALSE_ALARM)
    limit = max(limits.values())
    pos, neg = oof[y == 1], oof[y == 0]
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    print(f"LFW {len(y)} faces ({int(y.sum())} with sunglasses), out of fold: AUC {auc:.4f}, "
          f"at the threshold {limit:.3f}: {int((pos > limit).sum())}/{len(pos)} found, "
          f"{int((neg > limit).sum())}/{len(neg)} false alarms; per-source thresholds "
          + ", ".join(f"{k} {v:.3f}" for k, v in limits.items()))
    eyes = template_eyes()
    doc = {
        "schema": "facematch-sunglasses/1", "version": "v1", "embedder": "sface-2021dec", "tap": "conv_10_relu",
        "tap_shape": [512, 14, 14], "chip": CHIP, "eyes": [list(eyes[0]), list(eyes[1])], "reach": REACH,
        "mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b, "threshold": limit,
        "provenance": {
            "fitted_on": f"LFW, every image but the tinted ones ({len(y)} faces, {int(y.sum())} with sunglasses: "
                         "benchmarks/labels/lfw_sunglasses.txt)",
            "threshold": f"the strictest of {MAX_FALSE_ALARM:.1%} false alarms on LFW out of fold (5 folds by "
                         "person), asian/casia_v5 and asian/p101jp_s2 (every image taken as without sunglasses)",
            "out_of_fold": {"auc": round(auc, 5), "found": int((pos > limit).sum()), "with_sunglasses": len(pos),
                            "false_alarms": int((neg > limit).sum()), "without": len(neg)},
            "per_source_thresholds": limits,
            "method": f"class-balanced logistic regression, L2 {PENALTY} per unit of sample weight "
                      "(tools/fitting.py: fit), over SFace's conv_10_relu averaged around each eye",
            "command": "nice -n 10 .venv/bin/python -m tools.fit_sunglasses_eyes --data ../shared/data --write",
            "date": datetime.date.today().isoformat(),
            "terms": "fitted weights only; no image or image-derived data of any person ships"}}
    if args.write:
        write_artefact(doc, ARTEFACT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
