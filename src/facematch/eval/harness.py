"""``facematch eval``: a pair list in, metrics, scores, a ROC plot and a
report out. Each image is embedded once; both cores are used."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facematch.eval import metrics
from facematch.scoring import distance
from facematch.settings import Settings


def model_description(settings: Settings) -> str:
    """What a calibration fitted with these settings is valid for: the embedding network and its alignment."""
    from facematch.models import weights

    m = settings.models
    if m.embedder == "dlib-resnet-v1":
        return (f"{weights.DLIB_RESNET.relpath} sha256 {weights.DLIB_RESNET.sha256[:12]}, "
                "BlazeFace + dlib 5-point alignment")
    if m.embedder == "sface-2021dec":
        return (f"{weights.SFACE.relpath} sha256 {weights.SFACE.sha256[:12]} (SFace, folded to fp32), "
                "BlazeFace + face-mesh ArcFace five points")
    return f"{m.embedder}: {m.onnx.name or m.onnx.path} ({m.onnx.alignment} {m.onnx.size}px), BlazeFace + dlib 5-point"


@dataclass
class Pairs:
    a: list[str]
    b: list[str]
    labels: np.ndarray
    folds: np.ndarray | None

    @property
    def images(self) -> list[str]:
        return sorted(set(self.a) | set(self.b))


def read_pairs(path: Path, root: Path) -> Pairs:
    a, b, labels, folds = [], [], [], []
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) not in (3, 4):
            raise ValueError(f"{path}:{n}: expected 'path1 path2 label [fold]'")
        a.append(str(root / parts[0]))
        b.append(str(root / parts[1]))
        labels.append(int(parts[2]))
        folds.append(int(parts[3]) if len(parts) == 4 else -1)
    f = np.array(folds)
    return Pairs(a, b, np.array(labels, dtype=bool), None if (f < 0).any() else f)


def distances(pairs: Pairs, emb: dict[str, np.ndarray | None]) -> np.ndarray:
    """``scoring.distance`` per pair, as the matcher computes it; ``inf`` where either image has no face."""
    out = np.full(len(pairs.a), np.inf)
    for i, (x, y) in enumerate(zip(pairs.a, pairs.b, strict=True)):
        ex, ey = emb.get(x), emb.get(y)
        if ex is not None and ey is not None:
            out[i] = distance(ex, ey)
    return out


def evaluate(pairs: Pairs, emb: dict[str, np.ndarray | None]) -> tuple[dict[str, Any], np.ndarray]:
    d = distances(pairs, emb)
    failures = sum(1 for p in pairs.images if emb.get(p) is None)
    return metrics.summary(-d, pairs.labels, pairs.folds, failures, len(pairs.images)), d


def sampled_impostors(emb: dict[str, np.ndarray | None], n: int, seed: int = 0) -> np.ndarray:
    """Distances of ``n`` random pairs of images of different people (the
    identity is the image's folder, as in LFW), for a calibration with many
    more impostor pairs than a pair list holds."""
    paths = [p for p, e in emb.items() if e is not None]
    ident = np.array([Path(p).parent.name for p in paths])
    vecs = np.stack([v for v in emb.values() if v is not None])
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(paths), n * 2), rng.integers(0, len(paths), n * 2)
    keep = ident[i] != ident[j]
    i, j = i[keep][:n], j[keep][:n]
    return np.asarray(np.linalg.norm(vecs[i] - vecs[j], axis=1))


def sampled_genuines(emb: dict[str, np.ndarray | None]) -> np.ndarray:
    """Distances of every pair of images of the same person (folder)."""
    groups: dict[str, list[np.ndarray]] = {}
    for p, e in emb.items():
        if e is not None:
            groups.setdefault(Path(p).parent.name, []).append(e)
    out = []
    for vecs in groups.values():
        v = np.stack(vecs)
        iu = np.triu_indices(len(v), 1)
        out.append(np.linalg.norm(v[iu[0]] - v[iu[1]], axis=1))
    return np.concatenate(out) if out else np.array([])


def run(settings: Settings, pairs_file: Path, root: Path, out: Path, *, peer: bool = False, kind: str = "portrait",
        workers: int | None = None, fit_calibration: Path | None = None, extra_impostors: int = 0,
        command: str = "") -> dict[str, Any]:
    """Embed the pairs' images with the matcher ``settings`` describe (models,
    limits), score them with its calibration, and write the report."""
    from tqdm import tqdm

    from facematch.eval.embed import embed_images
    from facematch.matcher import load_calibration

    pairs = read_pairs(pairs_file, root)
    out.mkdir(parents=True, exist_ok=True)
    systems = [("facematch", False)] + ([("peer", True)] if peer else [])
    results: dict[str, dict[str, Any]] = {}
    dists: dict[str, np.ndarray] = {}
    calibration = load_calibration(settings)
    for name, is_peer in systems:
        t0 = time.perf_counter()
        with tqdm(total=len(pairs.images), desc=f"embed ({name})", unit="img") as bar:
            emb = embed_images(pairs.images, peer=is_peer, kind=kind, workers=workers, progress=bar.update,
                               settings=settings)
        m, d = evaluate(pairs, emb)
        m["seconds"] = round(time.perf_counter() - t0, 1)
        if is_peer:
            from facematch.eval.peer import peer_name

            m["system"] = peer_name()
        else:
            m["system"] = "facematch"
            m["calibration"] = calibration.version
            genuine, impostor = d[pairs.labels], d[~pairs.labels]
            for pct in (75.0, 65.0):
                t = calibration.distance_at(pct)
                m[f"far_at_{int(pct)}pct"] = float(np.mean(impostor < t))
                m[f"gar_at_{int(pct)}pct"] = float(np.mean(genuine < t))
        results[name], dists[name] = m, d
        if fit_calibration is not None and not is_peer:
            from facematch.fit import calibrate

            genuine, impostor = d[pairs.labels], d[~pairs.labels]
            if extra_impostors:
                genuine = np.concatenate([genuine, sampled_genuines(emb)])
                impostor = np.concatenate([impostor, sampled_impostors(emb, extra_impostors)])
            doc = calibrate.fit(genuine, impostor, model=model_description(settings), embedder=settings.models.embedder,
                                data=f"{pairs_file} (+{extra_impostors} sampled impostor pairs and all same-folder "
                                     "genuine pairs of its images)" if extra_impostors else str(pairs_file),
                                command=command, version=fit_calibration.stem)
            fit_calibration.write_text(json.dumps(doc, indent=2) + "\n")
    doc = {**results["facematch"], "pairs_file": str(pairs_file), "peer": results.get("peer")}
    (out / "metrics.json").write_text(json.dumps(doc, indent=2))
    with open(out / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path1", "path2", "label", "fold", "distance", "matching"] + (["peer_distance"] if peer else []))
        for i in range(len(pairs.a)):
            d = dists["facematch"][i]
            row = [pairs.a[i], pairs.b[i], int(pairs.labels[i]), "" if pairs.folds is None else int(pairs.folds[i]),
                   "" if not np.isfinite(d) else f"{d:.6f}",
                   "0.00" if not np.isfinite(d) else f"{calibration.percent(d):.2f}"]
            if peer:
                pd = dists["peer"][i]
                row.append("" if not np.isfinite(pd) else f"{pd:.6f}")
            w.writerow(row)
    plot_roc(pairs.labels, dists, out / "roc.png")
    (out / "report.md").write_text(report(doc, pairs_file))
    return doc


def plot_roc(labels: np.ndarray, dists: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    for name, d in dists.items():
        r = metrics.roc(-d, labels)
        ax.plot(np.maximum(r.far, 1e-5), r.tar, label=name)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def report(doc: dict[str, Any], pairs_file: Path) -> str:
    rows = [doc] + ([doc["peer"]] if doc.get("peer") else [])
    lines = [f"# Evaluation on `{pairs_file}`", "",
             f"{doc['pairs']} pairs ({doc['genuine_pairs']} genuine, {doc['impostor_pairs']} impostor), "
             f"{doc['images']} images.", "",
             "| system | 10-fold accuracy | TAR @ FAR 1e-2 | TAR @ FAR 1e-3 | EER | failure to acquire | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['system']} | {_pct(r.get('accuracy_10fold'))} | {_pct(r['tar_at_far_1e-2'])} | "
                     f"{_pct(r['tar_at_far_1e-3'])} | {_pct(r['eer'])} | {_pct(r['failure_to_acquire'])} "
                     f"({r['failed_images']}) | {r['seconds']} |")
    lines += ["", f"Calibration `{doc['calibration']}`: matching > 75 % accepts {_pct(doc['gar_at_75pct'])} of "
              f"genuine pairs at FAR {_pct(doc['far_at_75pct'])}; >= 65 % accepts {_pct(doc['gar_at_65pct'])} "
              f"at FAR {_pct(doc['far_at_65pct'])}.", "", "![ROC](roc.png)", ""]
    return "\n".join(lines)
