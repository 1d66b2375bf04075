"""Card-side warnings on real card photos: what fires on genuine documents and
what is caught on real and rendered attacks.

Every image is sent through the matcher as ``type1=card`` (the checks of
docs/checks.md, "Where each check runs"); counted per set: faces found, and
images raising code 1 (no ID card), 2 (photocopy), 3 (tampering) and 10 (by
check: ``recapture``, the spectral peak; ``presentation_attack``, the model).

- bona fide: ``documents/mock_id_photos`` (MIDV-500/2020 frames, FantasyID
  phone photos), ``documents/mock_id_scans``, ``documents/specimens`` (39
  public specimens, some without a portrait), the SIDTD bona fide templates
  (the FantasyID tampered cards' twins are the mock photos and scans already);
- photocopies: ``documents/card_recapture`` (greyscale prints photographed);
- tampered: ``documents/tampered`` (FantasyID face swaps and re-typed text,
  SIDTD crop-and-replace and inpainting);
- screen recaptures: each mock ID photo and scan shown on a virtual screen and
  photographed (``tools/synth/cards.py: screen_recapture``, seeded;
  kept in memory);
- no document: the Caltech selfies (``attributes/clean_face``) sent as a card
  (code 1 must fire).

With the shipped settings it also times the photocopy check (``card.photocopy``) alone on the mock ID
photos with a face.

Run once with the shipped settings and once with the attack model also on
cards (``FACEMATCH_MODELS__ATTACK_MODEL_ON_CARDS=true``):

    .venv/bin/python -m benchmarks.card_photos --data ../shared/data

Writes benchmarks/results/card_photos.json. Reads ../shared/data in place.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks import machine
from facematch.checks import card
from facematch.checks.card import CardLimits
from facematch.eval.findings import judge
from facematch.matcher import Matcher, build_matcher
from facematch.settings import ModelSettings, Settings
from facematch.types import ImageKind
from tools.synth import cards

SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".bmp")


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def png(rgb: np.ndarray) -> bytes:
    """Lossless: a turned copy differs from its photo by the turn alone."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


#: The bona fide photos and scans turned a quarter either way, as a phone held upright over a card lying
#: across takes them when the photo carries no EXIF turn.
TURNED = "bona fide: mock ID photos and scans turned a quarter (both ways)"


def rgb_of(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def sets(data: Path) -> dict[str, list[tuple[str, bytes]]]:
    docs = data / "documents"
    out: dict[str, list[tuple[str, bytes]]] = {}
    out["bona fide: mock ID photos"] = [(str(p), p.read_bytes()) for p in files(docs / "mock_id_photos")]
    out["bona fide: mock ID scans"] = [(str(p), p.read_bytes()) for p in files(docs / "mock_id_scans")]
    out["bona fide: specimens"] = [(str(p), p.read_bytes()) for p in files(docs / "specimens")]
    sidtd = list(csv.DictReader(open(docs / "tampered/sidtd/pairs.csv")))
    out["bona fide: SIDTD templates"] = [(r["file"], jpeg(rgb_of(docs / "tampered/sidtd" / r["file"])))
                                         for r in sidtd if r["label"] == "bonafide"]
    out["photocopy: card_recapture"] = [(str(p), p.read_bytes()) for p in files(docs / "card_recapture")]
    fantasy = list(csv.DictReader(open(docs / "tampered/fantasyid/pairs.csv")))
    out["tampered: FantasyID + SIDTD"] = (
        [(r["file"], (docs / "tampered/fantasyid" / r["file"]).read_bytes()) for r in fantasy if r["label"] == "attack"]
        + [(r["file"], jpeg(rgb_of(docs / "tampered/sidtd" / r["file"]))) for r in sidtd if r["label"] != "bonafide"])
    out["no document: selfies sent as card (clean_face)"] = [
        (str(p), p.read_bytes()) for p in files(data / "attributes/clean_face")]
    genuine = files(docs / "mock_id_photos") + files(docs / "mock_id_scans")
    out[TURNED] = [(f"turned{k}:{p.name}", png(np.rot90(rgb_of(p), k))) for p in genuine for k in (1, 3)]
    out["screen recapture (rendered from the mock photos and scans)"] = [
        (f"screen:{p.name}", jpeg(cards.screen_recapture(_fit(rgb_of(p)), np.random.default_rng(i))))
        for i, p in enumerate(genuine)]
    return out


def _fit(rgb: np.ndarray, side: int = 1600) -> np.ndarray:
    """At most ``side`` px on the long side (the screen shows the photo, not its full sensor resolution)."""
    h, w = rgb.shape[:2]
    f = min(1.0, side / max(h, w))
    if f == 1.0:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS))


def count(m: Matcher, images: list[tuple[str, bytes]]) -> dict[str, Any]:
    row: dict[str, Any] = {"images": len(images), "face_found": 0, "code": {}, "check": {}, "flagged": {},
                           "reported": {}}
    for name, raw in images:
        # What the response says of the card (``eval.findings.judge``, as ``facematch checks`` reads it): no
        # face is errorCode 3 with invalidCode 4, whatever else was found; else the most severe finding.
        j = judge(m, raw, ImageKind.CARD, Path(name).name)
        row["face_found"] += j.face
        row["reported"][str(j.shown)] = row["reported"].get(str(j.shown), 0) + 1
        for code in j.codes:
            row["code"][str(code)] = row["code"].get(str(code), 0) + 1
            row["flagged"].setdefault(str(code), []).append(j.name)
        for check in sorted({c for c, *_ in j.measured}):
            row["check"][check] = row["check"].get(check, 0) + 1
    return row


def photocopy_ms(m: Matcher, images: list[tuple[str, bytes]], repeats: int = 10) -> dict[str, float]:
    """What ``card.photocopy`` costs on each image with a face (as decoded, with the matcher's face box; the
    mean of ``repeats`` calls): median and most, in ms."""
    times = []
    for _name, raw in images:
        a = m.analyze(raw, ImageKind.CARD, "img1")
        if a.face is None:
            continue
        rgb = m.decode(raw, ImageKind.CARD)
        start = time.perf_counter()
        for _ in range(repeats):
            card.photocopy(rgb, a.face.box, "img1", CardLimits())
        times.append((time.perf_counter() - start) / repeats * 1e3)
    return {"images": len(times), "median_ms": round(float(np.median(times)), 2),
            "max_ms": round(float(np.max(times)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/card_photos.json")
    args = ap.parse_args()
    if not (args.data / "documents").exists():
        print(f"{args.data / 'documents'} not found: this benchmark needs ../shared/data")
        return
    images = sets(args.data)
    result: dict[str, Any] = {"machine": machine.describe(), "date": dt.date.today().isoformat(),
                              "command": "python " + " ".join(sys.argv), "runs": {}}
    for label, on_cards in (("shipped (model on portraits only)", False), ("model also on cards", True)):
        m = build_matcher(Settings(models=ModelSettings(attack_model_on_cards=on_cards)), pool_size=1,
                          parallel=False)
        run = {name: count(m, imgs) for name, imgs in images.items()}
        if not on_cards:
            result["photocopy_check"] = {"set": "bona fide: mock ID photos",
                                         **photocopy_ms(m, images["bona fide: mock ID photos"])}
            print("  photocopy check on the mock ID photos:", result["photocopy_check"], flush=True)
        m.close()
        result["runs"][label] = run
        print(f"== {label}")
        for name, r in run.items():
            codes = " ".join(f"{c}:{n}" for c, n in sorted(r["code"].items(), key=lambda x: int(x[0])))
            print(f"  {name:58s} {r['images']:3d} images, face {r['face_found']:3d} | codes {codes} | "
                  f"10 spectral {r['check'].get('recapture', 0)} model {r['check'].get('presentation_attack', 0)}",
                  flush=True)
    machine.write_result(args.out, result, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
