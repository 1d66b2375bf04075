"""The ghost portrait check (finding 3 ``ghost_mismatch``): a card's
portrait replaced while the card's smaller second print of it, the ghost,
still shows the holder.

``Matcher`` embeds the second faces of a card photo that sit where a ghost
portrait is printed (``checks.fraud.ghost_placed``) and matches each with the
portrait on the service's calibrated scale; below the review boundary (65 %)
the card carries two people. The limit is the service's own, not fitted
here. This benchmark measures it:

- **rendered cards with a ghost** (``tools/synth/cards.py: render_card(...,
  ghost=True)``), one per person, photographed as a phone would
  (``photograph``, 1600x1200 and 3200x2400), genuine and with the portrait
  swapped for another person of the same set (``swap_portrait``; the ghost
  kept): LFW's ``pairs_dev_test.txt`` people, and each East-Asian set
  (CASIA-FaceV5, P101, Boys Planet, K-pop), where impostors look most alike;
- **real documents**: the SIDTD Albanian templates and their forgeries
  (portrait crop-and-replace, re-typed text), the FantasyID phone photos and
  scans with their manipulations, the bona fide documents without a ghost
  (MIDV, specimens), and the DLC-2021 copies on newspapers and desks (other
  faces beside the card).

Each image runs through the shipped settings and with the ghost search on
(``fraud.ghost_search_window`` 4). Counted per set: cards whose ghost was compared (found, placed, at least the
card's eye-distance limit), ``ghost_mismatch``, ``several_faces`` and the
portrait-vs-ghost ``matching`` values.

    .venv/bin/python -m benchmarks.ghost --data ../shared/data

Writes benchmarks/results/ghost.json. Reads ../shared/data in place.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import machine
from benchmarks.card_photos import files, jpeg, rgb_of
from benchmarks.chip import people_casia
from benchmarks.same_photo import genuine_pairs, load
from facematch.matcher import ImageAnalysis, Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tools.synth import cards

ASIAN = ("casia_v5", "p101jp_s2", "boysplanet", "kpop_idols")
SIZES = {"1600x1200": (1600, 1200), "3200x2400": (3200, 2400)}


def people(data: Path, source: str, n: int) -> list[Path]:
    """One photo per person: LFW's dev-test genuine pairs (their first photo), else the set's first photo of
    each identity, in file order."""
    if source == "lfw":
        out, seen = [], set()
        for a, _ in genuine_pairs(data / "lfw/pairs_dev_test.txt"):
            if a.split("/")[-2] not in seen:
                seen.add(a.split("/")[-2])
                out.append(data / "lfw" / a)
        return out[:n]
    root = data / "asian" / source
    if source == "casia_v5":
        return [photos[0] for photos in people_casia(root).values()][:n]
    first: dict[str, Path] = {}
    for row in csv.DictReader(open(root / "identities.csv")):
        first.setdefault(row["identity"], root / row["path"])
    return list(first.values())[:n]


def tally(analyses: list[tuple[str, ImageAnalysis]]) -> dict[str, Any]:
    row: dict[str, Any] = {"images": len(analyses), "face_found": 0, "ghost_compared": 0, "ghost_mismatch": 0,
                           "several_faces": 0, "tampering_any": 0, "matching": [], "flagged": [], "ghost_ms": []}
    for name, a in analyses:
        checks = {f.check for f in a.findings}
        row["face_found"] += a.face is not None
        row["ghost_compared"] += bool(a.ghosts)
        row["ghost_mismatch"] += "ghost_mismatch" in checks
        row["several_faces"] += "several_faces" in checks
        row["tampering_any"] += any(int(f.code) == 3 for f in a.findings)
        row["matching"] += [round(g.matching, 2) for g in a.ghosts]
        if a.face is not None:
            row["ghost_ms"].append(round(a.timings.get("ghost", 0.0), 1))
        if "ghost_mismatch" in checks:
            row["flagged"].append(name)
    return row


VARIANTS = ("genuine", "portrait swapped, ghost kept", "no ghost printed (a CCCD)")


def rendered(data: Path, matchers: dict[str, Matcher], source: str, n: int, size: tuple[int, int]
             ) -> dict[str, dict[str, Any]]:
    """Per matcher (setting), per variant: the tally over ``n`` people of ``source``."""
    photos = people(data, source, n)
    seen: dict[str, dict[str, list[tuple[str, ImageAnalysis]]]] = {m: {v: [] for v in VARIANTS} for m in matchers}
    for k, path in enumerate(photos):
        face = load(path)
        card, box = cards.render_card(face, 90_000 + k, ghost=True)
        docs = {VARIANTS[0]: card, VARIANTS[1]: cards.swap_portrait(card, box, load(photos[(k + 1) % len(photos)]),
                                                                     91_000 + k),
                VARIANTS[2]: cards.render_card(face, 90_000 + k)[0]}
        for variant, doc in docs.items():
            raw = jpeg(cards.photograph(doc, 92_000 + k, out_size=size))
            for name, matcher in matchers.items():
                seen[name][variant].append((path.name, matcher.analyze(raw, ImageKind.CARD, "img1")))
    return {name: {v: tally(rows) for v, rows in by.items()} for name, by in seen.items()}


def real(data: Path, matcher: Matcher) -> dict[str, dict[str, Any]]:
    docs = data / "documents"
    sidtd = list(csv.DictReader(open(docs / "tampered/sidtd/pairs.csv")))
    fantasy = list(csv.DictReader(open(docs / "tampered/fantasyid/pairs.csv")))

    def run(items: list[tuple[str, bytes]]) -> dict[str, Any]:
        return tally([(name, matcher.analyze(raw, ImageKind.CARD, "img1")) for name, raw in items])

    return {
        "SIDTD templates (bona fide)": run([(r["file"], jpeg(rgb_of(docs / "tampered/sidtd" / r["file"])))
                                            for r in sidtd if r["label"] == "bonafide"]),
        "SIDTD forgeries": run([(r["file"], jpeg(rgb_of(docs / "tampered/sidtd" / r["file"])))
                                for r in sidtd if r["label"] != "bonafide"]),
        "FantasyID manipulations": run([(r["file"], (docs / "tampered/fantasyid" / r["file"]).read_bytes())
                                        for r in fantasy if r["label"] == "attack"]),
        "mock ID photos and scans (bona fide)": run(
            [(p.name, p.read_bytes()) for p in files(docs / "mock_id_photos") + files(docs / "mock_id_scans")]),
        "specimens (bona fide)": run([(p.name, p.read_bytes()) for p in files(docs / "specimens")]),
        "DLC-2021 copies (newspapers, desks)": run([(p.name, p.read_bytes()) for p in files(docs / "card_recapture")]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--people", type=int, default=60, help="cards per source and size")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/ghost.json"))
    args = ap.parse_args(argv)
    matchers = {}
    for name, window in (("shipped", 0.0), ("ghost search on (fraud.ghost_search_window 4)", 4.0)):
        matchers[name] = m = build_matcher(Settings(), pool_size=1, parallel=False)
        m.checks = replace(m.checks, fraud=replace(m.checks.fraud, ghost_search_window=window))
    t0 = time.time()
    limit = next(iter(matchers.values())).checks.fraud.min_ghost_matching
    result: dict[str, Any] = {"limit": limit, "people": args.people, "rendered": {}, "real": {}}
    for size_name, size in SIZES.items():
        for source in ("lfw", *ASIAN):
            result["rendered"][f"{source} {size_name}"] = r = rendered(args.data, matchers, source, args.people,
                                                                       size)
            for name, by in r.items():
                print(f"{source} {size_name} [{name}]: " + "; ".join(
                    f"{v}: {t['ghost_mismatch']} flagged, {t['ghost_compared']} compared, 6: {t['several_faces']}"
                    for v, t in by.items()), flush=True)
    for name, matcher in matchers.items():
        result["real"][name] = real(args.data, matcher)
        for row, t in result["real"][name].items():
            print(f"[{name}] {row}: {t['ghost_mismatch']} flagged, {t['ghost_compared']} compared of "
                  f"{t['images']}, 6: {t['several_faces']}, matching {t['matching']}", flush=True)
    for name in matchers:  # the ghost stage's cost on every rendered card photo with a face
        ms = [v for r in result["rendered"].values() for t in r[name].values() for v in t["ghost_ms"]]
        result.setdefault("ghost_ms", {})[name] = {"n": len(ms), "median": round(float(np.median(ms)), 1),
                                                   "p90": round(float(np.percentile(ms, 90)), 1)}
        print(f"[{name}] ghost stage ms: {result['ghost_ms'][name]}", flush=True)
    result["seconds"] = round(time.time() - t0)
    machine.write_result(args.out, result, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
