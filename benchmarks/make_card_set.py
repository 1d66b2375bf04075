"""Build the synthetic ID-card benchmark from LFW pairs.

For every pair of a pair list, the first image is printed as the portrait of a
synthetic CCCD-like card, which is then photographed virtually (perspective,
glare, blur, JPEG); a share of the cards is first print-and-scanned in
greyscale (photocopy). The pair becomes (card photo, second image).

    .venv/bin/python benchmarks/make_card_set.py --lfw ../shared/data/lfw --out /tmp/cardset --folds 3
    .venv/bin/facematch eval /tmp/cardset/pairs.txt --root /tmp/cardset --out /tmp/cardset-eval --kind card --peer

The generated images stay outside the repository (they are derived from LFW).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.synth

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.synth import cards


def make(job: tuple[int, str, str, float, int]) -> str:
    index, src, out, photocopy_share, seed = job
    rng = np.random.default_rng(seed * 100_003 + index)
    face = np.asarray(Image.open(src).convert("RGB"))
    card, _ = cards.render_card(face, rng)
    if rng.random() < photocopy_share:
        card = cards.photocopy(card, rng)
    photo = cards.photograph(card, rng, out_size=(1600, 1200))
    name = f"cards/{index:05d}.jpg"
    Image.fromarray(photo).save(Path(out) / name, "JPEG", quality=92)
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, required=True, help="the LFW folder (with images/ and the pair list)")
    ap.add_argument("--pairs", default="pairs_10fold.txt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--photocopy-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, default=0, help="only the pairs of the first N folds (0: all)")
    args = ap.parse_args()
    (args.out / "cards").mkdir(parents=True, exist_ok=True)
    link = args.out / "lfw"
    if not link.exists():
        link.symlink_to(args.lfw.resolve())
    lines = [l.split() for l in (args.lfw / args.pairs).read_text().splitlines() if l.strip()]
    if args.folds:
        lines = [p for p in lines if int(p[3]) < args.folds]
    jobs = [(i, str(args.lfw / p[0]), str(args.out), args.photocopy_share, args.seed) for i, p in enumerate(lines)]
    from tqdm import tqdm

    with ProcessPoolExecutor(os.cpu_count()) as pool:
        names = list(tqdm(pool.map(make, jobs, chunksize=16), total=len(jobs), desc="cards"))
    with open(args.out / "pairs.txt", "w") as f:
        for name, p in zip(names, lines):
            f.write(" ".join([name, f"lfw/{p[1]}", *p[2:]]) + "\n")
    print(f"wrote {len(names)} pairs to {args.out / 'pairs.txt'}")


if __name__ == "__main__":
    main()
