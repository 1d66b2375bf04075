"""Pick the blur check's limit (``QualityLimits.min_sharpness``) by its false-alarm budget.

    nice -n 10 .venv/bin/python -m tools.pick_blur_limit [--data ../shared/data]

``blur`` is invalidCode 10, the code of a presentation attack, so a genuine photo it flags is told "taken
from a picture or a screen, blurred, or a sign of fraud". Its limit gets the attack model's false-alarm
budgets (``facematch.fit.pad``: ``TRAIN_LFW_FA``, ``TRAIN_WEBCAM_FA``) on the same bona fide halves its
limit is picked on: the highest limit that flags at most 1 % of LFW's ``fit`` half of the people and
5 % of CASIA-FaceV5's ``fit`` half saved as JPEG at 40, 60 and 80 (East-Asian webcam photos as a
client's app sends them), rounded down to three decimals. The sharpness is the pipeline's own
(``Matcher.analyze`` as a portrait, the check's value), on the faces the check judges (not below the
size limit of 11, not flagged by the attack model). No presentation-attack set is read: the replays and
prints stay out of sample for this limit.

It also reads the check's design target, every ``attributes/clean_face`` photo blurred by a Gaussian of
3 % of the face's width (``checks/quality.py``), and says how many of those the limit still flags.
Writes ``benchmarks/results/blur_limit.json``.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks import machine
from facematch.checks.quality import QualityLimits
from facematch.fit.pad import TRAIN_LFW_FA, TRAIN_WEBCAM_FA
from facematch.matcher import Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tools import pad_data

OUT = pad_data.ROOT / "benchmarks" / "results" / "blur_limit.json"


def sharpness_of(matcher: Matcher, rgb: np.ndarray) -> float | None:
    """The blur check's value on ``rgb`` analysed as a portrait, or None where the check does not judge
    the face (no face, a face below the size limit, a face the attack model flags)."""
    a = matcher.analyze_image(rgb, ImageKind.PORTRAIT, "img2")
    return next((f.value for f in a.findings if f.check == "blur" and f.value is not None), None)


def judging_every_face() -> Matcher:
    """The service's matcher with the shipped settings but a blur limit no face reaches, so that every face
    the check judges reports its sharpness (``sharpness_of``)."""
    matcher = build_matcher(Settings(), pool_size=1, parallel=False)
    matcher.checks = replace(matcher.checks, quality=replace(matcher.checks.quality, min_sharpness=math.inf))
    return matcher


def design_blurred(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), 0.03 * (box[2] - box[0]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=pad_data.ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not (args.data / "lfw").exists():
        print(f"{args.data} has no lfw/: this tool needs ../shared/data")
        return 0
    matcher = judging_every_face()
    sets = pad_data.sets(args.data)
    budgets = {"lfw_fit": TRAIN_LFW_FA, "casia_fit_jpeg": TRAIN_WEBCAM_FA}
    items = {"lfw_fit": sets["lfw_fit"],
             "casia_fit_jpeg": pad_data.recompressed_twins(sets["casia_fit"], (40, 60, 80))}
    result: dict[str, Any] = {"budgets": budgets, "sets": {}}
    quantiles = []
    for name, its in items.items():
        values = [v for v in (sharpness_of(matcher, pad_data.image(it)) for it in its) if v is not None]
        q = float(np.quantile(values, budgets[name]))
        quantiles.append(q)
        result["sets"][name] = {"images": len(its), "judged": len(values), "quantile": round(q, 4),
                                "below_0.2": sum(v < 0.2 for v in values)}
        print(f"{name}: {len(values)} of {len(its)} judged; {budgets[name]:.0%} quantile {q:.4f}", flush=True)
    limit = math.floor(min(quantiles) * 1000) / 1000
    result["limit"] = limit
    blurred = []
    for it in sets["clean_face"]:
        rgb = pad_data.image(it)
        face = matcher.analyze_image(rgb, ImageKind.PORTRAIT, "img2", checks=False).face
        if face is not None:
            value = sharpness_of(matcher, design_blurred(rgb, face.box))
            if value is not None:
                blurred.append(value)
    result["design_target"] = {"judged": len(blurred), "max": round(max(blurred), 4),
                               "flagged": sum(v < limit for v in blurred)}
    matcher.close()
    print(f"limit {limit} (shipped {QualityLimits().min_sharpness}); clean_face blurred by 3 % of the face's "
          f"width: {result['design_target']['flagged']} of {len(blurred)} flagged, the sharpest {max(blurred):.4f}")
    machine.write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
