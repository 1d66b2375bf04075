"""Sunglasses (warning 7) over all of LFW: recall on the images whose eyes
sunglasses hide, false-alarm rate on every other image, through the real
pipeline (each image sent as a portrait).

    .venv/bin/python -m benchmarks.sunglasses_lfw [--data ../shared/data] [--workers 2] [--out benchmarks/results/sunglasses_lfw.json]

Labels: ``benchmarks/labels/lfw_sunglasses.txt`` (1: sunglasses hide the
eyes; -1: tinted glasses or shade the eyes partly show through, left out of
both rates); every LFW image not listed counts as without sunglasses. This
is the development set the sunglasses rule was chosen on
(``docs/checks.md``); ``attributes/sunglasses`` and ``attributes/clean_face``
(``benchmarks/checks.py``) are the sets it is measured on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.machine import write_result
from tools.labels import over_lfw, read_labels


def flagged(path: str) -> tuple[str, bool | None]:
    """(file name, sunglasses raised), or None when no face was found."""
    from tools.local import analyze_file

    result = analyze_file(path, "portrait")
    if result.face is None:
        return Path(path).name, None
    return Path(path).name, any(f.code == 7 for f in result.findings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/sunglasses_lfw.json"))
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
    write_result(args.out, result, indent=1)


if __name__ == "__main__":
    main()
