"""How the false-accept rate at the thresholds moves with face size and blur.

Every CASIA-FaceV5 photo (../shared/data/asian/casia_v5) is downscaled so
that its eye distance becomes the size of a card's printed portrait (12-30 px
between the eye centres; a card portrait 40-120 px between the ears has
15-45 px), optionally blurred (Gaussian, sigma in the downscaled pixels), and
embedded as a card through the Matcher; it is then paired with every
full-size photo (card vs live). The network is the configured one
(``FACEMATCH_MODELS__EMBEDDER``, SFace by default). The thresholds are those
of its calibration's rule ("tail", at the targets of benchmarks/networks.py)
fitted on the other CASIA identity folds (identity-disjoint: 5 folds, seed 0),
and those of its shipped calibration (fitted with these people among others:
in-sample). The eye
distance is measured as ``checks/geometry.py: eye_distance`` measures it on
the degraded image, the sharpness as ``checks/quality.py: sharpness`` on the
aligned chip.

    .venv/bin/python -m benchmarks.face_size --data ../shared/data --cards /tmp
    FACEMATCH_MODELS__EMBEDDER=dlib-resnet-v1 .venv/bin/python -m benchmarks.face_size --data ../shared/data \
        --cards /tmp --out benchmarks/results/face_size_dlib.json

Writes benchmarks/results/face_size.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks import machine, networks
from facematch import artifacts
from facematch.artifacts.calibration import Calibration
from facematch.checks.geometry import eye_distance
from facematch.checks.quality import sharpness
from facematch.fit import population as pop
from facematch.models.alignment import dlib150
from facematch.scoring import default_calibration
from facematch.settings import Settings
from facematch.types import ImageKind
from tools.devsets import images_under

EYES = (0, 30, 25, 20, 17, 15, 12)  # 0: full size (no downscale)
BLURS = (0.0, 1.0, 2.0)


def degrade(rgb: np.ndarray, e0: float, eyes: float, blur: float) -> np.ndarray:
    out = rgb
    if eyes and eyes < e0:
        f = eyes / e0
        out = cv2.resize(rgb, (max(8, round(rgb.shape[1] * f)), max(8, round(rgb.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    return out


def measure(root: Path, cache: Path) -> dict[str, Any]:
    from tools.local import matcher

    m = matcher()
    f = cache / f"face_size-{m.pool.embedder.name}.npz"
    if f.exists():
        z = np.load(f, allow_pickle=True)
        return {k: z[k] for k in z.files}
    rels = images_under(root)
    rows: dict[str, list[Any]] = {"path": [], "eyes": [], "blur": [], "emb": [], "eye_px": [], "sharp": []}
    t0 = time.time()
    for r in rels:
        bgr = cv2.imread(str(root / r))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        full = m.analyze_image(rgb, ImageKind.PORTRAIT, checks=False).face
        if full is None:
            continue
        e0 = eye_distance(full.landmarks)
        for eyes in EYES:
            for blur in BLURS:
                img = degrade(rgb, e0, eyes, blur)
                face = m.analyze_image(img, ImageKind.CARD, checks=False).face
                emb, ep, sh = np.full(m.pool.embedder.dim, np.nan), np.nan, np.nan
                if face is not None:
                    emb, ep = face.embedding, eye_distance(face.landmarks)
                    sh = sharpness(dlib150(img, face.landmarks))  # the chip the blur check sees
                for k, v in (("path", r), ("eyes", eyes), ("blur", blur), ("emb", emb), ("eye_px", ep),
                             ("sharp", sh)):
                    rows[k].append(v)
    out = {k: np.array(v) for k, v in rows.items()}
    np.savez(f, **out)
    print(f"embedded {len(out['path'])} degraded images in {time.time() - t0:.0f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--cards", type=Path, required=True,
                    help="folder with cards-casia_v5/ (make_card_set.py --asian; for the folds' thresholds)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/facematch-networks"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/face_size.json")
    args = ap.parse_args()
    root = args.data / "asian/casia_v5"
    if not root.exists():
        sys.exit(f"{root} not found: this benchmark needs ../shared/data")
    t0 = time.time()
    deg = measure(root, args.cache)
    network = Settings().models.embedder
    asian = networks.source_samples(args, network, "casia_v5")
    folds = pop.held_out(asian, k=5, seed=0, targets=networks.TARGETS)["per_fold"]
    cal = artifacts.load(Calibration, version=default_calibration(network))
    shipped = [[d, p] for d, p in zip(cal.distances, cal.percents, strict=True)]
    photos = asian.select(asian.identities())
    photo_idx = [i for i, k in enumerate(photos.kind) if k == pop.PHOTO]
    P = photos.vectors[photo_idx]
    p_id = np.array([photos.identity[i] for i in photo_idx])
    p_src = np.array([photos.source[i] for i in photo_idx])
    d_ident = np.array([pop.identity_of(str(p)) for p in deg["path"]])
    d_src = np.array([str(p) for p in deg["path"]])
    fold_of = {p: f["fold"] for f in folds for p in f["identities"]}
    thr = {f["fold"]: (f["d75"], f["d65"]) for f in folds}
    # Every degraded image against every full-size photo of a different source.
    dist = np.linalg.norm(deg["emb"][:, None, :] - P[None, :, :], axis=2)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    same = d_ident[:, None] == p_id[None, :]
    other_src = d_src[:, None] != p_src[None, :]
    fa = np.array([fold_of[str(a)] for a in d_ident])
    fb = np.array([fold_of[str(b)] for b in p_id])
    same_fold = fa[:, None] == fb[None, :]
    d75 = np.array([thr[f][0] for f in fa])[:, None]
    d65 = np.array([thr[f][1] for f in fa])[:, None]
    s75, s65 = shipped[1][0], shipped[2][0]

    def cell(rows: np.ndarray) -> dict[str, Any]:
        imp = (~same) & same_fold & rows[:, None]
        gen = same & other_src & rows[:, None]
        imp_all = (~same) & rows[:, None]
        gen_all = same & other_src & rows[:, None]
        n_rows = int(rows.sum())
        return {
            "images": n_rows,
            "no_face": int(np.sum(np.isnan(deg["eye_px"][rows]))),
            "eye_px_median": float(np.nanmedian(deg["eye_px"][rows])) if n_rows else None,
            "sharpness_median": float(np.nanmedian(deg["sharp"][rows])) if n_rows else None,
            "held_out": {
                "far_at_75": pop.rate(int(np.sum(imp & (dist < d75))), int(imp.sum())),
                "far_at_65": pop.rate(int(np.sum(imp & (dist <= d65))), int(imp.sum())),
                "tar_at_75": float(np.sum(gen & same_fold & (dist < d75)) / max(1, np.sum(gen & same_fold))),
                "tar_at_65": float(np.sum(gen & same_fold & (dist <= d65)) / max(1, np.sum(gen & same_fold))),
            },
            "shipped_in_sample": {
                "far_at_75": pop.rate(int(np.sum(imp_all & (dist < s75))), int(imp_all.sum())),
                "far_at_65": pop.rate(int(np.sum(imp_all & (dist <= s65))), int(imp_all.sum())),
                "tar_at_75": float(np.sum(gen_all & (dist < s75)) / max(1, gen_all.sum())),
                "tar_at_65": float(np.sum(gen_all & (dist <= s65)) / max(1, gen_all.sum())),
            },
        }

    conditions = [{"eye_target_px": int(e) or "full", "blur_sigma": float(b),
                   **cell((deg["eyes"] == e) & (deg["blur"] == b))} for e in EYES for b in BLURS]
    eye = deg["eye_px"]
    sharp = deg["sharp"]
    eye_bins = [(0, 12), (12, 14), (14, 16), (16, 18), (18, 20), (20, 22), (22, 25), (25, 30), (30, 1e9)]
    by_eye = [{"eye_px": [lo, hi if hi < 1e9 else None], **cell((eye >= lo) & (eye < hi))} for lo, hi in eye_bins]
    sh_bins = [(0, 0.1), (0.1, 0.15), (0.15, 0.2), (0.2, 0.25), (0.25, 0.3), (0.3, 0.4), (0.4, 1.0)]
    by_sharp = [{"sharpness": [lo, hi], **cell((sharp >= lo) & (sharp < hi))} for lo, hi in sh_bins]
    by_both = [{"eye_px_at_least": e, "sharpness_at_least": s, **cell((eye >= e) & (sharp >= s))}
               for e in (0, 14, 16, 18, 20) for s in (0.0, 0.1, 0.15, 0.2)]
    result = {"date": dt.date.today().isoformat(), "command": "python " + " ".join(sys.argv),
              "machine": machine.describe(), "wall_s": round(time.time() - t0),
              "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
              "network": network, "calibration": cal.version,
              "thresholds": {"held_out_folds": thr, "shipped": [s75, s65]},
              "conditions": conditions, "by_eye_distance": by_eye, "by_sharpness": by_sharp,
              "by_eye_and_sharpness_floor": by_both}
    machine.write_result(args.out, result, indent=1)
    print(f"wrote {args.out}")
    for c in conditions:
        h = c["held_out"]
        print(c["eye_target_px"], c["blur_sigma"], c["eye_px_median"], c["sharpness_median"], c["no_face"],
              h["far_at_75"]["k"], h["far_at_75"]["n"], h["far_at_65"]["k"], round(h["tar_at_75"], 3))


if __name__ == "__main__":
    main()
