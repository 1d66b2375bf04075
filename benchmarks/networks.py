"""dlib's ResNet and SFace side by side on every dev set, and the SFace calibration.

Reads ../shared/data (read in place, never copied) and the synthetic cards
that benchmarks/make_card_set.py prints from each East-Asian source's photos:

    for s in casia_v5 p101jp_s2/images boysplanet/images kpop_idols/images; do
        .venv/bin/python benchmarks/make_card_set.py --asian ../shared/data/asian/$s \\
            --out /tmp/cards-${s%%/*} --workers 2; done
    .venv/bin/python benchmarks/networks.py --data ../shared/data --cards /tmp --write-calibration

Every image is embedded once per network through the same ``Matcher`` the
API uses (decode, detect, align, embed; no checks), cached under ``--cache``.
Writes benchmarks/results/networks.json:

- per network and data set: failure to acquire (FTA), TAR at FAR 1e-2 / 1e-3
  / 1e-4 (where the impostor count allows), FAR above 75 and at or above 65
  and genuine pairs above 75 / at or above 65 under the network's default
  calibration, LFW's 10-fold accuracy;
- the SFace calibration's held-out figures: thresholds fitted on 4 of 5
  identity-disjoint folds of every East-Asian source by the shipped rule
  (``pop.thresholds_across_sources``: photo-photo and card-photo impostor
  pairs of each source are separate sets, the strictest threshold kept, then
  the cross-source margin taken off) and counted on the held-out fold's
  people; and leave one source out (the same rule on the other three
  sources, counted on the fourth);
- with ``--write-calibration``, src/facematch/data/calibration-sface-v1.json,
  fitted on all of them.

Impostor pairs are scored under the capture conditions of the genuine pairs
beside them: each source's pair list says which photo pairs exist (studio
headshot vs show frame for boysplanet, different shots for p101jp_s2, every
pair for casia_v5 and kpop_idols), and a card printed from photo X is paired
with photo Y only where (X, Y) is such a pair.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.machine

import argparse
import datetime as dt
import json
import time
from typing import Any

import numpy as np
from benchmarks import machine

from facematch.eval import metrics
from facematch.fit import population as pop
from facematch.fit.population import Array

REPO = Path(__file__).resolve().parents[1]
NETWORKS = ("sface-2021dec", "dlib-resnet-v1")
#: East-Asian sources: name -> (folder under asian/, pair list; the pair list decides the pairs that exist).
SOURCES = {"casia_v5": "pairs_all.txt", "p101jp_s2": "pairs.txt", "boysplanet": "pairs.txt", "kpop_idols": "pairs.txt"}
CALIBRATION_OUT = REPO / "src/facematch/data/calibration-sface-v1.json"


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


TARGETS = (1e-4, 1e-2)  # FAR above 75 %, at or above 65 %
RULE = "tail"


def people_interval(accepts: Array, a: Array, b: Array, rounds: int = 1000, seed: int = 0) -> list[float]:
    """95 % interval of an impostor accept rate, bootstrapped over the people (pairs weigh the product of how
    often their two people are drawn), with ``a``/``b`` the pairs' person codes."""
    if len(accepts) == 0:
        return [0.0, 1.0]
    people = int(max(a.max(), b.max())) + 1
    rng = np.random.default_rng(seed)
    out = np.empty(rounds)
    for r in range(rounds):
        c = np.bincount(rng.integers(0, people, people), minlength=people).astype(np.float64)
        w = c[a] * c[b]
        out[r] = float((w * accepts).sum() / w.sum()) if w.sum() else 0.0
    return [float(np.quantile(out, 0.025)), float(np.quantile(out, 0.975))]


def held_out_rates(tests: list[tuple[pop.Impostors, Array, float, float]]) -> dict[str, Any]:
    """Pooled held-out counts over folds: each entry (impostors with person codes made unique across entries,
    genuine distances, d75, d65)."""
    off = 0
    acc75, acc65, pa, pb, g75, g65, ng = [], [], [], [], 0, 0, 0
    for imp, gen, d75, d65 in tests:
        ok = np.isfinite(imp.d)
        acc75.append((imp.d < d75) & ok)
        acc65.append((imp.d <= d65) & ok)
        pa.append(imp.a + off)
        pb.append(imp.b + off)
        off += int(max(imp.a.max(initial=0), imp.b.max(initial=0))) + 1
        g75 += int(np.sum(gen < d75))
        g65 += int(np.sum(gen <= d65))
        ng += len(gen)
    a75, a65 = np.concatenate(acc75).astype(float), np.concatenate(acc65).astype(float)
    a, b = np.concatenate(pa), np.concatenate(pb)
    n = len(a75)
    return {"far_above_75": {**pop.rate(int(a75.sum()), n), "people_ci95": people_interval(a75, a, b)},
            "far_at_or_above_65": {**pop.rate(int(a65.sum()), n), "people_ci95": people_interval(a65, a, b)},
            "genuine_above_75": pop.rate(g75, ng), "genuine_at_or_above_65": pop.rate(g65, ng)}


def impostor_sets(samples: dict[str, pop.Samples]) -> dict[str, dict[str, pop.Impostors]]:
    """Per source, one impostor set per pair type (``pop.thresholds_across_sources``)."""
    return {n: {t: pop.impostor_set(s, t) for t in pop.PAIR_TYPES} for n, s in samples.items()}


def fit(samples: dict[str, pop.Samples]) -> tuple[float, float]:
    d75, d65, _ = pop.thresholds_across_sources(impostor_sets(samples), RULE, targets=TARGETS)
    return d75, d65


def held_out_folds(samples: dict[str, pop.Samples], k: int = 5, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """Thresholds fitted on ``k - 1`` identity folds of every source, counted on the last fold of each; every
    fold in turn, for each fold split (``seeds``); pooled per source and pair type, and over all."""
    tests: dict[str, list[tuple[pop.Impostors, Array, float, float]]] = {}
    fitted = []
    for seed in seeds:
        folds = {n: pop.identity_folds(s.identities(), k, seed) for n, s in samples.items()}
        for f in range(k):
            train = {n: s.select([i for g, fold in enumerate(folds[n]) if g != f for i in fold])
                     for n, s in samples.items()}
            d75, d65 = fit(train)
            fitted.append([d75, d65])
            for n, s in samples.items():
                test = s.select(folds[n][f])
                for t in pop.PAIR_TYPES:
                    gen, _ = pop.distances(test, t)
                    for key in (f"{n}/{t}", "all"):
                        tests.setdefault(key, []).append((pop.impostor_set(test, t), gen, d75, d65))
    d = np.array(fitted)
    return {"folds": k, "seeds": list(seeds), "thresholds_d75_d65_range": [d.min(0).tolist(), d.max(0).tolist()],
            "sets": {key: held_out_rates(v) for key, v in tests.items()}}


def leave_one_source_out(samples: dict[str, pop.Samples]) -> dict[str, Any]:
    """Fitted on every source but one, counted on all pairs of that one."""
    out: dict[str, Any] = {}
    for held in samples:
        d75, d65 = fit({n: s for n, s in samples.items() if n != held})
        row: dict[str, Any] = {"d75": d75, "d65": d65}
        for t in pop.PAIR_TYPES:
            gen, _ = pop.distances(samples[held], t)
            row[t] = held_out_rates([(pop.impostor_set(samples[held], t), gen, d75, d65)])
        out[held] = row
    return out


def fta(vectors: list[Array | None]) -> dict[str, int]:
    return {"images": len(vectors), "no_face": sum(v is None for v in vectors)}


def dev_figures(args: argparse.Namespace, network: str, knots: list[list[float]],
                samples: dict[str, pop.Samples]) -> dict[str, Any]:
    """Every dev set under ``network`` and its calibration ``knots``."""
    out: dict[str, Any] = {}
    for n, s in samples.items():
        for t in pop.PAIR_TYPES:
            gen, imp = pop.distances(s, t)
            kind = pop.CARD if t == "card-photo" else pop.PHOTO
            vecs = [None if np.isnan(v[0]) else v for v, k in zip(s.vectors, s.kind, strict=True) if k == kind]
            out[f"{n}/{t}"] = {"fta": fta(vecs), **pop.score_summary(gen, imp, knots)}
    for n in SOURCES:  # every impostor pair whatever the capture condition (studio vs studio): never fitted on
        root = args.data / "asian" / n
        if (root / "pairs_any_condition.txt").exists():
            pairs = pop.read_pairs(root / "pairs_any_condition.txt")
            rels = sorted({p for a, b, _ in pairs for p in (a, b)})
            emb = embed_cached(args.cache, network, n, root, rels, "portrait", args.workers)
            gen, imp = pair_distances(pairs, emb)
            out[f"{n}/any-condition"] = {"fta": fta(list(emb.values())), **pop.score_summary(gen, imp, knots)}
    for name in OTHER_SETS:
        pairs, emb = other_set(args, network, name)
        gen, imp = pair_distances(pairs, emb)
        out[name] = {"fta": fta(list(emb.values())), **pop.score_summary(gen, imp, knots)}
    rows = [line.split() for line in (args.data / "lfw/pairs_10fold.txt").read_text().splitlines() if line.strip()]
    _, emb = other_set(args, network, "lfw")
    dist = np.array([pair_distance(emb, r[0], r[1]) for r in rows])
    labels = np.array([int(r[2]) for r in rows])
    mean, sd = metrics.accuracy_10fold(np.where(np.isfinite(dist), -dist, -np.inf), labels,
                                       np.array([int(r[3]) for r in rows]))
    out["lfw"]["accuracy_10fold"] = {"mean": mean, "sd": sd}
    return out


def pair_distance(emb: dict[str, Array | None], a: str, b: str) -> float:
    va, vb = emb.get(a), emb.get(b)
    return np.inf if va is None or vb is None else float(np.linalg.norm(np.asarray(va) - np.asarray(vb)))


def pair_distances(pairs: list[tuple[str, str, int]], emb: dict[str, Array | None]) -> tuple[Array, Array]:
    d = np.array([pair_distance(emb, a, b) for a, b, _ in pairs])
    lab = np.array([y for _, _, y in pairs], dtype=bool)
    return d[lab], d[~lab]


def fit_calibration(samples: dict[str, pop.Samples], extra: dict[str, Any]) -> dict[str, Any]:
    gen = np.concatenate([pop.distances(s, t)[0] for s in samples.values() for t in pop.PAIR_TYPES])
    data = ("../shared/data/asian/{" + ",".join(samples) + "} (research-use or unverified terms: only this "
            "monotone threshold map is derived from them) + one synthetic card printed from each photo "
            "(benchmarks/make_card_set.py --asian, seed 0); per source, the photo pairs its pair list holds and "
            "card-photo pairs of the same photo pairs")
    return pop.fit_conservative(gen, {}, model=MODEL, data=data, command=COMMAND, version="sface-v1", rule=RULE,
                                targets=TARGETS, by_source=impostor_sets(samples),
                                extra={"embedder": "sface-2021dec", **extra})


FUSION_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def fusion(args: argparse.Namespace) -> dict[str, Any]:
    """Score-level fusion, SFace cosine + w * dlib cosine: TAR at FAR 1e-3 per source and pair type for each
    ``w`` (0: SFace alone). No weight is fitted here: a gain would have to show on every source."""
    out: dict[str, Any] = {}
    for n in SOURCES:
        a, b = source_samples(args, "sface-2021dec", n), source_samples(args, "dlib-resnet-v1", n)
        for t in pop.PAIR_TYPES:
            ia, ib, same = pop.pairs(a, t)
            with np.errstate(invalid="ignore"):
                sa = 1 - np.linalg.norm(a.vectors[ia] - a.vectors[ib], axis=1) ** 2 / 2
                sb = 1 - np.linalg.norm(b.vectors[ia] - b.vectors[ib], axis=1) ** 2 / 2
            row = {}
            for w in FUSION_WEIGHTS:
                d = -(sa + w * sb)
                d = np.where(np.isfinite(d), d, np.inf)
                row[f"{w:g}"] = pop.tar_at_far(d[same], d[~same], 1e-3)
            out[f"{n}/{t}"] = row
    return out


MODEL = ("face_recognition_sface_2021dec_int8bq.onnx sha256 fb143eea0783 (OpenCV Zoo SFace, folded to fp32, "
         "ONNX Runtime), BlazeFace + face-mesh ArcFace five points, chip + mirror")
COMMAND = "python benchmarks/networks.py --data ../shared/data --cards /tmp --write-calibration"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    ap.add_argument("--cards", type=Path, default=None, help="folder holding cards-<source>/ (make_card_set.py)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/facematch-networks"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--write-calibration", action="store_true", help=f"write {CALIBRATION_OUT.name}")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/networks.json")
    args = ap.parse_args()
    networks = args.networks.split(",")
    for network in networks:
        for name in SOURCES:
            source_samples(args, network, name)
        for name in OTHER_SETS:
            other_set(args, network, name)
    if args.embed_only:
        return
    from facematch import artifacts
    from facematch.artifacts.calibration import Calibration
    from facematch.scoring import default_calibration

    result: dict[str, Any] = {"machine": machine.describe(), "date": dt.date.today().isoformat(),
                              "command": COMMAND, "targets": {"75": TARGETS[0], "65": TARGETS[1]}, "networks": {}}
    for network in networks:
        samples = {n: source_samples(args, network, n) for n in SOURCES}
        entry: dict[str, Any] = {}
        if network == "sface-2021dec":
            t0 = time.time()
            entry["held_out_folds"] = held_out_folds(samples)
            entry["leave_one_source_out"] = leave_one_source_out(samples)
            print(f"held-out figures in {time.time() - t0:.0f} s", flush=True)
            if args.write_calibration:
                doc = fit_calibration(samples, {"held_out": {
                    "folds": "5 identity-disjoint folds of every source, fold splits (seeds) 0-2; pooled over folds",
                    "all": entry["held_out_folds"]["sets"]["all"],
                    "leave_one_source_out": {
                        n: {t: {"far_above_75": r[t]["far_above_75"]["rate"],
                                "far_at_or_above_65": r[t]["far_at_or_above_65"]["rate"]} for t in pop.PAIR_TYPES}
                        for n, r in entry["leave_one_source_out"].items()}}})
                CALIBRATION_OUT.write_text(json.dumps(doc, indent=2) + "\n")
                print(f"wrote {CALIBRATION_OUT}")
        cal = artifacts.load(Calibration, version=default_calibration(network))
        entry["calibration"] = cal.version
        entry["dev"] = dev_figures(args, network, [list(k) for k in zip(cal.distances, cal.percents, strict=True)],
                                   samples)
        result["networks"][network] = entry
    if set(NETWORKS) <= set(networks):
        result["fusion_tar_at_far_1e-3"] = fusion(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    summarise(result)


def _p(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def summarise(result: dict[str, Any]) -> None:
    """The side-by-side table docs/accuracy.md shows."""
    nets = list(result["networks"])
    print("| data set | network | FTA | TAR @ FAR 1e-2 / 1e-3 / 1e-4 | FAR > 75 | FAR ≥ 65 | genuine > 75 / ≥ 65 |")
    print("|---|---|---|---|---|---|---|")
    for key in result["networks"][nets[0]]["dev"]:
        for net in nets:
            r = result["networks"][net]["dev"][key]
            t = r["tar_at_far"]
            extra = ""
            if "accuracy_10fold" in r:
                extra = f" (10-fold acc. {100 * r['accuracy_10fold']['mean']:.2f} %)"
            print(f"| {key}{extra} | {net} | {r['fta']['no_face']}/{r['fta']['images']} | "
                  f"{_p(t['0.01'])} / {_p(t['0.001'])} / {_p(t['0.0001'])} | "
                  f"{r['far_above_75']['k']}/{r['far_above_75']['n']} | {r['far_at_or_above_65']['k']}/"
                  f"{r['far_at_or_above_65']['n']} | {_p(r['tar_above_75'])} / {_p(r['tar_at_or_above_65'])} |")
    if "fusion_tar_at_far_1e-3" in result:
        print("\nfusion (SFace cos + w * dlib cos), TAR at FAR 1e-3:")
        for key, row in result["fusion_tar_at_far_1e-3"].items():
            print(f"  {key:24s} " + "  ".join(f"w={w}: {_p(v)}" for w, v in row.items()))
    sf = result["networks"].get("sface-2021dec", {})
    if "held_out_folds" in sf:
        print("\nheld out (5 identity folds x 3 splits):")
        for key, r in sf["held_out_folds"]["sets"].items():
            a, b = r["far_above_75"], r["far_at_or_above_65"]
            print(f"  {key:24s} FAR>75 {a['k']}/{a['n']} CI(people) {a['people_ci95'][1]:.4%} | FAR>=65 "
                  f"{b['k']}/{b['n']} ({b['rate']:.3%}) CI {b['people_ci95'][1]:.3%} | gen>75 "
                  f"{_p(r['genuine_above_75']['rate'])} >=65 {_p(r['genuine_at_or_above_65']['rate'])}")
        print("leave one source out:")
        for n, r in sf["leave_one_source_out"].items():
            for t in pop.PAIR_TYPES:
                a, b = r[t]["far_above_75"], r[t]["far_at_or_above_65"]
                print(f"  {n:11s} {t:11s} d75 {r['d75']:.3f} FAR>75 {a['k']}/{a['n']} FAR>=65 {b['k']}/{b['n']} "
                      f"({b['rate']:.2%}) gen>75 {_p(r[t]['genuine_above_75']['rate'])} >=65 "
                      f"{_p(r[t]['genuine_at_or_above_65']['rate'])}")


if __name__ == "__main__":
    main()
