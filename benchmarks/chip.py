"""Chip-like portraits vs live photos: what the CCCD chip's JPEG 2000 does to matching.

    .venv/bin/python -m benchmarks.chip --data ../shared/data --out benchmarks/results/chip.json

For each person of ``lfw/`` (a seeded draw of people with at least two
images) and of ``asian/casia_v5/`` (all 40), the first image becomes a
chip-like portrait: an ICAO-style frontal crop from dlib's 5 points (eyes
level, 3:4, eye distance a quarter of the width, the eyes' midpoint at 45 %
of the height, so the head is about two thirds of it; what lies outside the
photo is filled with a light grey, like the chip's plain background),
resized to 480x640 and encoded as JPEG 2000 at the chip's byte sizes (10 KB
and 20 KB), written under the cache folder (``/tmp/chip-cache``; the images
never enter the repository). Each is matched against the OTHER photos of the
same person (genuine) and of everybody else in the same population
(impostor), and so is the original first image, on the same pairs, so that
the effect of the chip encoding shows. Embeddings come from
``facematch.eval.embed.embed_images`` (the API's Matcher, portrait kind).

Reported per population and condition: TAR at FAR 1e-2 and 1e-3 (thresholds
from that condition's own impostors), and at the service's calibration's
75 % (``distance_at(75)``) the FAR and TAR, the genuine and impostor
distance medians, and the failures to find a face. Without the data folder
it says so and exits 0.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

CHIP_SIZE = (480, 640)  # width, height: the CCCD chip's portrait
CHIP_BYTES = (10_000, 20_000)
BACKGROUND = (235, 235, 235)
FARS = (1e-2, 1e-3)


def icao_crop(rgb: np.ndarray, points5: np.ndarray, size: tuple[int, int] = CHIP_SIZE) -> np.ndarray:
    """An ICAO-style frontal crop: eyes level, eye distance width / 4, their
    midpoint at (width / 2, 0.45 height); ``size`` = (width, height)."""
    w, h = size
    left, right = points5[2:4, :2].mean(0), points5[0:2, :2].mean(0)  # image left, image right eye
    if left[0] > right[0]:
        left, right = right, left
    d = float(np.hypot(*(right - left)))
    angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
    mid = (left + right) / 2
    scale = (0.25 * w) / max(d, 1e-6)
    m = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), angle, scale)
    m[:, 2] += np.array([0.5 * w, 0.45 * h]) - mid
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=BACKGROUND)


def encode_jp2(rgb: np.ndarray, target: int) -> bytes:
    """JPEG 2000 (.jp2) at about ``target`` bytes, never above it: the
    compression ratio is searched (OpenJPEG's rate control undershoots)."""
    img = Image.fromarray(rgb)
    lo, hi = 2.0, 400.0  # compression ratios
    best = b""
    for _ in range(12):
        ratio = (lo * hi) ** 0.5
        buf = io.BytesIO()
        img.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio], irreversible=True)
        data = buf.getvalue()
        if len(data) <= target:
            best, hi = data, ratio
            if len(data) >= 0.95 * target:
                break
        else:
            lo = ratio
    return best or data


def people_lfw(root: Path, n: int, seed: int, max_others: int) -> dict[str, list[Path]]:
    folders = sorted(p for p in (root / "images").iterdir() if p.is_dir())
    multi = [p for p in folders if len(list(p.glob("*.jpg"))) >= 2]
    rng = random.Random(seed)
    chosen = sorted(rng.sample(multi, min(n, len(multi))))
    return {p.name: sorted(p.glob("*.jpg"))[: 1 + max_others] for p in chosen}


def people_casia(root: Path) -> dict[str, list[Path]]:
    return {p.name: sorted(p.glob("*.bmp")) for p in sorted(root.iterdir()) if p.is_dir() and list(p.glob("*.bmp"))}


class PortraitAnalyzer:
    """Portraits through the API's code: the ``Matcher`` built from settings
    (one bundle). ``checks``: a ``CheckLimits``, or the configured ones."""

    def __init__(self, checks: object = None) -> None:
        from facematch.matcher import build_matcher
        from facematch.settings import Settings
        from facematch.types import ImageKind

        matcher = build_matcher(Settings(), pool_size=1, parallel=False)
        if checks is not None:
            matcher.checks = checks  # type: ignore[assignment]
        self.analyze: Callable[[np.ndarray], Any] = lambda rgb: matcher.analyze_image(rgb, ImageKind.PORTRAIT, "img2")

        def detect(rgb: np.ndarray) -> Any:
            with matcher.pool.bundle() as bundle:
                return bundle.detector.detect(rgb)

        self.detect: Callable[[np.ndarray], Any] = detect


def geometry(paths: list[Path], cache: Path) -> dict[str, list[list[float]] | None]:
    """dlib's 5 points of the largest face of each image (the API's detector
    and landmarks), cached as JSON."""
    known: dict[str, list[list[float]] | None] = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [p for p in paths if str(p) not in known]
    if todo:
        from facematch.imaging.decode import decode_image

        analyze = PortraitAnalyzer().analyze
        for p in todo:
            face = analyze(decode_image(p.read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)).face
            known[str(p)] = None if face is None else np.asarray(face.landmarks, float)[:, :2].tolist()
        cache.write_text(json.dumps(known))
    return {str(p): known.get(str(p)) for p in paths}


def embeddings(paths: list[str], cache: Path) -> dict[str, np.ndarray | None]:
    from facematch.eval.embed import embed_images

    known: dict[str, np.ndarray | None] = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            known = {k: (None if z[k].size == 0 else z[k]) for k in z.files}
    todo = [p for p in paths if p not in known]
    if todo:
        known.update(embed_images(todo, kind="portrait", workers=1))
        np.savez(cache, **{k: (np.zeros(0) if v is None else v) for k, v in known.items()})
    return {p: known[p] for p in paths}


def measure(sources: dict[str, str], probes: dict[str, list[str]], emb: dict[str, np.ndarray | None],
            threshold: float) -> dict[str, float | int]:
    """Genuine: each person's source vs their probes; impostor: vs everybody else's probes.
    A missing embedding (no face) counts as a rejection in both."""
    people = list(sources)
    probe_list = [(q, p) for q in people for p in probes[q]]
    pv = np.array([emb[p] if emb[p] is not None else np.full(128, np.nan) for _, p in probe_list])
    owner = np.array([people.index(q) for q, _ in probe_list])
    gen, imp = [], []
    for i, person in enumerate(people):
        s = emb[sources[person]]
        d = np.full(len(probe_list), np.inf) if s is None else np.linalg.norm(pv - s, axis=1)
        d = np.where(np.isnan(d), np.inf, d)
        gen += d[owner == i].tolist()
        imp += d[owner != i].tolist()
    g, m = np.array(gen), np.array(imp)
    out: dict[str, float | int] = {"people": len(people), "genuine_pairs": len(g), "impostor_pairs": len(m),
                                   "no_face_sources": sum(emb[s] is None for s in sources.values())}
    for far in FARS:
        k = int(np.floor(far * len(m)))  # at most k impostors accepted
        thr = float(np.sort(m)[k]) if k < len(m) else float("inf")  # accept d < thr
        out[f"tar_at_far_{far:g}"] = float((g < thr).mean())
        out[f"threshold_far_{far:g}"] = thr
    out["far_at_75"] = float((m < threshold).mean())
    out["tar_at_75"] = float((g < threshold).mean())
    out["impostors_accepted_at_75"] = int((m < threshold).sum())
    out["genuine_median_distance"] = float(np.median(g[np.isfinite(g)])) if np.isfinite(g).any() else float("nan")
    out["impostor_median_distance"] = float(np.median(m[np.isfinite(m)])) if np.isfinite(m).any() else float("nan")
    out["genuine_p95_distance"] = float(np.percentile(g[np.isfinite(g)], 95)) if np.isfinite(g).any() else float("nan")
    out["impostor_p01_distance"] = float(np.percentile(m[np.isfinite(m)], 1)) if np.isfinite(m).any() else float("nan")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/chip.json"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/chip-cache"))
    ap.add_argument("--lfw-people", type=int, default=300, help="LFW people drawn (with at least two images)")
    ap.add_argument("--max-probes", type=int, default=3, help="other photos per LFW person at most")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    if not (args.data / "lfw").is_dir():
        print(f"no data folder at {args.data}: nothing measured")
        return 0
    t0 = time.time()
    from benchmarks.machine import describe, write_result
    from facematch import artifacts
    from facematch.artifacts.calibration import Calibration
    from facematch.scoring import DEFAULT_CALIBRATION

    cal = artifacts.load(Calibration, version=DEFAULT_CALIBRATION)
    threshold = cal.distance_at(75)
    args.cache.mkdir(parents=True, exist_ok=True)
    populations = {"lfw": people_lfw(args.data / "lfw", args.lfw_people, args.seed, args.max_probes),
                   "asian": people_casia(args.data / "asian/casia_v5")}
    result: dict[str, object] = {
        "command": "python " + " ".join(sys.argv), "machine": describe(), "seed": args.seed,
        "calibration": cal.version, "threshold_75": threshold, "chip_size": list(CHIP_SIZE),
        "chip_bytes": list(CHIP_BYTES), "populations": {}}
    for name, people in populations.items():
        sources = {q: imgs[0] for q, imgs in people.items()}
        probes = {q: [str(p) for p in imgs[1:]] for q, imgs in people.items()}
        points = geometry(list(sources.values()), args.cache / f"chip_points_{name}.json")
        chips: dict[str, dict[str, str]] = {str(b): {} for b in CHIP_BYTES}
        sizes: dict[str, list[int]] = {str(b): [] for b in CHIP_BYTES}
        for q, src in sources.items():
            pts = points[str(src)]
            if pts is None:
                continue
            from facematch.imaging.decode import decode_image

            crop = icao_crop(decode_image(src.read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27), np.array(pts))
            for b in CHIP_BYTES:
                path = args.cache / "chips" / name / f"{q}_{b // 1000}k.jp2"
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(encode_jp2(crop, b))
                chips[str(b)][q] = str(path)
                sizes[str(b)].append(path.stat().st_size)
        everything = sorted({p for ps in probes.values() for p in ps} | {str(s) for s in sources.values()}
                            | {p for c in chips.values() for p in c.values()})
        emb = embeddings(everything, args.cache / f"chip_emb_{name}.npz")
        kept = {q for q in sources if points[str(sources[q])] is not None}
        rows = {"original": measure({q: str(sources[q]) for q in kept}, probes, emb, threshold)}
        for b in CHIP_BYTES:
            rows[f"chip_jp2_{b // 1000}k"] = measure({q: chips[str(b)][q] for q in kept}, probes, emb, threshold)
            rows[f"chip_jp2_{b // 1000}k"]["bytes_median"] = int(np.median(sizes[str(b)]))
        result["populations"][name] = {  # type: ignore[index]
            "people": len(people), "sources_without_face_in_original": len(people) - len(kept), "rows": rows}
        for cond, r in rows.items():
            print(f"{name:6s} {cond:14s} TAR@1e-2 {r['tar_at_far_0.01']:.4f} TAR@1e-3 {r['tar_at_far_0.001']:.4f} "
                  f"FAR@75 {r['far_at_75']:.4f} TAR@75 {r['tar_at_75']:.4f} gen med {r['genuine_median_distance']:.3f} "
                  f"imp med {r['impostor_median_distance']:.3f} ({r['genuine_pairs']} gen, {r['impostor_pairs']} imp, "
                  f"{r['no_face_sources']} no face)")
    result["seconds"] = round(time.time() - t0, 1)
    result["machine"]["load_average"] = list(os.getloadavg())  # type: ignore[index]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=1)
    print(f"written {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
