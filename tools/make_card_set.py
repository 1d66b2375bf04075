"""Build the synthetic ID-card benchmark from LFW pairs (or from Asian faces).

For every pair of a pair list, the first image is printed as the portrait of a
synthetic CCCD-like card, which is then photographed virtually (perspective,
glare, blur, JPEG); a share of the cards is first print-and-scanned in
greyscale (photocopy). The pair becomes (card photo, second image).

    .venv/bin/python -m tools.make_card_set --lfw ../shared/data/lfw --out /tmp/cardset --folds 3
    .venv/bin/facematch eval /tmp/cardset/pairs.txt --root /tmp/cardset --out /tmp/cardset-eval --kind card --peer

With ``--asian FOLDER`` (``../shared/data/asian/casia_v5``) every image of the
set becomes one card instead, written as ``cards/<person>/<image>.jpg`` so
that the person folder names the identity; the card of an image is then
paired with the other photos (benchmarks/population.py builds the pairs):

    .venv/bin/python -m tools.make_card_set --asian ../shared/data/asian/casia_v5 \
        --out /tmp/asian-cards --workers 1

The generated images stay outside the repository (they are derived from LFW
or CASIA-FaceV5).
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from tools.synth import cards


def make(job: tuple[int, str, str, float, int, str]) -> str:
    index, src, out, photocopy_share, seed, name = job
    rng = np.random.default_rng(seed * 100_003 + index)
    face = np.asarray(Image.open(src).convert("RGB"))
    card, _ = cards.render_card(face, rng)
    if rng.random() < photocopy_share:
        card = cards.photocopy(card, rng)
    photo = cards.photograph(card, rng, out_size=(1600, 1200))
    Image.fromarray(photo).save(Path(out) / name, "JPEG", quality=92)
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, help="the LFW folder (with images/ and the pair list)")
    ap.add_argument("--asian", type=Path, help="a folder of person folders: one card per image")
    ap.add_argument("--pairs", default="pairs_10fold.txt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--photocopy-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, default=0, help="only the pairs of the first N folds (0: all)")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    if (args.lfw is None) == (args.asian is None):
        ap.error("give exactly one of --lfw and --asian")
    (args.out / "cards").mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    if args.asian is not None:
        images = sorted(p for p in args.asian.glob("*/*") if p.suffix.lower() in (".bmp", ".jpg", ".jpeg", ".png"))
        names = [f"cards/{p.parent.name}/{p.stem}.jpg" for p in images]
        for n in names:
            (args.out / n).parent.mkdir(parents=True, exist_ok=True)
        jobs = [(i, str(p), str(args.out), args.photocopy_share, args.seed, n)
                for i, (p, n) in enumerate(zip(images, names, strict=True))]
        with ProcessPoolExecutor(args.workers) as pool:
            list(tqdm(pool.map(make, jobs, chunksize=4), total=len(jobs), desc="cards"))
        with open(args.out / "cards.txt", "w") as f:
            f.writelines(f"{n} {p.relative_to(args.asian)}\n" for n, p in zip(names, images, strict=True))
        print(f"wrote {len(names)} cards to {args.out / 'cards'} (card -> source image in cards.txt)")
        return
    link = args.out / "lfw"
    if not link.exists():
        link.symlink_to(args.lfw.resolve())
    lines = [line.split() for line in (args.lfw / args.pairs).read_text().splitlines() if line.strip()]
    if args.folds:
        lines = [p for p in lines if int(p[3]) < args.folds]
    jobs = [(i, str(args.lfw / p[0]), str(args.out), args.photocopy_share, args.seed, f"cards/{i:05d}.jpg")
            for i, p in enumerate(lines)]
    with ProcessPoolExecutor(args.workers) as pool:
        names = list(tqdm(pool.map(make, jobs, chunksize=16), total=len(jobs), desc="cards"))
    with open(args.out / "pairs.txt", "w") as f:
        for name, p in zip(names, lines, strict=True):
            f.write(" ".join([name, f"lfw/{p[1]}", *p[2:]]) + "\n")
    print(f"wrote {len(names)} pairs to {args.out / 'pairs.txt'}")


if __name__ == "__main__":
    main()
