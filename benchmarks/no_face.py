"""How many of the no-face photos give errorCode 3 (no face found), through
the real pipeline.

    .venv/bin/python benchmarks/no_face.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local import analyze_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
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


if __name__ == "__main__":
    main()
