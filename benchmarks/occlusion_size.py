"""Where each occlusion check stops working as faces shrink.

    .venv/bin/python -m benchmarks.occlusion_size --data ../shared/data --out benchmarks/results/occlusion_size.json

The photos of ``attributes/mask``, ``attributes/sunglasses`` and
``attributes/clean_face`` (read in place, never copied) are analysed once at
their own size through the API's Matcher (portrait kind) to measure the
distance between the eye centres (dlib's 5 points), then shrunk as a whole
(``cv2.INTER_AREA``) so that this distance becomes each of ``--sizes``
pixels (never enlarged), and analysed again. Per set and size: images,
faces found, and how many of those get mask (9), sunglasses (7) and hat
(8); recall on the mask and sunglasses sets, false alarms on
``clean_face``. ``--drawn N`` adds N clean faces (seeded draw) with a cap,
a mask and dark lenses drawn on them (``tools.synth.occluders``,
the same as ``benchmarks/checks.py``'s drawn sets): the same faces at every
size, and the only hats there are. Run with ``--no-gates`` to measure every check at every
size (the size limits of ``OcclusionLimits`` set to 0), which is how those
limits were chosen. Without the data folder it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SIZES = (60, 48, 40, 32, 26, 20, 16, 13, 10, 8, 6, 5, 4)
SETS = ("mask", "sunglasses", "clean_face")
DRAWN = ("drawn_cap", "drawn_mask", "drawn_sunglasses")
CODES = {"mask": 9, "sunglasses": 7, "hat": 8}
EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}


def draw(name: str, rgb: np.ndarray, detect: Callable[[np.ndarray], Any], seed: int) -> np.ndarray | None:
    """``rgb`` with the occluder of the drawn set ``name`` drawn along its face mesh."""
    from tools.synth import occluders

    faces = detect(rgb)
    if not faces or faces[0].mesh is None:
        return None
    fn = {"drawn_cap": occluders.draw_cap, "drawn_mask": occluders.draw_mask,
          "drawn_sunglasses": occluders.draw_sunglasses}[name]
    return np.asarray(fn(rgb, faces[0].mesh.points, np.random.default_rng(seed)))


def eye_distance(landmarks: np.ndarray) -> float:
    pts = np.asarray(landmarks, float)
    return float(np.hypot(*(pts[0:2, :2].mean(0) - pts[2:4, :2].mean(0))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/occlusion_size.json"))
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--no-gates", action="store_true", help="size limits of OcclusionLimits set to 0")
    ap.add_argument("--taps-from", type=float, default=None,
                    help="OcclusionLimits.taps_min_eye_distance (e.g. 1000: the activation models never read)")
    ap.add_argument("--max-per-set", type=int, default=0)
    ap.add_argument("--drawn", type=int, default=60, help="clean faces with drawn occluders (0: none)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--sets", nargs="+", default=[*SETS, *DRAWN], choices=[*SETS, *DRAWN])
    args = ap.parse_args()
    root = args.data / "attributes"
    if not root.is_dir():
        print(f"no data folder at {args.data}: nothing measured")
        return 0
    t0 = time.time()
    from benchmarks.chip import PortraitAnalyzer
    from benchmarks.machine import describe, write_result
    from facematch.checks.occlusion import OcclusionLimits
    from facematch.checks.suite import CheckLimits
    from facematch.imaging.decode import decode_image

    occlusion = OcclusionLimits()
    if args.no_gates:
        occlusion = replace(occlusion, **{f"{c}_min_eye_distance": 0.0 for c in CODES})
    if args.taps_from is not None:
        occlusion = replace(occlusion, taps_min_eye_distance=args.taps_from)
    analyzer = PortraitAnalyzer(replace(CheckLimits(), occlusion=occlusion))
    analyze = analyzer.analyze
    items: list[dict[str, object]] = []
    sets = [n for n in args.sets if args.drawn or n not in DRAWN]
    clean = sorted(p for p in (root / "clean_face").iterdir() if p.suffix.lower() in EXTS)
    drawn = sorted(random.Random(args.seed).sample(clean, min(args.drawn, len(clean))))
    for name in sets:
        paths = drawn if name in DRAWN else sorted(p for p in (root / name).iterdir() if p.suffix.lower() in EXTS)
        if args.max_per_set:
            paths = paths[:args.max_per_set]
        for k, path in enumerate(paths):
            try:
                rgb = decode_image(path.read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)
            except Exception:  # noqa: BLE001 - an unreadable file is left out, and counted
                items.append({"set": name, "item": path.name, "size": None, "face": False, "codes": []})
                continue
            if name in DRAWN:
                rgb = draw(name, rgb, analyzer.detect, args.seed + k)
                if rgb is None:
                    continue
            first = analyze(rgb)
            e0 = eye_distance(first.face.landmarks) if first.face is not None else None
            items.append({"set": name, "item": path.name, "size": None, "eyes": e0, "face": first.face is not None,
                          "codes": sorted({int(f.code) for f in first.findings})})
            if e0 is None:
                continue
            for size in args.sizes:
                if size > e0:
                    continue
                f = size / e0
                small = cv2.resize(rgb, (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f))),
                                   interpolation=cv2.INTER_AREA)
                a = analyze(small)
                items.append({"set": name, "item": path.name, "size": size,
                              "eyes": eye_distance(a.face.landmarks) if a.face is not None else None,
                              "face": a.face is not None, "codes": sorted({int(x.code) for x in a.findings})})
        print(f"{name}: {len(paths)} images ({time.time() - t0:.0f} s)", flush=True)
    table = []
    for name in sets:
        for size in [None, *args.sizes]:
            rows = [i for i in items if i["set"] == name and i["size"] == size]
            found = [i for i in rows if i["face"]]
            row: dict[str, object] = {"set": name, "size": size if size is not None else "original",
                                      "images": len(rows), "faces": len(found)}
            for check, code in CODES.items():
                row[check] = sum(code in i["codes"] for i in found)  # type: ignore[operator]
            table.append(row)
    print(f"{'set':11s} {'eyes px':>8s} {'images':>6s} {'faces':>5s} {'mask':>5s} {'sungl':>5s} {'hat':>5s}")
    for r in table:
        print(f"{r['set']:11s} {r['size']!s:>8s} {r['images']:6d} {r['faces']:5d} {r['mask']:5d} "
              f"{r['sunglasses']:5d} {r['hat']:5d}")
    m = describe()
    m["load_average"] = list(os.getloadavg())
    result = {"command": "python " + " ".join(sys.argv), "machine": m, "no_gates": args.no_gates,
              "limits": {k: getattr(occlusion, k) for k in occlusion.__dataclass_fields__},
              "table": table, "items": items, "seconds": round(time.time() - t0, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=1)
    print(f"written {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
