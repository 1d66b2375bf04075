"""Fit the hat limits for close-ups that cut the head (``OcclusionLimits.hat_cut_min_score_*``) and for
turned heads (``hat_turned_min_score``), and report what the whole rule does on the people the hat model
was not fitted on.

    .venv/bin/python -m tools.fit_hat_cut [--data ../shared/data] [--workers 2] [--turned | --report]

A selfie cut across above the eyes leaves ``HEAD_TOP`` partly outside the
image; the face view then shows the border replicated, which the hat model
was not fitted on and which can look like a smooth cap. Each band of the
fraction cut off (``occlusion.HAT_CUT_BANDS``: more than ``hat_max_outside``
to 70 %, 70-90 %, over 90 %) gets its own limit: the 99th percentile, in that
band, of the scores of ``SAMPLE`` hatless LFW photos (``benchmarks/labels/lfw_hats.txt``)
of the people the hat model was fitted on (not ``tools.fit_hat.held_out``),
each sent through the whole pipeline as it is and cut across at ``FIT_CUTS``
eye distances (dlib's eye centres) above the eye line. It prints the three
limits to paste into ``OcclusionLimits`` (the limit for turned heads is kept out of the way there).

``--turned`` fits the limit for a head turned left or right by more than
``hat_max_yaw`` degrees (``occlusion.head_yaw``; the hair at the side and
back of the head then fills the window the model reads): the 99th
percentile of the scores of every hatless LFW photo of the fitting people,
as it is, whose head is turned that far and not cut by the frame. It prints
the limit to paste into ``OcclusionLimits``.

``--report`` sends every photo of the held-out LFW people and of
``attributes/clean_face`` as it is and cut at ``REPORT_CUTS`` (other cuts than
the fit's), with the shipped limits, and counts per cut: head coverings found
(labelled by eye), false alarms on the rest. Each mode writes
``benchmarks/results/hat_cut.json``. Reads the data in place.

The limits are fitted on, and read against, ``hat-v3``'s score: the activations at the top of the chip
(``hattop-v1``, ``tools/fit_hat_top.py``) are added only for heads neither cut nor turned, so they
leave the faces fitted on here as they were.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tools.fit_hat import held_out
from tools.labels import LABELS_DIR, read_labels

SAMPLE = 1500
FIT_CUTS = (1.3, 1.2, 1.1)
REPORT_CUTS = (1.3, 1.2, 1.15)
QUANTILE = 0.99
#: In the fit, every limit is set to a sentinel so that each face's score and band come back in its finding.
#: The limit for turned heads is kept out of the way (no head counts as turned): the cut limits were
#: fitted over heads turned any way.
SENTINELS = {"hat_min_score": -1e9, "hat_cut_min_score_70": -2e9, "hat_cut_min_score_90": -3e9,
             "hat_cut_min_score_100": -4e9, "hat_max_yaw": 1e9}
#: In the fit for turned heads: the limit that applies (the stricter one) tells a turned head not cut by
#: the frame (``hat_turned_min_score``'s sentinel) from one cut (a cut limit's) and from the rest.
TURNED_SENTINELS = {"hat_min_score": -1e9, "hat_cut_min_score_70": -2e8, "hat_cut_min_score_90": -3e8,
                    "hat_cut_min_score_100": -4e8, "hat_turned_min_score": -5e8}
BANDS = ("hat_min_score", "hat_cut_min_score_70", "hat_cut_min_score_90", "hat_cut_min_score_100")
OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "hat_cut.json"


def _hat(raw: bytes) -> tuple[float, float, Any] | None:
    """(score, limit) of the hat finding and the five landmarks; None without a face (score NaN when not judged)."""
    from facematch.types import ImageKind
    from tools.local import matcher

    a = matcher().analyze(raw, ImageKind.PORTRAIT, "img2")
    if a.face is None:
        return None
    hat = [f for f in a.findings if f.check == "hat"]
    score, limit = (float(hat[0].value), float(hat[0].limit)) if hat else (float("nan"), float("nan"))
    return score, limit, a.face.landmarks


def cut_above_eyes(raw: bytes, landmarks: np.ndarray, eye_distances: float) -> bytes | None:
    """The photo cut across ``eye_distances`` (dlib's eye centres) above the eye line, as PNG; None when that
    line lies above the photo."""
    left, right = landmarks[0:2].mean(0), landmarks[2:4].mean(0)
    top = int((left[1] + right[1]) / 2 - eye_distances * float(np.hypot(*(left - right))))
    if top <= 0:
        return None
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    buf = io.BytesIO()
    image.crop((0, top, image.width, image.height)).save(buf, "PNG")
    return buf.getvalue()


def job(args: tuple[str, tuple[float, ...]]) -> tuple[str, dict[str, list[float]]]:
    """A photo as it is and cut at each of ``cuts``: per variant [score, limit]."""
    path, cuts = args
    raw = Path(path).read_bytes()
    found = _hat(raw)
    if found is None:
        return path, {}
    out = {"as is": [found[0], found[1]]}
    for c in cuts:
        cut = cut_above_eyes(raw, found[2], c)
        seen = _hat(cut) if cut is not None else None
        if seen is not None:
            out[str(c)] = [seen[0], seen[1]]
    return path, out


def run(items: list[tuple[str, tuple[float, ...]]], workers: int, limits: dict[str, float] | None) -> dict[str, Any]:
    if limits is not None:
        os.environ["FACEMATCH_CHECK_LIMITS"] = json.dumps({f"occlusion.{k}": v for k, v in limits.items()})
    with ProcessPoolExecutor(workers) as pool:
        return dict(pool.map(job, items, chunksize=16))


def fit(data: Path, workers: int) -> dict[str, Any]:
    lfw = data / "lfw"
    held, hats = held_out(lfw), read_labels(LABELS_DIR / "lfw_hats.txt")
    paths = sorted(p for p in lfw.rglob("*.jpg")
                   if p.parent.name not in held and hats.get(str(p.relative_to(lfw)), 0) == 0)
    pick = np.random.default_rng(0).choice(len(paths), min(SAMPLE, len(paths)), replace=False)
    res = run([(str(paths[i]), FIT_CUTS) for i in sorted(pick)], workers, SENTINELS)
    band_of = {v: k for k, v in SENTINELS.items()}
    scores: dict[str, list[float]] = {b: [] for b in BANDS}
    for variants in res.values():
        for score, limit in variants.values():
            if not np.isnan(limit):
                scores[band_of[limit]].append(score)
    limits = {b: round(float(np.quantile(scores[b], QUANTILE)), 2) for b in BANDS[1:]}
    return {"photos": len(res), "cuts": FIT_CUTS, "quantile": QUANTILE,
            "faces_per_band": {b: len(v) for b, v in scores.items()},
            "false_alarms_at_the_model_threshold": {b: int(np.sum(np.asarray(v) > 0)) for b, v in scores.items()},
            "limits": limits}


def fit_turned(data: Path, workers: int) -> dict[str, Any]:
    from facematch.checks.occlusion import OcclusionLimits

    lfw = data / "lfw"
    held, hats = held_out(lfw), read_labels(LABELS_DIR / "lfw_hats.txt")
    paths = sorted(p for p in lfw.rglob("*.jpg")
                   if p.parent.name not in held and hats.get(str(p.relative_to(lfw)), 0) == 0)
    res = run([(str(p), ()) for p in paths], workers, TURNED_SENTINELS)
    seen = [v["as is"] for v in res.values() if "as is" in v]
    turned = [score for score, limit in seen if limit == TURNED_SENTINELS["hat_turned_min_score"]]
    limit = round(float(np.quantile(turned, QUANTILE)), 2)
    return {"photos": len(seen), "max_yaw": OcclusionLimits().hat_max_yaw, "quantile": QUANTILE,
            "turned_faces": len(turned), "false_alarms_at_the_model_threshold": int(np.sum(np.asarray(turned) > 0)),
            "false_alarms_at_the_model_threshold_not_turned": int(sum(
                1 for score, lim in seen if lim == TURNED_SENTINELS["hat_min_score"] and score > 0)),
            "faces_not_turned": sum(1 for _, lim in seen if lim == TURNED_SENTINELS["hat_min_score"]),
            "limit": {"hat_turned_min_score": limit}}


def report(data: Path, workers: int) -> dict[str, Any]:
    lfw = data / "lfw"
    held, hats = held_out(lfw), read_labels(LABELS_DIR / "lfw_hats.txt")
    people = sorted(p for p in lfw.rglob("*.jpg") if p.parent.name in held)
    clean_hats = read_labels(LABELS_DIR / "clean_face_hats.txt")
    clean = sorted(p for p in (data / "attributes" / "clean_face").glob("*.jpg") if p.name not in clean_hats)
    res = run([(str(p), REPORT_CUTS) for p in people + clean], workers, None)
    label = {str(p): hats.get(str(p.relative_to(lfw)), 0) for p in people}
    rows = []
    for variant in ("as is", *map(str, REPORT_CUTS)):
        def flagged(paths: list[str], variant: str = variant) -> tuple[int, int]:
            seen = [res[p][variant] for p in paths if variant in res[p]]
            return sum(1 for score, limit in seen if score > limit), len(seen)

        for name, paths in (("LFW held-out people, head covering", [p for p, v in label.items() if v == 1]),
                            ("LFW held-out people, none", [p for p, v in label.items() if v == 0]),
                            ("clean_face but its 2 hats", [str(p) for p in clean])):
            k, n = flagged(paths)
            rows.append({"variant": variant, "set": name, "flagged": k, "faces": n})
            print(f"{variant:6s} {name:38s} {k}/{n}")
    return {"rows": rows}


def main() -> None:
    from benchmarks.machine import write_result

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=2)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--report", action="store_true", help="the shipped limits on the held-out people, then stop")
    mode.add_argument("--turned", action="store_true", help="fit the limit for turned heads instead")
    args = ap.parse_args()
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    if args.report:
        result = {**old, "report": report(args.data, args.workers)}
    elif args.turned:
        result = {**old, "turned": fit_turned(args.data, args.workers)}
        print(json.dumps(result["turned"], indent=1))
    else:
        result = {**old, "fit": fit(args.data, args.workers)}
        print(json.dumps(result["fit"], indent=1))
    write_result(OUT, result)


if __name__ == "__main__":
    main()
