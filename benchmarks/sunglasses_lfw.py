"""Sunglasses (warning 7) over all of LFW: recall on the images whose eyes
sunglasses hide, false-alarm rate on every other image, through the real
pipeline (each image sent as a portrait).

    .venv/bin/python benchmarks/sunglasses_lfw.py [--data ../shared/data] [--workers 2] [--out FILE]

Labels: ``benchmarks/labels/lfw_sunglasses.txt`` (1: sunglasses hide the
eyes; -1: tinted glasses or shade the eyes partly show through, left out of
both rates); every LFW image not listed counts as without sunglasses. This
is the development set the sunglasses rule was chosen on
(``docs/checks.md``); ``attributes/sunglasses`` and ``attributes/clean_face``
(``benchmarks/checks.py``) are the sets it is measured on.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

LABELS = Path(__file__).with_name("labels") / "lfw_sunglasses.txt"


def flagged(path: str) -> tuple[str, bool | None]:
    """(file name, sunglasses raised), or None when no face was found."""
    from local import analyze_file

    result = analyze_file(path, "portrait")
    if result.face is None:
        return Path(path).name, None
    return Path(path).name, any(f.code == 7 for f in result.findings)


def read_labels(path: Path = LABELS) -> dict[str, int]:
    labels = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, label = line.split()
            labels[name] = int(label)
    return labels


def over_lfw(data: Path, job, workers: int, nothing: str) -> list:
    """``job(path)`` for every LFW image, in ``workers`` processes; exits,
    saying ``nothing``, when there is no LFW under ``data``."""
    files = sorted(str(p) for p in (data / "lfw").rglob("*.jpg"))
    if not files:
        print(f"no LFW under {data / 'lfw'}: {nothing}")
        sys.exit(0)
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(job, files, chunksize=32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = ap.parse_args()
    results = over_lfw(args.data, flagged, args.workers, "nothing measured")
    labels = read_labels()
    no_face = [n for n, f in results if f is None]
    seen = [(n, f) for n, f in results if f is not None]
    positives = [n for n, f in seen if labels.get(n, 0) == 1]
    negatives = [n for n, f in seen if labels.get(n, 0) == 0]
    hits = [n for n, f in seen if f and labels.get(n, 0) == 1]
    alarms = [n for n, f in seen if f and labels.get(n, 0) == 0]
    unsure = [n for n, f in seen if f and labels.get(n, 0) == -1]
    result = {
        "images": len(results), "no_face": len(no_face),
        "recall": {"hit": len(hits), "of": len(positives), "percent": round(100 * len(hits) / max(1, len(positives)), 2)},
        "false_alarm": {"hit": len(alarms), "of": len(negatives),
                        "percent": round(100 * len(alarms) / max(1, len(negatives)), 2)},
        "unsure_flagged": {"hit": len(unsure), "of": sum(1 for v in labels.values() if v == -1)},
        "missed": sorted(set(positives) - set(hits)), "false_alarms": sorted(alarms),
    }
    print(f"LFW {len(results)} images ({len(no_face)} without a face found)")
    print(f"  sunglasses recall     {len(hits)}/{len(positives)} = {result['recall']['percent']:.1f} %")
    print(f"  false alarm           {len(alarms)}/{len(negatives)} = {result['false_alarm']['percent']:.2f} %")
    print(f"  tinted/unsure flagged {len(unsure)}/{result['unsure_flagged']['of']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
