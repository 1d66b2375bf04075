"""SFace under ONNX Runtime (the folded graph) against OpenCV's dnn running the
shipped block-quantised file: time per call and agreement of the vectors.

    .venv/bin/python -m benchmarks.sface_runtime [--runs 100]

Inputs: 112x112 chips cut from scikit-image's astronaut and camera man and a
noise chip. Medians over ``--runs`` calls after 10 warm-up calls, 1 and 2
threads, batch 1 and batch 2 (a face and its mirror image, as the matcher
runs it). Writes benchmarks/results/sface_runtime.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage import data

from benchmarks import machine
from facematch.models import sface, weights


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results/sface_runtime.json")
    args = ap.parse_args()
    path = weights.SFACE.verified_path()
    camera = np.repeat(data.camera()[:, :, None], 3, axis=2)
    chips = np.stack([cv2.resize(data.astronaut()[30:230, 150:350], (112, 112)), cv2.resize(camera, (112, 112)),
                      np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8)])
    reference = cv2.FaceRecognizerSF.create(str(path), "")
    result: dict[str, Any] = {"machine": machine.describe(), "command": "python " + " ".join(sys.argv),
                              "onnxruntime_ms": {}, "opencv_dnn_ms": {}}
    net = sface.load(path, mirror=False)
    cos = []
    for c in chips:
        a = net.raw(c[None])[0]
        b = reference.feature(np.ascontiguousarray(c[..., ::-1])).ravel()
        cos.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    result["cosine_vs_opencv"] = cos
    for threads in (1, 2):
        net = sface.load(path, mirror=False, threads=threads)
        result["onnxruntime_ms"][f"{threads} thread(s)"] = {
            "batch 1": median_ms(lambda n=net: n.raw(chips[:1]), args.runs),
            "batch 2 (face + mirror)": median_ms(lambda n=net: n.raw(np.stack([chips[0], chips[0][:, ::-1]])),
                                                 args.runs)}
        cv2.setNumThreads(threads)
        bgr = np.ascontiguousarray(chips[0][..., ::-1])
        result["opencv_dnn_ms"][f"{threads} thread(s)"] = {"batch 1": median_ms(lambda b=bgr: reference.feature(b),
                                                                                 args.runs)}
    machine.write_result(args.out, result, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
