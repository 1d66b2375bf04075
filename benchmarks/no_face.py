"""How many of the no-face photos give errorCode 3 (no face found), through
the real pipeline.

    .venv/bin/python -m benchmarks.no_face [--data ../shared/data] [--out benchmarks/results/no_face.json]
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from benchmarks.machine import write_result
from tools.local import analyze_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/no_face.json"))
    args = ap.parse_args()
    files = sorted(f for f in glob.glob(str(args.data / "attributes/no_face_*/*"))
                   if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if not files:
        print(f"no data under {args.data}: nothing measured")
        sys.exit(0)
    found = []
    for path in files:
        face = analyze_file(path, "portrait").face
        if face is not None:
            found.append((str(Path(path).relative_to(args.data)), round(face.score, 2)))
    ok = len(files) - len(found)
    print(f"{len(files)} no-face photos: {ok} give errorCode 3 ({100 * ok / len(files):.1f} %)")
    for path, score in found:
        print(f"  face found in {path} (score {score})")
    write_result(args.out, {"photos": len(files), "no_face_error": ok,
                            "face_found": [{"image": p, "score": s} for p, s in found]})


if __name__ == "__main__":
    main()
