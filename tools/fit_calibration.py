"""Fit the packaged calibrations: SFace's ``sface-v1`` (the default) and dlib's ``asia-v2``.

    for s in casia_v5 p101jp_s2/images boysplanet/images kpop_idols/images; do
        .venv/bin/python -m tools.make_card_set --asian ../shared/data/asian/$s \\
            --out /tmp/cards-${s%%/*} --workers 2; done
    .venv/bin/python -m tools.fit_calibration --data ../shared/data --cards /tmp [--write]
    .venv/bin/python -m tools.fit_calibration --version asia-v2 --asian-cards /tmp/asian-cards [--write]

Fitted on every East-Asian dev source's photo-photo and card-photo impostor
pairs (``tools/devsets.py``) by the rule of ``facematch.fit.sources``; the
artefact records, beside its provenance, the rule's held-out figures (5
identity folds of every source x 3 splits, and each source left out in
turn). ``--write`` rewrites the artefact and prints the sha256 to pin in
``facematch.artifacts.PACKAGED``. The same figures, with every dev set and
both networks: ``python -m benchmarks.networks``.

``asia-v2`` (dlib's network, FAR targets 0.1 % above 75 and 1 % at or above
65) is fitted on ``asian/casia_v5`` and one synthetic card per photo, with
the rule's held-out figures on 5 identity folds x 5 splits; measured by
``python -m benchmarks.population``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from facematch.fit import population as pop
from facematch.fit.sources import (
    HELD_OUT_SEEDS,
    RULE,
    TARGETS,
    held_out_cached,
    held_out_folds,
    impostor_sets,
    leave_one_source_out,
)
from tools.devsets import SOURCES, asian_samples, source_samples
from tools.fitting import write_artefact

REPO = Path(__file__).resolve().parents[1]
CALIBRATION_OUT = REPO / "src/facematch/data/calibration-sface-v1.json"
ASIA_V2 = REPO / "src/facematch/data/calibration-asia-v2.json"
ASIA_MODEL = ("models/dlib_face_recognition_resnet_model_v1.dat sha256 55533b28a958, BlazeFace + dlib 5-point "
              "alignment, chip + mirror")
#: The targets asia-v1/asia-v2 (dlib) were fitted for: FAR 0.1 % above 75, 1 % at or above 65.
ASIA_TARGETS = (1e-3, 1e-2)
NETWORK = "sface-2021dec"
MODEL = ("face_recognition_sface_2021dec_int8bq.onnx sha256 fb143eea0783 (OpenCV Zoo SFace, folded to fp32, "
         "ONNX Runtime), BlazeFace + face-mesh ArcFace five points, chip + mirror")
COMMAND = "python -m tools.fit_calibration --data ../shared/data --cards /tmp --write"


def fit_calibration(samples: dict[str, pop.Samples], extra: dict[str, Any]) -> dict[str, Any]:
    gen = np.concatenate([pop.distances(s, t)[0] for s in samples.values() for t in pop.PAIR_TYPES])
    data = ("../shared/data/asian/{" + ",".join(samples) + "} (research-use or unverified terms: only this "
            "monotone threshold map is derived from them) + one synthetic card printed from each photo "
            "(tools/make_card_set.py --asian, seed 0); per source, the photo pairs its pair list holds and "
            "card-photo pairs of the same photo pairs")
    return pop.fit_conservative(gen, {}, model=MODEL, data=data, command=COMMAND, version="sface-v1", rule=RULE,
                                targets=TARGETS, by_source=impostor_sets(samples),
                                extra={"embedder": "sface-2021dec", **extra})


def held_out_provenance(samples: dict[str, pop.Samples]) -> dict[str, Any]:
    folds, loso = held_out_folds(samples), leave_one_source_out(samples)
    return {"held_out": {
        "folds": "5 identity-disjoint folds of every source, fold splits (seeds) 0-2; pooled over folds",
        "all": folds["sets"]["all"],
        "leave_one_source_out": {
            n: {t: {"far_above_75": r[t]["far_above_75"]["rate"],
                    "far_at_or_above_65": r[t]["far_at_or_above_65"]["rate"]} for t in pop.PAIR_TYPES}
            for n, r in loso.items()}}}


def fit_asia_v2(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """dlib's ``asia-v2`` on CASIA's photos and their cards, with its held-out figures."""
    asian = asian_samples(args.data, args.asian_cards, Path("/tmp/pop-cache"))
    types = [t for t in pop.PAIR_TYPES if len(pop.pairs(asian, t)[0])]
    held = held_out_cached(Path("/tmp/pop-cache"), asian, "tail", ASIA_TARGETS)
    gen = np.concatenate([pop.distances(asian, t)[0] for t in types])
    doc = pop.fit_conservative(
        gen, {t: pop.impostor_set(asian, t) for t in types}, model=ASIA_MODEL,
        data=("../shared/data/asian/casia_v5 (40 people, 200 photos; CASIA-FaceV5 subset, research-use terms: "
              "only this monotone threshold map is derived from it) + one synthetic card per photo "
              "(tools/make_card_set.py --asian, seed 0): photo-photo and card-photo impostor pairs"),
        command=command, version="asia-v2", targets=ASIA_TARGETS,
        extra={"held_out": {"rule": held["rule"], "folds": "5 identity-disjoint folds of 8 people, "
                            f"splits (seeds) {list(HELD_OUT_SEEDS)}",
                            **{t: {k: {kk: v[kk] for kk in ("k", "n", "rate", "ci95", "per_split")}
                                   for k, v in held["pooled_over_splits"][t].items()
                                   if k.startswith(("far", "tar_at_7", "tar_at_6"))}
                               for t in types},
                            "note": held["note"]}})
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    ap.add_argument("--cards", type=Path, default=None, help="folder holding cards-<source>/ (make_card_set)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/facematch-networks"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--version", choices=("sface-v1", "asia-v2"), default="sface-v1")
    ap.add_argument("--asian-cards", type=Path, help="asia-v2: make_card_set --asian output for casia_v5")
    ap.add_argument("--write", action="store_true", help="write the calibration into src/facematch/data/")
    args = ap.parse_args()
    if args.version == "asia-v2":
        out = ASIA_V2
        doc = fit_asia_v2(args, "python -m tools.fit_calibration --version asia-v2 --asian-cards "
                          f"{args.asian_cards} --write")
    else:
        out = CALIBRATION_OUT
        samples = {n: source_samples(args, NETWORK, n) for n in SOURCES}
        doc = fit_calibration(samples, held_out_provenance(samples))
    print(f"d75 {doc['knots'][1][0]}, d65 {doc['knots'][2][0]}")
    if args.write:
        write_artefact(doc, out, indent=2)


if __name__ == "__main__":
    main()
