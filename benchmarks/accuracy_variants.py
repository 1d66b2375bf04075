"""The accuracy experiments behind the embedder's settings (docs/accuracy.md):
on LFW's 10-fold pairs, the same detections embedded six ways (as is, on a
reflect-padded image, with landmarks averaged over jittered boxes; each with
and without the mirrored chip), scored three ways (raw, mirror-averaged,
mirror-averaged unit vectors).

    .venv/bin/python benchmarks/accuracy_variants.py --lfw ../shared/data/lfw [--out benchmarks/results/accuracy_variants.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import dlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

from facematch.eval import metrics  # noqa: E402

_B = None
VARIANTS = ("base", "pad", "lmavg")


def _init() -> None:
    global _B
    from facematch.models.bundle import ModelBundle

    _B = ModelBundle.load()


def _emb(chip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vecs = _B.embedder.raw(np.stack([chip, chip[:, ::-1]]))
    return vecs[0], vecs[1]


def _one(path: str) -> dict | None:
    from facematch.imaging.decode import decode_image

    rgb = decode_image(Path(path).read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)
    dets = _B.detector.detect(rgb)
    if not dets:
        return None
    box = dets[0].box
    out = {}
    out["base"] = _emb(_B.embedder.chip(rgb, _B.landmarks(rgb, box)))
    p = max(rgb.shape[:2]) // 2
    pad = cv2.copyMakeBorder(rgb, p, p, p, p, cv2.BORDER_REFLECT_101)
    pbox = (box[0] + p, box[1] + p, box[2] + p, box[3] + p)
    shape = _B.landmarks(pad, pbox)
    out["pad"] = _emb(_B.embedder.chip(pad, shape))
    w = box[2] - box[0]
    pts = []
    for s, dx, dy in [(1, 0, 0), (0.93, 0, 0), (1.07, 0, 0), (1, 0.04, 0), (1, -0.04, 0), (1, 0, 0.04), (1, 0, -0.04)]:
        cx, cy, hw = (pbox[0] + pbox[2]) / 2 + dx * w, (pbox[1] + pbox[3]) / 2 + dy * w, w * s / 2
        pts.append([(q.x, q.y) for q in _B.landmarks(pad, (cx - hw, cy - hw, cx + hw, cy + hw)).parts()])
    mean = np.mean(pts, axis=0)
    avg = dlib.full_object_detection(shape.rect, [dlib.point(int(round(x)), int(round(y))) for x, y in mean])
    out["lmavg"] = _emb(_B.embedder.chip(pad, avg))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy_variants.json"))
    args = ap.parse_args()
    pairs = [l.split() for l in (args.lfw / "pairs_10fold.txt").read_text().splitlines() if l.strip()]
    paths = sorted({str(args.lfw / p) for l in pairs for p in l[:2]})
    with ProcessPoolExecutor(os.cpu_count(), initializer=_init) as ex:
        res = dict(zip(paths, ex.map(_one, paths, chunksize=32)))
    a = [str(args.lfw / p[0]) for p in pairs]
    b = [str(args.lfw / p[1]) for p in pairs]
    y = np.array([p[2] == "1" for p in pairs])
    folds = np.array([int(p[3]) for p in pairs])
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    table = {}
    for var in VARIANTS:
        for how in ("raw", "mirror_mean", "mirror_unit"):
            def vec(path):
                r = res[path]
                if r is None:
                    return None
                e, f = r[var]
                return {"raw": e, "mirror_mean": (e + f) / 2, "mirror_unit": unit(unit(e) + unit(f))}[how]
            d = np.array([np.inf if vec(x) is None or vec(z) is None else np.linalg.norm(vec(x) - vec(z))
                          for x, z in zip(a, b)])
            s = metrics.summary(-d, y, folds, sum(r is None for r in res.values()), len(paths))
            table[f"{var}+{how}"] = {k: round(v, 5) for k, v in s.items() if isinstance(v, float)}
            print(f"{var}+{how:12s} acc {100 * s['accuracy_10fold']:.2f}  TAR@1e-2 {100 * s['tar_at_far_1e-2']:.2f}  "
                  f"TAR@1e-3 {100 * s['tar_at_far_1e-3']:.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": describe(), "command": "python " + " ".join(sys.argv),
                                    "results": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
