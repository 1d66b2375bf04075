"""The card's own photograph shown as the selfie (finding 10 ``same_photo``):
its limit, and what it catches and flags.

``checks.fraud.photo_similarity`` scores how far two aligned face crops are
one photograph. This benchmark:

1. **Picks the limit on synthetic data only.** LFW people of
   ``lfw/pairs_dev_train.txt`` (genuine pairs: photo A, photo B): a card
   printed with A and photographed (``tools/synth/cards.py``), then

   - *shown again* (the attack the check is for): the card re-photographed
     (another ``photograph``), its photo on a screen and re-shot
     (``tools/synth/recapture.py: screen_replay``), printed and re-shot
     (``print_attack``), sent as it is, and the re-photographed card mirrored;
   - *genuine*: a selfie rendered from photo B;
   - *the original photo A replayed* on a screen in a selfie frame (another
     attack, reported, not used for the limit).

   Rule: the 2nd percentile of the *shown again* scores, floored to 0.01.
2. **Reports on real photos** (never used for the limit): the same printed
   portrait captured by two devices (FantasyID: iPhone, Huawei, flatbed
   scan), two greyscale copies of one mock document photographed in two
   clips (DLC-2021), SIDTD forgeries carrying the other template's portrait
   or re-typed text against that template; genuine pairs of different
   photos: ``lfw/pairs_dev_test.txt``, Boys Planet (studio vs show),
   K-pop (events), and, as photos of one sitting, P101 and CASIA-FaceV5.
3. **End to end**: ``Matcher.match`` with ``type1=card`` on rendered cards
   against their attacks and genuine selfies, the invalidCode with the
   shipped limit.
4. **What evasion costs** (``--robust``): the card re-photographed with
   twice and three times the perspective and blur of ``photograph``,
   rotated 20 degrees, at half and a quarter of the size, as JPEG q30, in
   greyscale; found at the shipped limit.

    .venv/bin/python -m benchmarks.same_photo --data ../shared/data

Writes benchmarks/results/same_photo.json. Reads ../shared/data in place.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from benchmarks import machine
from facematch.checks.fraud import photo_similarity
from facematch.matcher import Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tools.synth import cards, recapture

SHOWN_AGAIN = ("reshot", "screen", "print", "as_sent", "reshot_mirrored")


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()


class Faces:
    """Aligned grey crops of the subject's face, by key (None: no face found)."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.cache: dict[Any, np.ndarray | None] = {}

    def __call__(self, key: Any, image: Callable[[], np.ndarray], kind: ImageKind = ImageKind.PORTRAIT
                 ) -> np.ndarray | None:
        if key not in self.cache:
            face = self.matcher.analyze_image(image(), kind, checks=False).face
            self.cache[key] = None if face is None else face.aligned
        return self.cache[key]


def genuine_pairs(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text().splitlines():
        p = line.split()
        if len(p) >= 3 and p[2] == "1":
            out.append((p[0], p[1]))
    return out


def score(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    return None if a is None or b is None else photo_similarity(a, b)


def synthetic(data: Path, faces: Faces, people: int) -> dict[str, list[float]]:
    sets: dict[str, list[float]] = {name: [] for name in (*SHOWN_AGAIN, "genuine", "original_replayed")}
    for k, (a, b) in enumerate(genuine_pairs(data / "lfw/pairs_dev_train.txt")[:people]):
        photo_a, photo_b = load(data / "lfw" / a), load(data / "lfw" / b)
        card, _ = cards.render_card(photo_a, k)
        card_photo = cards.photograph(card, k)
        reshot = cards.photograph(card, k + 10_000)
        doc = faces(("card", k), lambda i=card_photo: i, ImageKind.CARD)
        attacks = {
            "reshot": reshot,
            "screen": recapture.screen_replay(card_photo, k),
            "print": recapture.print_attack(card_photo, k),
            "as_sent": np.asarray(Image.open(io.BytesIO(jpeg(card_photo))).convert("RGB")),
            "reshot_mirrored": np.ascontiguousarray(reshot[:, ::-1]),
            "genuine": cards.render_portrait_selfie(photo_b, k),
            "original_replayed": cards.render_portrait_selfie(recapture.screen_replay(photo_a, k), k),
        }
        for name, img in attacks.items():
            s = score(doc, faces((name, k), lambda i=img: i))
            if s is not None:
                sets[name].append(s)
    return sets


def real_positives(data: Path, faces: Faces) -> dict[str, list[tuple[str, float | None]]]:
    out: dict[str, list[tuple[str, float | None]]] = {"fantasyid": [], "dlc2021": [], "sidtd": []}
    for card in ("chinese-NF-1042", "portugal-066_03", "turkiye-NF-1054"):
        caps = {"iphone": data / f"documents/mock_id_photos/fantasyid/iphone15pro_{card}.jpg",
                "huawei": data / f"documents/mock_id_photos/fantasyid/huawei_{card}.jpg",
                "scan": data / f"documents/mock_id_scans/fantasyid/scan_{card}.jpg"}
        names = list(caps)
        for i, x in enumerate(names):
            for y in names[i + 1:]:
                s = score(faces(caps[x], lambda p=caps[x]: load(p), ImageKind.CARD),
                          faces(caps[y], lambda p=caps[y]: load(p)))
                out["fantasyid"].append((f"{card}: {x} vs {y}", s))
    root = data / "documents/card_recapture"
    by_doc: dict[str, list[Path]] = {}
    with open(root / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            by_doc.setdefault(row["document_type"] + "/" + row["file"].split("/")[-1].split(".cg")[0],
                              []).append(root / row["file"])
    for doc, paths in sorted(by_doc.items()):
        if len(paths) == 2:
            out["dlc2021"].append((doc, score(faces(paths[0], lambda p=paths[0]: load(p), ImageKind.CARD),
                                              faces(paths[1], lambda p=paths[1]: load(p)))))
    sidtd = data / "documents/tampered/sidtd"
    for forged, template in (("fake_alb00", "alb01"), ("fake_alb01", "alb00"), ("fake_ir_alb00", "alb00"),
                             ("fake_ir_2_alb00", "alb00")):
        f, t = sidtd / f"forged/{forged}.jpg", sidtd / f"bonafide/{template}.jpg"
        out["sidtd"].append((f"{forged} vs {template}", score(faces(t, lambda p=t: load(p), ImageKind.CARD),
                                                               faces(f, lambda p=f: load(p)))))
    return out


def real_negatives(data: Path, faces: Faces) -> dict[str, list[float | None]]:
    lists = {"lfw_dev_test": (data / "lfw", data / "lfw/pairs_dev_test.txt"),
             "boysplanet": (data / "asian/boysplanet", data / "asian/boysplanet/pairs.txt"),
             "kpop_idols": (data / "asian/kpop_idols", data / "asian/kpop_idols/pairs.txt"),
             "p101jp_s2 (one sitting)": (data / "asian/p101jp_s2", data / "asian/p101jp_s2/pairs.txt"),
             "casia_v5 (one sitting)": (data / "asian/casia_v5", data / "asian/casia_v5/pairs.txt")}
    return {name: [score(faces(root / a, lambda p=root / a: load(p)), faces(root / b, lambda p=root / b: load(p)))
                   for a, b in genuine_pairs(pairs)] for name, (root, pairs) in lists.items()}


def rows(data: Path) -> list[dict[str, Any]]:
    """The real pairs as rows of ``benchmarks.warnings``' tables (warning ``same``, side ``pair``): the
    same printed portrait captured twice (recall) and genuine pairs of different photos (false alarms)."""
    matcher = build_matcher(Settings(), parallel=False, pool_size=1)
    limit = matcher.checks.fraud.max_photo_similarity
    faces = Faces(matcher)
    labels = {"fantasyid": "FantasyID cards, the same card by iPhone, Huawei and scanner",
              "dlc2021": "DLC-2021 greyscale copies of one document, two clips",
              "sidtd": "SIDTD forgery with a template's portrait or text vs that template"}
    out = []
    for name, items in real_positives(data, faces).items():
        found = [s for _, s in items if s is not None]
        out.append({"side": "pair", "warning": "same", "set": labels[name], "images": len(items),
                    "faces": len(found), "flagged": sum(s > limit for s in found), "role": "recall",
                    "in_sample": False})
    for name, scores in real_negatives(data, faces).items():
        found = [s for s in scores if s is not None]
        out.append({"side": "pair", "warning": "same", "set": f"genuine, different photos: {name}",
                    "images": len(scores), "faces": len(found), "flagged": sum(s > limit for s in found),
                    "role": "false alarm", "in_sample": False})
    matcher.close()
    return out


def end_to_end(data: Path, matcher: Matcher, people: int) -> dict[str, dict[str, int]]:
    """invalidCode and match over ``Matcher.match(card, selfie, CARD)``, with the check and with it off."""
    off = Matcher(matcher.pool, matcher.calibration, limits=matcher.limits, parallel=False,
                  checks=replace(matcher.checks, fraud=replace(matcher.checks.fraud, max_photo_similarity=2.0)))
    out: dict[str, Counter[str]] = {}
    pairs = genuine_pairs(data / "lfw/pairs_dev_test.txt")[:people]
    for k, (a, b) in enumerate(pairs):
        photo_a, photo_b = load(data / "lfw" / a), load(data / "lfw" / b)
        card, _ = cards.render_card(photo_a, 50_000 + k)
        card_photo = cards.photograph(card, 50_000 + k)
        selfies = {"card re-shot": cards.photograph(card, 60_000 + k), "card photo sent as the selfie": card_photo,
                   "card photo on a screen": recapture.screen_replay(card_photo, k),
                   "genuine selfie (photo B)": cards.render_portrait_selfie(photo_b, k)}
        for name, selfie in selfies.items():
            for label, m in (("off", off), ("on", matcher)):
                try:
                    r = m.match(jpeg(card_photo), jpeg(selfie), ImageKind.CARD)
                    key = f"{label}: invalidCode {int(r.invalid_code)}, match {r.match}"
                except Exception as exc:  # noqa: BLE001 - counted, e.g. no face found
                    key = f"{label}: {type(exc).__name__}"
                out.setdefault(name, Counter())[key] += 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def _jpeg_again(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def robustness(data: Path, matcher: Matcher, people: int) -> dict[str, dict[str, int]]:
    """The card photographed again in ways an attacker may try, against its first photo: flagged of found."""
    limit = matcher.checks.fraud.max_photo_similarity
    out: dict[str, dict[str, int]] = {}
    for k, (a, _) in enumerate(genuine_pairs(data / "lfw/pairs_dev_test.txt")[100:100 + people]):
        card, _ = cards.render_card(load(data / "lfw" / a), 70_000 + k)
        first = matcher.analyze_image(cards.photograph(card, 70_000 + k), ImageKind.CARD, checks=False).face
        if first is None or first.aligned is None:
            continue
        again = cards.photograph(card, 80_000 + k)
        h, w = again.shape[:2]
        variants = {
            "as rendered (strength 1)": again,
            "perspective and blur x2": cards.photograph(card, 80_000 + k, strength=2.0),
            "perspective and blur x3": cards.photograph(card, 80_000 + k, strength=3.0),
            "rotated 20 degrees": cv2.warpAffine(again, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h),
                                                 borderMode=cv2.BORDER_REFLECT),
            "half size": cv2.resize(again, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
            "quarter size": cv2.resize(again, (w // 4, h // 4), interpolation=cv2.INTER_AREA),
            "JPEG q30": _jpeg_again(again, 30),
            "greyscale": np.repeat(cv2.cvtColor(again, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2),
        }
        for name, img in variants.items():
            face = matcher.analyze_image(img, ImageKind.PORTRAIT, checks=False).face
            row = out.setdefault(name, {"found": 0, "flagged": 0, "no_face": 0})
            if face is None or face.aligned is None:
                row["no_face"] += 1
                continue
            row["found"] += 1
            row["flagged"] += int(photo_similarity(first.aligned, face.aligned) > limit)
    return out


def summary(vals: list[float], limit: float) -> dict[str, Any]:
    a = np.array(vals, dtype=float)
    return {"n": len(vals), "above_limit": int((a > limit).sum()), "min": round(float(a.min()), 3),
            "median": round(float(np.median(a)), 3), "max": round(float(a.max()), 3)} if len(vals) else {"n": 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--people", type=int, default=150, help="LFW dev-train pairs for the synthetic limit")
    ap.add_argument("--e2e", type=int, default=40, help="LFW dev-test pairs matched end to end")
    ap.add_argument("--robust", type=int, default=60, help="LFW dev-test people for the evasion variants")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/same_photo.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    matcher = build_matcher(Settings(), parallel=False, pool_size=1)
    faces = Faces(matcher)
    syn = synthetic(args.data, faces, args.people)
    shown = [s for name in SHOWN_AGAIN for s in syn[name]]
    limit = math.floor(float(np.quantile(shown, 0.02)) * 100) / 100
    shipped = matcher.checks.fraud.max_photo_similarity
    print(f"limit by the rule: {limit:.2f} (shipped {shipped}); synthetic genuine max {max(syn['genuine']):.3f}")
    pos = real_positives(args.data, faces)
    neg = real_negatives(args.data, faces)
    t1 = time.perf_counter()
    crops = [v for v in faces.cache.values() if v is not None][:60]
    timing = []
    for a, b in zip(crops[::2], crops[1::2], strict=False):
        s = time.perf_counter()
        photo_similarity(a, b)
        timing.append((time.perf_counter() - s) * 1000.0)
    e2e = end_to_end(args.data, matcher, args.e2e)
    robust = robustness(args.data, matcher, args.robust)
    result = {
        "limit_by_rule": limit, "shipped_limit": shipped,
        "synthetic": {k: summary(v, shipped) for k, v in syn.items()},
        "real_positives": {k: {"n": len(v), "above_limit": sum(1 for _, s in v if s is not None and s > shipped),
                               "no_face": sum(1 for _, s in v if s is None),
                               "items": [{"pair": p, "score": None if s is None else round(s, 3)} for p, s in v]}
                           for k, v in pos.items()},
        "real_negatives": {k: summary([s for s in v if s is not None], shipped) for k, v in neg.items()},
        "end_to_end": e2e,
        "robustness": robust,
        "photo_similarity_ms": {"median": round(float(np.median(timing)), 2),
                                "p90": round(float(np.quantile(timing, 0.9)), 2), "n": len(timing)},
        "seconds": round(time.perf_counter() - t0, 1), "seconds_scores": round(t1 - t0, 1),
    }
    machine.write_result(args.out, result)
    for section in ("synthetic", "real_negatives"):
        print(f"\n{section}:")
        for k, v in result[section].items():
            print(f"  {k}: {v}")
    print("\nreal positives:")
    for k, v in result["real_positives"].items():
        print(f"  {k}: {v['above_limit']}/{v['n']} (no face {v['no_face']}): "
              + ", ".join(f"{i['score']}" for i in v["items"]))
    print("\nend to end:")
    for k, v in e2e.items():
        print(f"  {k}: {v}")
    print("\nrobustness (flagged / found):")
    for k, v in robust.items():
        print(f"  {k}: {v['flagged']} / {v['found']} (no face {v['no_face']})")
    print(f"\nphoto_similarity: {result['photo_similarity_ms']} ms; {result['seconds']} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
