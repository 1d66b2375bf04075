"""The East-Asian dev sets and the other pair lists, embedded once per
network through the same ``Matcher`` the API uses and cached as .npz: what
``benchmarks.networks`` measures on and ``tools.fit_calibration`` fits on.

Reads ../shared/data in place (never copied) and the synthetic cards that
``tools/make_card_set.py --asian`` prints from each East-Asian source's
photos (``--cards`` holding ``cards-<source>/``). Each source's pair list
decides which photo pairs exist (the capture conditions of its genuine
pairs); a card printed from photo X is paired with photo Y only where (X, Y)
is such a pair.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from facematch.fit import population as pop
from facematch.fit.population import Array

NETWORKS = ("sface-2021dec", "dlib-resnet-v1")
#: East-Asian sources: name -> pair list (the pair list decides the pairs that exist).
SOURCES = {"casia_v5": "pairs_all.txt", "p101jp_s2": "pairs.txt", "boysplanet": "pairs.txt", "kpop_idols": "pairs.txt"}


def embed_cached(cache: Path, network: str, name: str, root: Path, rels: list[str], kind: str,
                 workers: int, peer: bool = False) -> dict[str, Array | None]:
    """``{relative path: embedding or None}`` through the matcher with ``network`` (or the peer), cached as .npz."""
    cache.mkdir(parents=True, exist_ok=True)
    f = cache / f"{'peer' if peer else network}-{name}-{kind}.npz"
    if f.exists():
        z = np.load(f)
        have = {str(p): (None if np.isnan(v[0]) else v) for p, v in zip(z["paths"], z["emb"], strict=True)}
        if all(r in have for r in rels):
            return have
    from facematch.eval.embed import embed_images
    from facematch.settings import ModelSettings, Settings

    t0 = time.time()
    settings = Settings(models=ModelSettings(embedder=network))
    emb = embed_images([str(root / r) for r in rels], kind=kind, workers=workers, settings=settings, peer=peer)
    dims = next((len(v) for v in emb.values() if v is not None), 128)
    arr = np.full((len(rels), dims), np.nan)
    for i, r in enumerate(rels):
        v = emb[str(root / r)]
        if v is not None:
            arr[i] = v
    np.savez(f, paths=np.array(rels), emb=arr, seconds=time.time() - t0)
    who = "peer" if peer else network
    print(f"embedded {name} ({kind}, {who}): {len(rels)} images in {time.time() - t0:.0f} s", flush=True)
    return {r: (None if np.isnan(v[0]) else v) for r, v in zip(rels, arr, strict=True)}


def source_images(data: Path, name: str) -> tuple[Path, list[tuple[str, str, int]], list[str]]:
    root = data / "asian" / name
    pairs = pop.read_pairs(root / SOURCES[name])
    rels = sorted({p for a, b, _ in pairs for p in (a, b)})
    return root, pairs, rels


def card_images(cards: Path, name: str) -> tuple[Path, dict[str, str]]:
    """``(root, {card rel: source photo rel})`` from make_card_set's cards.txt (photo rel relative to the
    folder given to --asian, which is the source's ``images/`` folder except for casia_v5)."""
    root = cards / f"cards-{name}"
    prefix = "" if name == "casia_v5" else "images/"
    out = {}
    for line in (root / "cards.txt").read_text().splitlines():
        card, photo = line.split()
        out[card] = prefix + photo
    return root, out


def source_samples(args: argparse.Namespace, network: str, name: str) -> pop.Samples:
    """Photos and cards of one source, with the photo pairs its pair list allows."""
    root, pairs, rels = source_images(args.data, name)
    photos = embed_cached(args.cache, network, name, root, rels, "portrait", args.workers)
    items = [(pop.identity_of(r), r, pop.PHOTO, photos[r]) for r in rels]
    if args.cards is not None and (args.cards / f"cards-{name}" / "cards.txt").exists():
        croot, cmap = card_images(args.cards, name)
        crels = sorted(c for c, p in cmap.items() if p in photos)
        cemb = embed_cached(args.cache, network, f"{name}-cards", croot, crels, "card", args.workers)
        items += [(pop.identity_of(cmap[c]), cmap[c], pop.CARD, cemb[c]) for c in crels]
    allowed = frozenset((a, b) for a, b, _ in pairs) | frozenset((b, a) for a, b, _ in pairs)
    dims = next(len(v) for *_, v in items if v is not None)
    return pop.Samples.build(items, dims, allowed=allowed)


#: Other dev sets: name -> (folder, pair list).
OTHER_SETS = {"lfw": ("lfw", "pairs_10fold.txt"), "yale": ("yale", "pairs_all.txt"), "sanity": ("sanity", "pairs_all.txt")}


def other_set(args: argparse.Namespace, network: str, name: str) -> tuple[list[tuple[str, str, int]], dict[str, Array | None]]:
    folder, pair_list = OTHER_SETS[name]
    root = args.data / folder
    pairs = pop.read_pairs(root / pair_list)
    rels = sorted({p for a, b, _ in pairs for p in (a, b)})
    return pairs, embed_cached(args.cache, network, name, root, rels, "portrait", args.workers)


# ----------------------------------------------------------------- dlib's East-Asian set (asia-v1/v2, CASIA only)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".png", ".gif")


def embed_cached_dlib(cache: Path, name: str, root: Path, rels: list[str], kind: str, peer: bool) -> dict[str, Array | None]:
    """``{relative path: embedding or None}`` with dlib's network (what asia-v1/v2 are for) or the peer, embedded
    once (one worker) and cached."""
    return embed_cached(cache, "dlib-resnet-v1", name, root, rels, kind, workers=1, peer=peer)


def cached(cache: Path, name: str, kind: str, peer: bool) -> bool:
    return (cache / f"{'peer' if peer else 'dlib-resnet-v1'}-{name}-{kind}.npz").exists()


def images_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)


def asian_samples(data: Path, cards: Path | None, cache: Path, peer: bool = False) -> pop.Samples:
    root = data / "asian/casia_v5"
    rels = images_under(root)
    photos = embed_cached_dlib(cache, "asian", root, rels, "portrait", peer)
    items = [(Path(r).parent.name, Path(r).stem, pop.PHOTO, photos[r]) for r in rels]
    if cards is not None:
        croot = cards / "cards"
        crels = images_under(croot)
        cemb = embed_cached_dlib(cache, "asiancards", croot, crels, "card", peer)
        items += [(Path(r).parent.name, Path(r).stem, pop.CARD, cemb[r]) for r in crels]
    return pop.Samples.build(items, 128)
