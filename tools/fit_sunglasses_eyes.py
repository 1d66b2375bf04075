"""Fit the sunglasses model (``src/facematch/data/sunglasses-v1.json``, code 7).

    nice -n 10 .venv/bin/python -m tools.fit_sunglasses_eyes --data ../shared/data [--write] [--workers 2]

What it reads: SFace's own activations around the eyes. Every image goes
through the service's detector, landmarks and SFace's alignment; SFace embeds
the chip and returns its inner tensor ``sface.EYE_TAP`` from the same run
(``OnnxFaceEmbedder.embed_tapped``). Each of its 512 channels is averaged over
the cells within ``REACH`` chip pixels of each eye centre of ArcFace's template
(``sunglasses.region_features``): 1,024 numbers a face.

What it is fitted on: every LFW image but the tinted ones, labelled by
``benchmarks/labels/lfw_sunglasses.txt`` (73 faces whose eyes sunglasses hide;
every image not listed has none), and ``DRAWN`` other LFW images without
sunglasses each with drawn dark lenses (``occluders.draw_sunglasses``: 5-30 %
of the light through, five tints, glare, frames) and ``DRAWN`` with drawn
clear glasses (``draw_clear_glasses``), each detected again as the service
would. 73 real faces cannot cover every lens; the drawn ones teach lenses
that let the eye show faintly. Sample weights (``WEIGHTS``): the real and
the drawn sunglasses a quarter of the total each, the real faces without
sunglasses three eighths, the clear glasses one eighth. The model is a
logistic regression with an L2 penalty of ``PENALTY`` per unit of sample
weight (``tools.fitting.fit``), over the numbers standardised on LFW.

The threshold is the strictest of three real sources, each at ``MAX_FALSE_ALARM``:

- LFW, scored out of fold (five folds by a CRC32 of the person's name, so no
  person is scored by a model fitted on their photos, drawn copies included);
- ``asian/casia_v5`` and ``asian/p101jp_s2``, every image taken as without
  sunglasses and scored by the model fitted on all of LFW.

The features are cached in ``/tmp/fit-sunglasses-eyes.npz``. ``--write``
rewrites the artefact and prints the sha256 to pin in
``facematch.artifacts.PACKAGED``.
"""

from __future__ import annotations

import datetime
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tools.fitting import TERMS, fit_standardised, threshold, tool_parser, write_artefact
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
#: LFW images without sunglasses drawn with dark lenses, and as many others with clear glasses (seeded).
DRAWN = 600
#: Share of the total sample weight: real sunglasses, drawn sunglasses, real faces without, drawn clear glasses.
WEIGHTS = (0.25, 0.25, 0.375, 0.125)
SEED = 2026
EXTS = {".jpg", ".jpeg", ".png", ".gif", ".bmp"}


def template_eyes() -> tuple[tuple[float, float], ...]:
    """The eye centres of ArcFace's template at ``CHIP`` px, the image's left eye first."""
    from facematch.models.alignment import ARCFACE112

    return tuple((float(x), float(y)) for x, y in ARCFACE112[:2] * CHIP / 112)


def tap_vector(rgb: np.ndarray, points: tuple[tuple[float, float], ...]) -> list[float] | None:
    """The service's view of the subject's face in ``rgb``: detected, aligned and embedded as the service
    does, and SFace's ``EYE_TAP`` averaged around ``points`` (``region_features``); None without a face."""
    from facematch.artifacts.sunglasses import region_features
    from facematch.models.alignment import alignment_points
    from facematch.models.facemesh import Mesh
    from facematch.models.protocols import TappedEmbedder
    from facematch.models.sface import EYE_TAP
    from tools.local import matcher

    with matcher().pool.bundle() as b:
        found = b.detector.detect(rgb)
        if not found or not isinstance(b.embedder, TappedEmbedder):
            return None
        landmarks = b.landmarker(rgb, found[0].box)
        mesh = found[0].mesh.points if isinstance(found[0].mesh, Mesh) else None
        chip = b.embedder.align(rgb, alignment_points(b.embedder.points, landmarks, mesh))
        _, taps = b.embedder.embed_tapped(chip)
    return region_features(taps[EYE_TAP][0], points, REACH, CHIP).tolist()  # the chip's own run


def eye_vector(job: tuple[str, str]) -> list[float] | None:
    """The 1,024 eye numbers of the subject's face in the image at ``job[0]`` (``tap_vector``), after drawing
    ``job[1]`` over it (``"sunglasses:SEED"``, ``"clear:SEED"``; ``""``: nothing); None without a face."""
    from facematch.models.facemesh import Mesh
    from facematch.types import ImageKind
    from tools.local import matcher
    from tools.synth import occluders

    path, draw = job
    m = matcher()
    try:
        rgb = m.decode(Path(path).read_bytes(), ImageKind.PORTRAIT)
    except Exception:  # noqa: BLE001 - an unreadable image is left out, as the service refuses it
        return None
    if draw:
        with m.pool.bundle() as b:
            found = b.detector.detect(rgb)
        if not found or not isinstance(found[0].mesh, Mesh):
            return None
        kind, seed = draw.split(":")
        paint = occluders.draw_sunglasses if kind == "sunglasses" else occluders.draw_clear_glasses
        rgb = paint(rgb, found[0].mesh.points, int(seed))
    return tap_vector(rgb, template_eyes())


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTS)


def jobs(data: Path, labels: dict[str, int]) -> list[tuple[str, str]]:
    """(path, drawing) of every image: LFW, CASIA and P101 as they are, then ``DRAWN`` seeded LFW images
    without sunglasses with dark lenses and ``DRAWN`` others with clear glasses."""
    paths = [p for sub in ("lfw/images", "asian/casia_v5", "asian/p101jp_s2") for p in images(data / sub)]
    bare = [p for p in paths if p.parts[-3] == "images" and labels.get(p.name, 0) == 0 and "lfw" in p.parts]
    chosen = np.random.default_rng(SEED).choice(len(bare), 2 * DRAWN, replace=False)
    drawn = [(str(bare[i]), f"{'sunglasses' if j < DRAWN else 'clear'}:{SEED + j}") for j, i in enumerate(chosen)]
    return [(str(p), "") for p in paths] + drawn


def key(data: Path, job: tuple[str, str]) -> str:
    return str(Path(job[0]).relative_to(data)) + (f"#{job[1]}" if job[1] else "")


def vectors(data: Path, workers: int, labels: dict[str, int]) -> dict[str, np.ndarray]:
    """``{path relative to data (#drawing): eye numbers}`` of ``jobs`` (cached)."""
    todo = jobs(data, labels)
    keys = [key(data, j) for j in todo]
    known: dict[str, np.ndarray] = {}
    if CACHE.exists():
        cached = np.load(CACHE)
        known = dict(zip(cached["keys"].tolist(), cached["x"], strict=True))
    missing = [j for j, k in zip(todo, keys, strict=True) if k not in known]
    with ProcessPoolExecutor(workers) as pool:
        for j, row in zip(missing, pool.map(eye_vector, missing, chunksize=16), strict=True):
            known[key(data, j)] = np.asarray(row if row is not None else [np.nan], np.float32)
    dim = max(len(v) for v in known.values())
    x = np.array([known[k] if len(known[k]) == dim else np.full(dim, np.nan) for k in keys], np.float32)
    np.savez(CACHE, keys=np.array(keys), x=x)
    return {k: v for k, v in zip(keys, x, strict=True) if np.isfinite(v).all()}


def train(x: np.ndarray, y: np.ndarray, drawn: np.ndarray | None = None,
          shares: tuple[float, float, float, float] = WEIGHTS) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) on standardised ``x``: with ``drawn``, the four groups (real and drawn
    positives, real and drawn negatives) weighted by ``shares``; without, the two classes alike."""
    weight = None
    if drawn is not None:
        groups = [(y == 1) & ~drawn, (y == 1) & drawn, (y == 0) & ~drawn, (y == 0) & drawn]
        weight = np.zeros(len(y))
        for g, share in zip(groups, shares, strict=True):
            weight[g] = share * len(y) / max(1, int(g.sum()))
    return fit_standardised(x, y, PENALTY, weight)


def main(argv: list[str] | None = None) -> int:
    ap = tool_parser(__doc__, ARTEFACT, ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    if not (args.data / "lfw" / "images").is_dir():
        print(f"no LFW under {args.data}: nothing fitted")
        return 0
    labels = read_labels(LABELS)
    vec = vectors(args.data, args.workers, labels)
    lfw = [k for k in vec if k.startswith("lfw/") and labels.get(Path(k.split("#")[0]).name, 0) != -1]
    x = np.stack([vec[k] for k in lfw]).astype(np.float64)
    drawn = np.array(["#" in k for k in lfw])
    y = np.array([float("#sunglasses" in k or labels.get(Path(k).name, 0) == 1) for k in lfw])
    fold = np.array([zlib.crc32(Path(k.split("#")[0]).parent.name.encode()) % FOLDS for k in lfw])
    oof = np.zeros(len(y))
    for f in range(FOLDS):
        mean, scale, w, b = train(x[fold != f], y[fold != f], drawn[fold != f])
        oof[fold == f] = ((x[fold == f] - mean) / scale) @ w + b
    mean, scale, w, b = train(x, y, drawn)
    limits = {"lfw_out_of_fold": threshold(oof[(y == 0) & ~drawn], MAX_FALSE_ALARM)}
    for name, prefix in (("casia_v5", "asian/casia_v5/"), ("p101jp_s2", "asian/p101jp_s2/")):
        xs = np.stack([vec[k] for k in vec if k.startswith(prefix)]).astype(np.float64)
        limits[name] = threshold(((xs - mean) / scale) @ w + b, MAX_FALSE_ALARM)
    limit = max(limits.values())
    pos, neg = oof[(y == 1) & ~drawn], oof[(y == 0) & ~drawn]
    dpos, dneg = oof[(y == 1) & drawn], oof[(y == 0) & drawn]
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    print(f"LFW {len(pos) + len(neg)} faces ({len(pos)} with sunglasses), out of fold: AUC {auc:.4f}, "
          f"at the threshold {limit:.3f}: {int((pos > limit).sum())}/{len(pos)} found, "
          f"{int((neg > limit).sum())}/{len(neg)} false alarms; drawn: sunglasses {int((dpos > limit).sum())}/"
          f"{len(dpos)} found, clear glasses {int((dneg > limit).sum())}/{len(dneg)} flagged; per-source "
          "thresholds " + ", ".join(f"{k} {v:.3f}" for k, v in limits.items()))
    eyes = template_eyes()
    doc = {
        "schema": "facematch-sunglasses/1", "version": "v1", "embedder": "sface-2021dec", "tap": "conv_10_relu",
        "tap_shape": [512, 14, 14], "chip": CHIP, "points": [list(e) for e in eyes], "reach": REACH,
        "mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b, "threshold": limit,
        "provenance": {
            "fitted_on": f"LFW, every image but the tinted ones ({len(pos) + len(neg)} faces, {len(pos)} with "
                         "sunglasses: benchmarks/labels/lfw_sunglasses.txt), and other LFW images without "
                         f"sunglasses with drawn dark lenses ({len(dpos)}) or clear glasses ({len(dneg)}) "
                         f"(tools/synth/occluders.py, seeds from {SEED}); weights {WEIGHTS}",
            "threshold": f"the strictest of {MAX_FALSE_ALARM:.1%} false alarms on LFW out of fold (5 folds by "
                         "person), asian/casia_v5 and asian/p101jp_s2 (every image taken as without sunglasses)",
            "out_of_fold": {"auc": round(auc, 5), "found": int((pos > limit).sum()), "with_sunglasses": len(pos),
                            "false_alarms": int((neg > limit).sum()), "without": len(neg),
                            "drawn_sunglasses_found": int((dpos > limit).sum()), "drawn_sunglasses": len(dpos),
                            "drawn_clear_glasses_flagged": int((dneg > limit).sum()), "drawn_clear": len(dneg)},
            "per_source_thresholds": limits,
            "method": f"class-balanced logistic regression, L2 {PENALTY} per unit of sample weight "
                      "(tools/fitting.py: fit), over SFace's conv_10_relu averaged around each eye",
            "command": "nice -n 10 .venv/bin/python -m tools.fit_sunglasses_eyes --data ../shared/data --write",
            "date": datetime.date.today().isoformat(),
            "terms": TERMS}}
    if args.write:
        write_artefact(doc, ARTEFACT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
