"""Presentation-attack detection (invalidCode 10) measured as ISO/IEC 30107-3
asks: APCER per attack type and BPCER at the operating point, and the curve.

    nice -n 10 .venv/bin/python benchmarks/pad.py [--data ../shared/data] [--out benchmarks/results/pad.json]

Sets (../shared/data, read in place, never copied; without it the script
says so and exits 0):

* ``pad/replay_a``, ``pad/replay_b``: real bona fide webcam crops and their
  screen replays (80 + 80 each);
* synthetic attacks (``tests/support/synth/recapture.py``): a screen replay
  and a print of LFW faces and of ``attributes/clean_face``, each compared
  with its own bona fide original. LFW is split by person (``lfw_split``):
  the ``fit`` half may be used for fitting, the ``test`` half never is;
* whole frames: 100 synthetic photographed ID cards and 100 1280x960
  selfies (``tests/support/synth/cards.py``) of LFW test-half faces, each
  genuine, screen-replayed and printed (``synth_card_test``,
  ``synth_selfie_test``);
* card photos: ``documents/specimens`` (public specimen ID documents, bona
  fide as card photos, with a synthetic screen replay and print of each;
  ``specimens``), and ``synth_card_test``, scored by the card rule (the
  model or the spectral peak flags);
* bona fide only: ``attributes/clean_face`` (218), LFW's test half (all of
  its images), Yale (164, greyscale), ``asian/casia_v5`` (200 East-Asian
  webcam photos, cool indoor light on a blue curtain: the population and the
  capture this service meets; split by person into a ``fit`` half, used to
  pick the limit, and a ``test`` half) and ``attributes/mask`` +
  ``sunglasses`` (70).

Faces are found by the real detector (the Matcher's, ``benchmarks/local.py``); boxes and features
are cached under /tmp/pad-cache (keyed by this file's and
``facematch/models/pad.py``'s source, so a change recomputes them). The
model figures come from ``benchmarks/fit_pad.py``'s cross-set fits (fit on
one real set, reported on the other) and from the shipped artefact on the
sets it was not fitted on; every in-sample figure is marked so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.synth
sys.path.insert(0, str(Path(__file__).resolve().parent))  # machine

import argparse
import hashlib
import json
import time
import zlib
from dataclasses import dataclass

import numpy as np

CACHE = Path("/tmp/pad-cache")
ROOT = Path(__file__).resolve().parents[1]
#: Synthetic attacks per LFW half (one image per person, persons sampled by seed).
LFW_ATTACK_PEOPLE = 300
#: Whole-frame synthetic cards and selfies (LFW test half), each genuine, replayed and printed.
FRAMES = 100


@dataclass(frozen=True)
class Item:
    """One image of a set: ``make`` turns the decoded source into the image
    scored, steps separated by ``|`` (``card:SEED``: a photographed synthetic
    ID card around it, ``selfie:SEED``: a 1280x960 selfie, ``replay:SEED``,
    ``print:SEED``: the attacks; empty: the image itself); ``label`` 1 = attack."""

    key: str
    path: Path
    label: int
    attack: str  # "none", "replay" or "print"
    make: str  # "", "replay:SEED" or "print:SEED"


def lfw_split(person: str) -> str:
    """Half of LFW's (or CASIA's) people, by a hash of the name: "fit" or "test"."""
    return "fit" if zlib.crc32(person.encode()) % 2 == 0 else "test"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".gif", ".bmp"})


def sets(data: Path) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for name in ("replay_a", "replay_b", "replay_c", "replay_d"):
        base = data / "pad" / name
        if not base.is_dir():
            continue
        out[name] = [Item(f"{name}/live/{p.name}", p, 0, "none", "") for p in _files(base / "live")] + [
            Item(f"{name}/spoof/{p.name}", p, 1, "replay", "") for p in _files(base / "spoof_replay")]
    nuaa = data / "pad" / "nuaa_print"  # whole 640x480 webcam frames, detection in the loop
    if nuaa.is_dir():
        out["nuaa_print"] = [Item(f"nuaa/live/{p.name}", p, 0, "none", "") for p in _files(nuaa / "live")] + [
            Item(f"nuaa/spoof/{p.name}", p, 1, "print", "") for p in _files(nuaa / "spoof_print")]
    clean = _files(data / "attributes" / "clean_face")
    out["clean_face"] = [Item(f"clean/{p.name}", p, 0, "none", "") for p in clean]
    out["synth_clean_face"] = out["clean_face"] + [
        Item(f"clean/{p.name}#{kind}", p, 1, kind, f"{kind}:{1000 + i}")
        for i, p in enumerate(clean) for kind in ("replay", "print")]
    people = sorted((data / "lfw" / "images").iterdir())
    for half in ("fit", "test"):
        mine = [p for p in people if lfw_split(p.name) == half]
        out[f"lfw_{half}"] = [Item(f"lfw/{p.parent.name}/{p.name}", p, 0, "none", "")
                              for d in mine for p in _files(d)]
        rng = np.random.default_rng(0 if half == "fit" else 1)
        chosen = [mine[i] for i in sorted(rng.choice(len(mine), LFW_ATTACK_PEOPLE, replace=False))]
        firsts = [_files(d)[0] for d in chosen]
        seed0 = 0 if half == "fit" else 50_000
        out[f"synth_lfw_{half}"] = [Item(f"lfw/{p.parent.name}/{p.name}", p, 0, "none", "") for p in firsts] + [
            Item(f"lfw/{p.parent.name}/{p.name}#{kind}", p, 1, kind, f"{kind}:{seed0 + i}")
            for i, p in enumerate(firsts) for kind in ("replay", "print")]
    out["yale"] = [Item(f"yale/{p.name}", p, 0, "none", "") for p in _files(data / "yale" / "images")]
    for half in ("fit", "test"):  # East-Asian webcam bona fide, split by person like LFW
        out[f"casia_{half}"] = [Item(f"casia/{p.parent.name}/{p.name}", p, 0, "none", "")
                                for p in _files(data / "asian" / "casia_v5") if lfw_split(p.parent.name) == half]
    # Real public specimen ID documents (bona fide as a card photo) and a synthetic screen replay and
    # print of each: the card-side rule (benchmarks/fit_pad.py: card_rates).
    specimens = _files(data / "documents" / "specimens")
    out["specimens"] = [Item(f"specimens/{p.name}{suffix}", p, int(bool(kind)), kind or "none",
                             f"{kind}:{90_000 + i}" if kind else "")
                        for i, p in enumerate(specimens) for kind, suffix in (("", ""), ("replay", "#replay"),
                                                                               ("print", "#print"))]
    out["attributes_occluded"] = [Item(f"attributes/{p.parent.name}/{p.name}", p, 0, "none", "")
                                  for sub in ("mask", "sunglasses") for p in _files(data / "attributes" / sub)]
    # Whole frames: a synthetic photographed ID card (tests/support/synth/cards.py) and a 1280x960
    # selfie of LFW test-half faces, genuine, shown on a screen, printed.
    firsts = [it.path for it in out["synth_lfw_test"] if it.label == 0][:FRAMES]
    for frame in ("card", "selfie"):
        out[f"synth_{frame}_test"] = [
            Item(f"lfw/{p.parent.name}/{p.name}#{frame}{suffix}", p, int(bool(kind)), kind or "none",
                 f"{frame}:{i}" + (f"|{kind}:{70_000 + i}" if kind else ""))
            for i, p in enumerate(firsts) for kind, suffix in (("", ""), ("replay", "+replay"), ("print", "+print"))]
    return out


# --------------------------------------------------------------------------- images, boxes, features


def _source_hash() -> str:
    """Hash of the code the cached boxes and features depend on."""
    import inspect

    from facematch.imaging import spectrum
    from facematch.models import pad
    from tests.support.synth import recapture

    h = hashlib.sha256()
    for obj in (pad.features, pad.face_region, pad._soft, spectrum.peak_prominence, spectrum._spectrum_mask,
                spectrum.face_patch, recapture):
        h.update(inspect.getsource(obj).encode())
    h.update(repr((pad.FEATURES, pad.PATCH, pad.COLOUR_SIDE, pad.SOFT_SIDE)).encode())
    return h.hexdigest()[:12]


def _detect(rgb: np.ndarray) -> list[Any]:
    """Faces as the service finds them: the Matcher's detector (benchmarks/local.py)."""
    from local import matcher

    with matcher().pool.bundle() as bundle:
        return bundle.detector.detect(rgb)


def image(item: Item) -> np.ndarray:
    from facematch.imaging.decode import decode_image
    from tests.support.synth import cards
    from tests.support.synth.recapture import print_attack, screen_replay

    rgb = decode_image(item.path.read_bytes(), max_bytes=64 << 20, max_pixels=80_000_000)
    for step in filter(None, item.make.split("|")):
        kind, seed = step.split(":")
        if kind == "card":
            rng = np.random.default_rng(int(seed))
            rgb = cards.photograph(cards.render_card(rgb, rng)[0], rng)
        elif kind == "selfie":
            rgb = cards.render_portrait_selfie(rgb, np.random.default_rng(int(seed)))
        else:
            rgb = (screen_replay if kind == "replay" else print_attack)(rgb, int(seed))
    return rgb


class FeatureCache:
    """``key -> (box or None, features)`` persisted as JSON in /tmp/pad-cache."""

    def __init__(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / f"features-{_source_hash()}.json"
        self.data: dict[str, dict[str, list[float] | None]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {})
        self.dirty = 0

    def get(self, item: Item) -> tuple[list[float] | None, np.ndarray]:
        hit = self.data.get(item.key)
        if hit is None:
            from facematch.models.pad import features

            rgb = image(item)
            dets = _detect(rgb)
            box = [float(v) for v in dets[0].box] if dets else None
            x = features(rgb, tuple(box) if box else None)  # type: ignore[arg-type]
            hit = {"box": box, "x": [float(v) for v in x]}
            self.data[item.key] = hit
            self.dirty += 1
            if self.dirty % 200 == 0:
                self.save()
        return hit["box"], np.asarray(hit["x"], dtype=np.float64)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


def matrix(cache: FeatureCache, items: list[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features n x k, labels, attack types) of ``items``."""
    x = np.stack([cache.get(it)[1] for it in items])
    return x, np.array([it.label for it in items]), np.array([it.attack for it in items])


# --------------------------------------------------------------------------- ISO/IEC 30107-3 figures


def rates(scores: np.ndarray, labels: np.ndarray, attacks: np.ndarray, limit: float) -> dict[str, object]:
    """APCER per attack type (attacks scored at or below ``limit``: not
    detected), BPCER (bona fide above it), with counts."""
    flagged = scores > limit
    bona = labels == 0
    out: dict[str, object] = {"limit": limit, "bona_fide": int(bona.sum()),
                              "bpcer": float(flagged[bona].mean()) if bona.any() else None,
                              "bona_fide_flagged": int(flagged[bona].sum())}
    for kind in ("replay", "print"):
        sel = attacks == kind
        if sel.any():
            out[f"apcer_{kind}"] = float((~flagged[sel]).mean())
            out[f"{kind}_attacks"] = int(sel.sum())
            out[f"{kind}_missed"] = int((~flagged[sel]).sum())
    return out


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(BPCER, APCER) over every threshold."""
    t = np.unique(scores)
    bpcer = np.array([(scores[labels == 0] > s).mean() for s in t])
    apcer = np.array([(scores[labels == 1] <= s).mean() for s in t])
    return bpcer, apcer


def bpcer_at_apcer(scores: np.ndarray, labels: np.ndarray, apcer: float) -> float:
    """The lowest BPCER over thresholds whose APCER is at most ``apcer`` (a curve reading, in-sample for the
    threshold)."""
    b, a = det_curve(scores, labels)
    ok = a <= apcer
    return float(b[ok].min()) if ok.any() else 1.0


def apcer_at_bpcer(scores: np.ndarray, labels: np.ndarray, bpcer: float) -> float:
    """The lowest APCER over thresholds whose BPCER is at most ``bpcer`` (a
    curve reading, in-sample for the threshold)."""
    b, a = det_curve(scores, labels)
    ok = b <= bpcer
    return float(a[ok].min()) if ok.any() else 1.0


def plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for label, (b, a) in curves.items():
        order = np.argsort(b)
        ax.plot(np.clip(b[order], 1e-3, 1) * 100, np.clip(a[order], 1e-3, 1) * 100, label=label, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("BPCER (%)")
    ax.set_ylabel("APCER (%)")
    ax.set_xlim(0.1, 100)
    ax.set_ylim(0.1, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.axvline(5, color="grey", lw=0.8, ls=":")
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def examples(out: Path) -> None:
    """A strip of synthetic examples from skimage's astronaut (public domain):
    the photo, three screen replays, three prints, each with its score."""
    import cv2
    from skimage import data

    from facematch.models.pad import RecaptureDetector
    from tests.support.synth.recapture import print_attack, screen_replay

    det = RecaptureDetector.load()
    head = np.ascontiguousarray(data.astronaut()[0:300, 113:338])
    box = (45.0, 40.0, 175.0, 190.0)
    tiles = [("photo", head)] + [(f"replay {s}", screen_replay(head, s)) for s in range(3)] + [
        (f"print {s}", print_attack(head, s)) for s in range(3)]
    row = []
    for name, img in tiles:
        tile = np.vstack([img, np.full((34, img.shape[1], 3), 255, np.uint8)])
        cv2.putText(tile, f"{name}: {det.score(img, box):.2f}", (6, img.shape[0] + 23), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55, (0, 0, 0), 1, cv2.LINE_AA)
        row.append(tile)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.hstack(row), cv2.COLOR_RGB2BGR))


def quality(data: Path, out: Path) -> None:
    """Blur and noise as their own findings (``checks/quality.py``), next to
    ``presentation_attack``: each finding's rate on clean_face (as it is,
    blurred by 3 % of the face width, with Gaussian noise of sigma 20, as in
    benchmarks/checks.py) and on the real pad sets. Chips by dlib's 5 points
    and alignment, as the matcher makes them."""
    import cv2

    from facematch.checks.fraud import FraudLimits, presentation_attack
    from facematch.checks.quality import QualityLimits, blur, noise
    from facematch.models import weights
    from facematch.models.dlib_models import Landmarks5
    from facematch.models.dlib_onnx import OnnxEmbedder
    from facematch.models.pad import RecaptureDetector
    from machine import describe

    marks = Landmarks5(Path(weights.DLIB_LANDMARKS_5.path()))
    aligner = OnnxEmbedder(weights.DLIB_RESNET.path(), mirror=False)
    det = RecaptureDetector.load()
    q, f = QualityLimits(), FraudLimits()
    all_sets = sets(data)
    variants: dict[str, list[tuple[np.ndarray, Item]]] = {}
    for it in all_sets["clean_face"]:
        rgb = image(it)
        variants.setdefault("clean_face", []).append((rgb, it))
        dets = _detect(rgb)
        width = dets[0].box[2] - dets[0].box[0] if dets else 0.1 * rgb.shape[1]
        rng = np.random.default_rng(zlib.crc32(it.key.encode()))
        variants.setdefault("clean_face_blurred_3pct", []).append((cv2.GaussianBlur(rgb, (0, 0), 0.03 * width), it))
        noisy = np.clip(rgb + rng.normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)
        variants.setdefault("clean_face_noise_20", []).append((noisy, it))
    for name in ("replay_a", "replay_b"):
        for it in all_sets[name]:
            variants.setdefault(f"{name}_{'live' if it.label == 0 else 'replay'}", []).append((image(it), it))
    result: dict[str, object] = {"machine": describe(), "command": "nice -n 10 .venv/bin/python benchmarks/pad.py --quality"}
    for name, pairs in variants.items():
        counts = {"images": len(pairs), "face": 0, "blur": 0, "noise": 0, "presentation_attack": 0}
        for rgb, _ in pairs:
            dets = _detect(rgb)
            if not dets:
                continue
            counts["face"] += 1
            box = dets[0].box
            chip = aligner.align(rgb, marks(rgb, box))
            counts["blur"] += len(blur(chip, "img2", q))
            counts["noise"] += len(noise(chip, "img2", q))
            counts["presentation_attack"] += len(presentation_attack(det.score(rgb, box), "img2", f))
        result[name] = counts
        print(name, counts, flush=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pad.json")
    ap.add_argument("--features-only", action="store_true", help="fill the feature cache and stop")
    ap.add_argument("--only", nargs="*", help="sets to compute (default: all)")
    ap.add_argument("--examples", type=Path, help="write the synthetic example strip (skimage only) here and stop")
    ap.add_argument("--quality", action="store_true", help="blur, noise and presentation_attack rates, then stop")
    args = ap.parse_args(argv)
    if args.examples:
        examples(args.examples)
        return 0
    if not (args.data / "pad").is_dir():
        print(f"no data folder at {args.data} (../shared/data/pad): nothing measured")
        return 0
    if args.quality:
        quality(args.data, args.out.with_name("pad_quality.json"))
        return 0
    all_sets = sets(args.data)
    cache = FeatureCache()
    t0 = time.perf_counter()
    for name, items in all_sets.items():
        if args.only and name not in args.only:
            continue
        matrix(cache, items)
        cache.save()
        print(f"{name}: {len(items)} items ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.features_only:
        return 0
    import fit_pad

    return fit_pad.report(all_sets, cache, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
