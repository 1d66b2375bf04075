"""Photos saved in Display P3, as an iPhone saves them: what the warnings say with the profile read
(``imaging/colour.py``) and with it ignored (as decoders do, and as this service did before 2026-12-07);
and the same photos stored as HEIC and as WebP, the other formats phones and browsers send.

    .venv/bin/python -m benchmarks.display_p3 --data ../shared/data

The dev data's photos carry no colour profile (their sets strip it), so each image is re-encoded here:
its sRGB colours stored as Display P3 numbers (``tools/synth/icc.py: to_display_p3``), JPEG quality 95,
once with Apple's Display P3 profile embedded and once without; and, for parity, the sRGB image itself
re-saved the same way; and the sRGB image stored as HEIC (pillow-heif's encoder at quality 50, its
default: an iPhone's HEIC keeps more) and as WebP at quality 80 (a browser's default for
``canvas.toBlob``). Through ``Matcher.analyze`` with the shipped settings (one image at a time), per
set: the images raising each warning code, and the medians of what the colour checks read: the
photocopy check's colour spread of the portrait and of the card beside it (``card.face_colour``,
``card.document_colour``, limits 5 and 8) on cards, the presentation-attack score on portraits.

Sets: genuine cards (``documents/mock_id_photos``, ``documents/mock_id_scans``), greyscale copies
(``documents/card_recapture``: code 2 should stay), portraits (``attributes/clean_face``; East-Asian webcam
photos, ``asian/casia_v5``; and the occlusion sets ``attributes/mask``, ``sunglasses`` and ``hat``, whose
codes 9, 7 and 8 should stay). Per variant other than sRGB, the images whose codes differ from the sRGB
re-save's are listed. Writes
``benchmarks/results/display_p3.json``. Reads ../shared/data in place.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks import machine
from facematch.checks import card
from facematch.matcher import Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tools.synth import icc

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
VARIANTS = ("sRGB", "Display P3, profile read", "Display P3, profile ignored", "HEIC, quality 50",
            "WebP, quality 80")


def encoded(rgb: np.ndarray, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, quality=quality)
    return buf.getvalue()


def variants(path: Path) -> dict[str, bytes]:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    p3 = icc.to_display_p3(rgb)
    return {VARIANTS[0]: icc.jpeg(rgb), VARIANTS[1]: icc.jpeg(p3, icc.display_p3_profile()), VARIANTS[2]: icc.jpeg(p3),
            VARIANTS[3]: encoded(rgb, "HEIF", 50), VARIANTS[4]: encoded(rgb, "WEBP", 80)}


def measure(m: Matcher, data: bytes, kind: ImageKind) -> dict[str, Any]:
    r = m.analyze(data, kind, "img1" if kind is ImageKind.CARD else "img2")
    out: dict[str, Any] = {"codes": sorted({int(f.code) for f in r.findings}), "face": r.face is not None,
                           "attack_score": r.attack_score}
    if kind is ImageKind.CARD and r.face is not None:
        rgb = m.decode(data, kind)
        box = r.face.box
        out["face_colour"], out["document_colour"] = card.face_colour(rgb, box), card.document_colour(rgb, box)
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    codes: dict[str, int] = {}
    for r in rows:
        for c in r["codes"]:
            codes[str(c)] = codes.get(str(c), 0) + 1
    out: dict[str, Any] = {"images": len(rows), "faces": sum(r["face"] for r in rows), "code": codes}
    for key in ("face_colour", "document_colour", "attack_score"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[f"{key}_median"] = round(float(np.median(values)), 3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/display_p3.json")
    args = ap.parse_args()
    if not (args.data / "documents").exists():
        print(f"{args.data / 'documents'} not found: this benchmark needs ../shared/data")
        return 0
    sets = {
        "genuine cards (mock ID photos and scans)": (ImageKind.CARD, [args.data / "documents/mock_id_photos",
                                                                      args.data / "documents/mock_id_scans"]),
        "greyscale copies (card_recapture)": (ImageKind.CARD, [args.data / "documents/card_recapture"]),
        "portraits (clean_face)": (ImageKind.PORTRAIT, [args.data / "attributes/clean_face"]),
        "East-Asian webcam portraits (casia_v5)": (ImageKind.PORTRAIT, [args.data / "asian/casia_v5"]),
        "masks, sunglasses, caps (attributes/mask, sunglasses, hat)": (
            ImageKind.PORTRAIT, [args.data / "attributes/mask", args.data / "attributes/sunglasses",
                                 args.data / "attributes/hat"]),
    }
    m = build_matcher(Settings(), pool_size=1, parallel=False)
    result: dict[str, Any] = {"machine": machine.describe(), "command": "python " + " ".join(sys.argv), "sets": {}}
    for name, (kind, roots) in sets.items():
        paths = sorted(p for root in roots for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
        rows: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        flips: dict[str, list[str]] = {v: [] for v in VARIANTS[1:]}
        for path in paths:
            measured = {v: measure(m, data, kind) for v, data in variants(path).items()}
            for v, r in measured.items():
                rows[v].append(r)
                if v in flips and r["codes"] != measured[VARIANTS[0]]["codes"]:
                    flips[v].append(f"{path.name}: {measured[VARIANTS[0]]['codes']} -> {r['codes']}")
        result["sets"][name] = {v: summarise(r) for v, r in rows.items()}
        result["sets"][name]["codes changed from the sRGB re-save"] = flips
        print(f"== {name}", flush=True)
        for v in VARIANTS:
            print(f"  {v:30s}", result["sets"][name][v], flush=True)
        print("  changed:", flips, flush=True)
    m.close()
    machine.write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
