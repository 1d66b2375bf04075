"""The noise check (finding 10 ``noise``) on genuine faces saved again as JPEG, as messaging apps and web
uploads save them, and on the same faces with Gaussian noise added: the estimator over the flatter half
of the face (``checks/quality.py: noise_sigma``, since 2026-12-07) against Immerkaer's over every pixel
(before), each at its own limit.

    .venv/bin/python -m benchmarks.noise --data ../shared/data

Faces: ``attributes/clean_face`` (218 Caltech photos, faces of 150-300 px: the chip is taken at about
their own scale, so a JPEG's blocks reach it; the limit's set, so **in-sample**). Each image as given
(re-saved at JPEG quality 95), at quality 70 and 50, and with Gaussian noise of sigma 10 and 20 added
before quality 95 and 70. The chip is dlib's 150 px one the check reads, from the pipeline's own detector
and landmarks. Writes ``benchmarks/results/noise.json``.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from benchmarks import machine
from facematch.checks.quality import NOISE_KERNEL, QualityLimits, _centre, noise_sigma
from facematch.matcher import build_matcher
from facematch.models.alignment import dlib150
from facematch.settings import Settings

#: The check before 2026-12-07: Immerkaer's estimate over every pixel of the centre, limit 6.
BEFORE_LIMIT = 6.0
VARIANTS = ("q95", "q70", "q50", "noise 10, q95", "noise 20, q95", "noise 10, q70", "noise 20, q70")


def immerkaer_all(chip: np.ndarray) -> float:
    residual = cv2.filter2D(_centre(chip), -1, NOISE_KERNEL)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) / 6 * np.abs(residual).mean())


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def variants(rgb: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    def noisy(sigma: float) -> np.ndarray:
        return np.clip(rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape), 0, 255).astype(np.uint8)

    n10, n20 = noisy(10), noisy(20)
    return {"q95": jpeg(rgb, 95), "q70": jpeg(rgb, 70), "q50": jpeg(rgb, 50), "noise 10, q95": jpeg(n10, 95),
            "noise 20, q95": jpeg(n20, 95), "noise 10, q70": jpeg(n10, 70), "noise 20, q70": jpeg(n20, 70)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/noise.json")
    args = ap.parse_args()
    root = args.data / "attributes/clean_face"
    if not root.exists():
        print(f"{root} not found: this benchmark needs ../shared/data")
        return 0
    m = build_matcher(Settings(), pool_size=1, parallel=False)
    rng = np.random.default_rng(0)
    values: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        with m.pool.bundle() as bundle:
            found = bundle.detector.detect(rgb)
            if not found:
                continue
            points = bundle.landmarker(rgb, found[0].box)
        for name, image in variants(rgb, rng).items():
            chip = dlib150(image, points)
            values[name].append((immerkaer_all(chip), noise_sigma(chip)))
    m.close()
    after_limit = QualityLimits().max_noise
    result: dict[str, Any] = {"machine": machine.describe(), "command": "python " + " ".join(sys.argv),
                              "limits": {"before": BEFORE_LIMIT, "after": after_limit}, "faces": {}}
    for name, v in values.items():
        a = np.array(v)
        result["faces"][name] = {
            "faces": len(a),
            "flagged_before": int((a[:, 0] > BEFORE_LIMIT).sum()), "flagged_after": int((a[:, 1] > after_limit).sum()),
            "before_range": [round(float(a[:, 0].min()), 2), round(float(a[:, 0].max()), 2)],
            "after_range": [round(float(a[:, 1].min()), 2), round(float(a[:, 1].max()), 2)]}
        print(f"{name:14s}", result["faces"][name], flush=True)
    machine.write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
