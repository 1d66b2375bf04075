"""Test-time augmentation experiment: does averaging more views of a face
(chip paddings, small rotations and shifts, dlib-style jitter, each with its
mirror image) into its embedding raise LFW 10-fold accuracy, and at what cost
in network passes?

Every image of LFW's pair lists (10-fold and View-1 development pairs) is
detected and aligned once, exactly as the API does it; the network's raw
outputs for all views are cached to an .npz, and combinations are then
scored as the unit-normalised mean of their views' unit vectors (today's
embedding is the combination "p25", the 0.25-padded chip and its mirror).

    .venv/bin/python benchmarks/tta_views.py --lfw ../shared/data/lfw \\
        [--cache /tmp/tta_views_raw.npz] [--workers 2] [--out benchmarks/results/tta_views.json]

Reads ../shared/data/lfw (not part of the repository); says so and exits when
it is missing. Reported metrics are computed by ``facematch.eval.metrics``;
the exhaustive search over combinations uses a vectorised copy of
``metrics.best_threshold`` / ``accuracy_10fold`` (same candidates, same tie
rule), checked against them on every reported row.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

from facematch.eval import metrics  # noqa: E402

SIZE = 150
BASE_PAD = 0.25
N_JITTER = 8

#: Geometric views; each is computed as the chip and its mirror image (2 passes).
#: ("pad", p): dlib.get_face_chip_details(shape, 150, p): p < 0.25 zooms in (0.20: face 7 % larger).
#: ("rot", deg): the 0.25 chip's window rotated by ``deg`` degrees (added to chip_details.angle).
#: ("shift", dx, dy): the 0.25 chip's window moved by (dx, dy) chip pixels along the chip's own axes
#: (the face moves the other way in the chip).
GEOMETRIC = {
    "p25": ("pad", 0.25),
    "p15": ("pad", 0.15), "p20": ("pad", 0.20), "p30": ("pad", 0.30), "p35": ("pad", 0.35),
    "r-6": ("rot", -6.0), "r-3": ("rot", -3.0), "r+3": ("rot", 3.0), "r+6": ("rot", 6.0),
    "x-4": ("shift", -4, 0), "x-2": ("shift", -2, 0), "x+2": ("shift", 2, 0), "x+4": ("shift", 4, 0),
    "y-4": ("shift", 0, -4), "y-2": ("shift", 0, -2), "y+2": ("shift", 0, 2), "y+4": ("shift", 0, 4),
}
GROUPS = list(GEOMETRIC)
#: Pass index of every view: geometric g -> 2*i (chip), 2*i+1 (mirror); then the jitters.
PASSES = [n for g in GROUPS for n in (g, g + "~m")] + [f"j{k}" for k in range(N_JITTER)]
IDX = {n: i for i, n in enumerate(PASSES)}

_B = None
_ROOT = None


def _init(root: str) -> None:
    global _B, _ROOT
    import cv2

    cv2.setNumThreads(1)
    from facematch.models.bundle import ModelBundle

    _B, _ROOT = ModelBundle.load(), root


def _window(base, view):
    """The dlib.chip_details of a geometric view (``base`` is the 0.25 chip's details)."""
    import dlib

    dims = dlib.chip_dims(SIZE, SIZE)
    if view[0] == "rot":
        return dlib.chip_details(base.rect, dims, base.angle + math.radians(view[1]))
    _, dx, dy = view
    r, a = base.rect, base.angle
    s = r.width() / SIZE  # image pixels per chip pixel
    # chip x axis in the image is (cos a, sin a), y axis (-sin a, cos a) (checked against np.roll of the chip)
    ox = s * (dx * math.cos(a) - dy * math.sin(a))
    oy = s * (dx * math.sin(a) + dy * math.cos(a))
    return dlib.chip_details(dlib.drectangle(r.left() + ox, r.top() + oy, r.right() + ox, r.bottom() + oy), dims, a)


def seeded_jitter(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """dlib's ``jitter_image`` (dlib/image_transforms/interpolation.h: translate
    up to 2 % of the chip, zoom out by 0-3 %, rotate up to 3 degrees, mirror
    with probability 1/2, drawn in that order) with a seeded numpy generator:
    ``dlib.jitter_image`` draws from a static per-process generator, so in a
    process pool its output depends on which images a worker saw before."""
    import dlib

    side = SIZE - 6  # shrink_rect(get_rect(img), 3): 144 pixels, corners (3, 3)-(146, 146)
    tx = int(round(rng.uniform(-0.02, 0.02) * side))
    ty = int(round(rng.uniform(-0.02, 0.02) * side))
    box = int(side / rng.uniform(0.97, 0.99999))
    cx, cy = (3 + 146 + 1) // 2 + tx, (3 + 146 + 1) // 2 + ty
    left, top = cx - box // 2, cy - box // 2
    rect = dlib.rectangle(left, top, left + box - 1, top + box - 1)
    angle = math.radians(rng.uniform(-3.0, 3.0))
    out = dlib.extract_image_chip(np.ascontiguousarray(chip), dlib.chip_details(rect, dlib.chip_dims(SIZE, SIZE), angle))
    return out[:, ::-1] if rng.random() > 0.5 else out


def _one(rel: str) -> tuple[np.ndarray | None, float]:
    """Raw network outputs (len(PASSES), 128) of one image, or None (no face)."""
    import dlib

    from facematch.errors import FaceMatchError
    from facematch.imaging.decode import decode_image

    t0 = time.perf_counter()
    try:
        rgb = decode_image((Path(_ROOT) / rel).read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)
    except (FaceMatchError, OSError):
        return None, time.perf_counter() - t0
    dets = _B.detector.detect(rgb)
    if not dets:
        return None, time.perf_counter() - t0
    shape = _B.landmarks(rgb, dets[0].box)
    base = dlib.get_face_chip_details(shape, size=SIZE, padding=BASE_PAD)
    chips = []
    for g in GROUPS:
        v = GEOMETRIC[g]
        if g == "p25":
            chip = _B.embedder.chip(rgb, shape)  # exactly today's chip
        elif v[0] == "pad":
            chip = dlib.get_face_chip(rgb, shape, size=SIZE, padding=v[1])
        else:
            chip = dlib.extract_image_chip(rgb, _window(base, v))
        chips += [chip, chip[:, ::-1]]
    rng = np.random.default_rng(zlib.crc32(rel.encode()))
    chips += [seeded_jitter(chips[0], rng) for _ in range(N_JITTER)]
    return _B.embedder.raw(np.stack(chips)).astype(np.float32), time.perf_counter() - t0


def _one_star(rel: str):
    return rel, *_one(rel)


# ---------------------------------------------------------------- pairs


def read_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray | None]:
    a, b, y, f = [], [], [], []
    for line in path.read_text().splitlines():
        p = line.split()
        if not p or p[0].startswith("#"):
            continue
        a.append(p[0]), b.append(p[1]), y.append(p[2] == "1"), f.append(int(p[3]) if len(p) == 4 else -1)
    f = np.array(f)
    return a, b, np.array(y), None if (f < 0).any() else f


# ---------------------------------------------------------------- fast metrics (search only)


def _threshold_table(s: np.ndarray, y: np.ndarray):
    """``metrics.best_threshold`` vectorised: (threshold, correct count) of the
    first best candidate in the same order (midpoints ascending, below all,
    above all)."""
    fin = np.isfinite(s)
    u, inv = np.unique(s[fin], return_inverse=True)
    yf = y[fin]
    pos_le = np.cumsum(np.bincount(inv, weights=yf, minlength=len(u)))
    neg_le = np.cumsum(np.bincount(inv, weights=~yf, minlength=len(u)))
    P, N = yf.sum(), (~yf).sum()
    neg_out = (~y[~fin]).sum()  # -inf scores: always rejected
    # midpoint k (between u[k], u[k+1]) accepts u[k+1:]
    correct = np.r_[neg_le[:-1] + (P - pos_le[:-1]), P, N] + neg_out
    cand = np.r_[(u[:-1] + u[1:]) / 2, u[0] - 1e-9, u[-1] + 1e-9]
    k = int(np.argmax(correct))
    return float(cand[k]), float(correct[k])


def fast_10fold(s: np.ndarray, y: np.ndarray, folds: np.ndarray):
    """Per-fold (train accuracy at the chosen threshold, test accuracy) and the
    per-pair correctness vector of the 10-fold protocol."""
    train_acc, test_acc = [], []
    correct = np.zeros(len(s), bool)
    for f in np.unique(folds):
        te = folds == f
        t, c = _threshold_table(s[~te], y[~te])
        train_acc.append(c / (~te).sum())
        correct[te] = (s[te] >= t) == y[te]
        test_acc.append(correct[te].mean())
    return np.array(train_acc), np.array(test_acc), correct


def fast_best_acc(s: np.ndarray, y: np.ndarray) -> float:
    return _threshold_table(s, y)[1] / len(s)


def auc(s: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    r = rankdata(s)
    P, N = y.sum(), (~y).sum()
    return float((r[y].sum() - P * (P + 1) / 2) / (P * N))


def mcnemar_p(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar (binomial) p-value for discordant pairs."""
    from scipy.stats import binomtest

    n = fixed + broken
    return 1.0 if n == 0 else float(binomtest(fixed, n, 0.5).pvalue)


# ---------------------------------------------------------------- combinations


def passes_of(groups: tuple[str, ...], jit: int = 0, mirror: bool = True) -> list[int]:
    idx = [IDX[g] for g in groups] + ([IDX[g + "~m"] for g in groups] if mirror else [])
    return idx + [IDX[f"j{k}"] for k in range(jit)]


def name_of(groups: tuple[str, ...], jit: int = 0, mirror: bool = True) -> str:
    n = "+".join(groups) + ("" if mirror else " (no mirror)")
    return (n + f"+j{jit}" if n else f"j{jit}") if jit else n


def families() -> list[tuple[tuple[str, ...], int, bool]]:
    """Hand-built combinations reported in full (groups, jitters, mirror)."""
    b = ("p25",)
    return [
        (b, 0, False), (b, 0, True),
        (b + ("p20", "p30"), 0, True), (b + ("p15", "p35"), 0, True), (b + ("p15", "p20", "p30", "p35"), 0, True),
        (("p20", "p30"), 0, True), (b + ("p20",), 0, True), (b + ("p30",), 0, True),
        (b + ("r-3", "r+3"), 0, True), (b + ("r-6", "r+6"), 0, True), (b + ("r-6", "r-3", "r+3", "r+6"), 0, True),
        (b + ("x-2", "x+2"), 0, True), (b + ("y-2", "y+2"), 0, True), (b + ("x-2", "x+2", "y-2", "y+2"), 0, True),
        (b + ("x-4", "x+4"), 0, True), (b + ("y-4", "y+4"), 0, True), (b + ("x-4", "x+4", "y-4", "y+4"), 0, True),
        (b + ("x-4", "x-2", "x+2", "x+4", "y-4", "y-2", "y+2", "y+4"), 0, True),
        (b + ("p20", "p30", "r-3", "r+3"), 0, True), (b + ("p20", "p30", "x-2", "x+2", "y-2", "y+2"), 0, True),
        (b + ("p20", "p30", "r-3", "r+3", "x-2", "x+2", "y-2", "y+2"), 0, True),
        (tuple(GROUPS), 0, True), (tuple(GROUPS), N_JITTER, True),
        ((), 2, True), ((), 4, True), ((), N_JITTER, True),
        (b, 0, False), (b + ("r-3", "r+3"), 0, False), (b + ("p20", "p30"), 0, False),
    ] + [(b, k, False) for k in (1, 3, 7)] + [(b, k, True) for k in (1, 2, 4, 6, 8)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, default=Path("../shared/data/lfw"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tta_views_raw.npz"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-groups", type=int, default=5, help="exhaustive search: subsets of up to this many views")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/tta_views.json"))
    args = ap.parse_args()
    if not (args.lfw / "pairs_10fold.txt").exists():
        print(f"{args.lfw}/pairs_10fold.txt not found: this benchmark needs the LFW folder (../shared/data/lfw)")
        sys.exit(2)
    t_start = time.perf_counter()
    lists = {k: read_pairs(args.lfw / f"pairs_{k}.txt") for k in ("10fold", "dev_train", "dev_test")}
    images = sorted({p for a, b, _, _ in lists.values() for p in a + b})
    key = hashlib.sha256(json.dumps([PASSES, GEOMETRIC, N_JITTER, SIZE, BASE_PAD, images]).encode()).hexdigest()[:16]

    # ---- raw network outputs, cached
    embed_seconds = None
    if args.cache.exists() and str(np.load(args.cache)["key"]) == key:
        z = np.load(args.cache)
        raw, ok, embed_seconds, per_image = z["raw"], z["ok"], float(z["seconds"]), z["per_image"]
        print(f"cached raw outputs from {args.cache} ({embed_seconds:.0f} s to compute)", flush=True)
    else:
        raw = np.zeros((len(images), len(PASSES), 128), np.float32)
        ok = np.zeros(len(images), bool)
        per_image = []
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(str(args.lfw),)) as ex:
            for i, (rel, r, dt) in enumerate(ex.map(_one_star, images, chunksize=16)):
                assert rel == images[i]
                per_image.append(dt)
                if r is not None:
                    raw[i], ok[i] = r, True
                if (i + 1) % 500 == 0 or i + 1 == len(images):
                    el = time.perf_counter() - t0
                    print(f"  {i + 1}/{len(images)} images, {el:.0f} s, eta {el / (i + 1) * (len(images) - i - 1):.0f} s",
                          flush=True)
        embed_seconds = time.perf_counter() - t0
        per_image = np.array(per_image)
        np.savez(args.cache, raw=raw, ok=ok, key=key, seconds=embed_seconds, per_image=per_image)
    unit = raw / np.maximum(np.linalg.norm(raw, axis=2, keepdims=True), 1e-12)
    pos = {p: i for i, p in enumerate(images)}

    def pair_index(name):
        a, b, y, f = lists[name]
        return np.array([pos[p] for p in a]), np.array([pos[p] for p in b]), y, f

    P = {k: pair_index(k) for k in lists}
    ia, ib, y10, folds = P["10fold"]
    failed = int((~ok).sum())
    failed_10 = int((~ok[np.unique(np.r_[ia, ib])]).sum())
    n_img_10 = len(np.unique(np.r_[ia, ib]))
    overlap = {tuple(sorted(x)) for x in zip(*lists["10fold"][:2])}
    dev_indep = np.array([tuple(sorted(x)) not in overlap for x in zip(*lists["dev_train"][:2])])

    gsum = unit[:, 0:2 * len(GROUPS):2] + unit[:, 1:2 * len(GROUPS):2]  # each view plus its mirror

    def embeddings(idx: list[int], groups: tuple[str, ...] | None = None) -> np.ndarray:
        """Normalised sum of the unit vectors of passes ``idx``; ``groups``: the same
        when idx is exactly those views with their mirrors (faster)."""
        if groups is not None:
            e = gsum[:, [GROUPS.index(g) for g in groups]].sum(axis=1)
        else:
            e = unit[:, idx].sum(axis=1)
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        e[~ok] = np.nan
        return e

    def scores(e, name):
        a, b, _, _ = P[name]
        d = np.linalg.norm(e[a] - e[b], axis=1).astype(np.float64)
        return -np.where(np.isfinite(d), d, np.inf)

    # ---- baseline check against the harness's saved scores (benchmarks/results/lfw/scores.csv)
    base_idx = passes_of(("p25",))
    s_base = scores(embeddings(base_idx), "10fold")
    base_check = {}
    csv = Path(__file__).resolve().parent / "results" / "lfw" / "scores.csv"
    if csv.exists():
        import csv as _csv

        with open(csv) as f:
            rows = list(_csv.DictReader(f))
        ref = np.array([float(r["distance"]) if r["distance"] else np.inf for r in rows])
        same_pairs = all(r["path1"].split("lfw/", 1)[1] == a and r["path2"].split("lfw/", 1)[1] == b
                         for r, a, b in zip(rows, lists["10fold"][0], lists["10fold"][1]))
        base_check = {"scores_csv": str(csv.relative_to(Path(__file__).resolve().parent.parent)),
                      "same_pair_order": same_pairs, "max_abs_distance_diff": float(np.max(np.abs(ref + s_base))),
                      "harness_accuracy_10fold_from_csv": metrics.accuracy_10fold(-ref, y10, folds)[0]}
    bs = metrics.summary(s_base, y10, folds, failed_10, n_img_10)
    base_check["accuracy_10fold"] = bs["accuracy_10fold"]
    print(f"baseline p25+mirror: 10-fold {100 * bs['accuracy_10fold']:.2f} %  {base_check}", flush=True)
    _, _, base_correct = fast_10fold(s_base, y10, folds)

    # ---- exhaustive search over mirrored geometric views, plus the hand-built families
    t_search = time.perf_counter()
    combos = [(g, 0, True) for k in range(1, args.max_groups + 1) for g in itertools.combinations(GROUPS, k)]
    for c in families():
        if c not in combos:
            combos.append(c)
    _, _, ydt, _ = P["dev_train"]
    _, _, ydv, _ = P["dev_test"]
    rec = []
    for groups, jit, mirror in combos:
        idx = passes_of(groups, jit, mirror)
        e = embeddings(idx, groups if mirror and not jit else None)
        s10, sdt, sdv = scores(e, "10fold"), scores(e, "dev_train"), scores(e, "dev_test")
        tr, te, corr = fast_10fold(s10, y10, folds)
        fold_auc = [auc(s10[folds != f], y10[folds != f]) for f in range(10)]
        rec.append({"combo": name_of(groups, jit, mirror), "groups": groups, "jitters": jit, "mirror": mirror,
                    "passes": len(idx), "acc": float(te.mean()), "train_acc": tr, "test_acc": te,
                    "train_auc": np.array(fold_auc), "correct": corr,
                    "dev_train_acc": fast_best_acc(sdt, ydt), "dev_train_auc": auc(sdt, ydt),
                    "dev_train_indep_acc": fast_best_acc(sdt[dev_indep], ydt[dev_indep]),
                    "dev_train_indep_auc": auc(sdt[dev_indep], ydt[dev_indep]),
                    "dev_test_acc": fast_best_acc(sdv, ydv)})
    search_seconds = time.perf_counter() - t_search
    print(f"{len(rec)} combinations scored in {search_seconds:.0f} s", flush=True)
    budgets = sorted({r["passes"] for r in rec})

    def full_row(r):
        idx = passes_of(r["groups"], r["jitters"], r["mirror"])
        e = embeddings(idx)
        s = metrics.summary(scores(e, "10fold"), y10, folds, failed_10, n_img_10)
        assert abs(s["accuracy_10fold"] - r["acc"]) < 1e-12, (r["combo"], s["accuracy_10fold"], r["acc"])
        fixed = int((r["correct"] & ~base_correct).sum())
        broken = int((~r["correct"] & base_correct).sum())
        return {"combo": r["combo"], "views": [PASSES[i] for i in idx], "passes": r["passes"],
                "accuracy_10fold": s["accuracy_10fold"], "accuracy_10fold_std": s["accuracy_10fold_std"],
                "errors_10fold": int((~r["correct"]).sum()), "auc": auc(scores(e, "10fold"), y10),
                "tar_at_far_1e-2": s["tar_at_far_1e-2"],
                "tar_at_far_1e-3": s["tar_at_far_1e-3"], "eer": s["eer"],
                "vs_baseline": {"fixed": fixed, "broken": broken, "mcnemar_p": mcnemar_p(fixed, broken)},
                "dev_train_acc": r["dev_train_acc"], "dev_test_acc": r["dev_test_acc"]}

    by_name = {r["combo"]: r for r in rec}
    # selection 1: by dev_train (View 1 training pairs) best-threshold accuracy, then AUC, at each pass count
    def pick(pool, acc_key, auc_key):
        return max(pool, key=lambda r: (r[acc_key], r[auc_key], -r["passes"]))

    dev_pick = {b: pick([r for r in rec if r["passes"] == b], "dev_train_acc", "dev_train_auc") for b in budgets}
    dev_pick_indep = {b: pick([r for r in rec if r["passes"] == b], "dev_train_indep_acc", "dev_train_indep_auc")
                      for b in budgets}
    dev_best_any = pick(rec, "dev_train_acc", "dev_train_auc")
    # selection 2: nested inside the 10-fold protocol: for each test fold, the combination (within a pass
    # budget) with the best accuracy on the other nine folds (then AUC there, then fewer passes) is chosen,
    # with its threshold from the same nine folds, and tested on the held-out fold.
    nested = {}
    for b in budgets:
        pool = [r for r in rec if r["passes"] <= b]
        picks, accs, correct = [], [], np.zeros(len(y10), bool)
        for f in range(10):
            r = max(pool, key=lambda r: (r["train_acc"][f], r["train_auc"][f], -r["passes"]))
            picks.append(r["combo"])
            accs.append(r["test_acc"][f])
            correct[folds == f] = r["correct"][folds == f]
        fixed, broken = int((correct & ~base_correct).sum()), int((~correct & base_correct).sum())
        nested[b] = {"max_passes": b, "accuracy_10fold": float(np.mean(accs)), "accuracy_10fold_std": float(np.std(accs)),
                     "chosen_per_fold": picks, "vs_baseline": {"fixed": fixed, "broken": broken,
                                                               "mcnemar_p": mcnemar_p(fixed, broken)}}
    # best on all 6,000 pairs at each pass count (selected on the test pairs: optimistic)
    oracle = {b: max([r for r in rec if r["passes"] == b], key=lambda r: (r["acc"], r["train_auc"].mean()))
              for b in budgets}

    table_names = [name_of(*c) for c in families()] + list(GROUPS)  # every single view (with its mirror)
    table_names += [r["combo"] for r in list(oracle.values()) + list(dev_pick.values()) + list(dev_pick_indep.values())]
    table_names += [r["combo"] for r in sorted(rec, key=lambda r: (-r["acc"], r["passes"]))[:15]]
    table_names += [dev_best_any["combo"]]
    seen, table = set(), []
    for n in table_names:
        if n not in seen:
            seen.add(n)
            table.append(full_row(by_name[n]))
    table.sort(key=lambda r: (-r["accuracy_10fold"], r["passes"]))
    rows = {r["combo"]: r for r in table}

    # network cost on this machine: one batch of N chips, one thread (the API's setting)
    from facematch.models.bundle import ModelBundle

    emb = ModelBundle.load().embedder
    chip = np.full((N_JITTER, SIZE, SIZE, 3), 127, np.uint8)
    cost = {}
    for n in (1, 2, 4, 6, 8, 10):
        batch = np.repeat(chip[:1], n, axis=0)
        emb.raw(batch)
        t = time.perf_counter()
        for _ in range(5):
            emb.raw(batch)
        cost[n] = round(1000 * (time.perf_counter() - t) / 5, 1)

    doc = {
        "machine": describe(),
        "command": "python " + " ".join(sys.argv),
        "workers": args.workers,
        "note": "machine shared with other jobs while running; seconds are wall time",
        "seconds": {"embed_all_views": round(embed_seconds, 1), "search": round(search_seconds, 1),
                    "total_this_run": round(time.perf_counter() - t_start, 1),
                    "per_image_in_a_worker_mean": round(float(np.mean(per_image)), 3)},
        "images": len(images), "failed_images": failed,
        "views": {"geometric": {g: list(v) for g, v in GEOMETRIC.items()},
                  "every geometric view also as its mirror image (name~m)": True,
                  "jitter": f"j0..j{N_JITTER - 1}: seeded_jitter() of the p25 chip, dlib jitter_image's "
                            "distribution, numpy generator seeded by crc32 of the image's relative path",
                  "conventions": "pNN: dlib.get_face_chip(padding=0.NN); r+D: p25 window rotated by +D degrees "
                                 "(chip_details.angle + D); x+N / y+N: p25 window moved N chip pixels along the "
                                 "chip's x / y axis. A combo lists views; each view counts with its mirror "
                                 "unless marked (no mirror); +jK adds K jitter passes."},
        "embedding": "unit-normalised mean of the views' unit vectors; distance Euclidean",
        "baseline_check": base_check,
        "milliseconds_per_batch_one_thread": cost,
        "combinations_scored": len(rec),
        "table": table,
        "best_on_10fold_by_passes_optimistic": {b: oracle[b]["combo"] for b in budgets},
        "selected_on_dev_train_by_passes": {b: dev_pick[b]["combo"] for b in budgets},
        "selected_on_dev_train_not_in_10fold_by_passes": {b: dev_pick_indep[b]["combo"] for b in budgets},
        "selected_on_dev_train_any_passes": dev_best_any["combo"],
        "dev_train_pairs": int(len(dev_indep)), "dev_train_pairs_also_in_10fold": int((~dev_indep).sum()),
        "nested_selection_in_10fold": nested,
        "notes": [
            "exhaustive search: every subset of 1 to --max-groups mirrored geometric views (2 to 10 passes); "
            "rows with more passes, odd pass counts and jitters are the hand-built families only",
            "best_on_10fold_by_passes_optimistic is chosen on the same 6,000 pairs it is reported on "
            "(selection bias: an upper bound)",
            "selected_on_dev_train: best best-threshold accuracy (then AUC) on pairs_dev_train.txt; 525 of its "
            "1,250 pairs are also 10-fold pairs, hence also the selection on the 725 that are not",
            "nested_selection_in_10fold: for each test fold, the combination with at most that many passes is "
            "chosen on the other nine folds (accuracy at the best threshold, then AUC, then fewer passes): "
            "an unbiased estimate of choosing a view set this way",
            "vs_baseline: pairs this combination gets right and the baseline wrong (fixed) and the reverse "
            "(broken) under the 10-fold protocol; mcnemar_p is the exact two-sided test, meaningless for rows "
            "picked because they scored best",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n")

    print(f"\n{'combo':58s} {'passes':>6s} {'10-fold':>8s} {'TAR@1e-3':>9s} {'EER':>6s} {'fixed/broken':>12s} {'dev_tr':>7s}")
    for r in table:
        v = r["vs_baseline"]
        print(f"{r['combo'][:58]:58s} {r['passes']:6d} {100 * r['accuracy_10fold']:7.2f}% {100 * r['tar_at_far_1e-3']:8.2f}% "
              f"{100 * r['eer']:5.2f}% {v['fixed']:5d}/{v['broken']:<5d} {100 * r['dev_train_acc']:6.2f}%")
    print("\npasses  best-on-10fold (optimistic)           selected on dev_train -> its 10-fold    nested-in-10-fold")
    for b in budgets:
        d = rows[dev_pick[b]["combo"]]
        print(f"{b:5d}   {oracle[b]['combo'][:28]:28s} {100 * oracle[b]['acc']:6.2f}%   "
              f"{d['combo'][:28]:28s} {100 * d['accuracy_10fold']:6.2f}%   {100 * nested[b]['accuracy_10fold']:6.2f}%")
    print(f"\nembedding {embed_seconds:.0f} s, total {time.perf_counter() - t_start:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
