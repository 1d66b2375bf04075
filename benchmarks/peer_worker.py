"""The peer, timed in its own interpreter (.venv-peer: face_recognition 1.3.0
beside the prebuilt dlib-bin, as `scripts/install.sh bench` sets it up).

    python peer_worker.py latency RUNS CARD.jpg SELFIE.jpg
    python peer_worker.py throughput SECONDS PROCESSES CARD.jpg SELFIE.jpg

Prints one JSON object. With its defaults: face_locations (HOG, upsampled
once) and face_encodings (5-point model, one jitter) on each image.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def pair(paths: tuple[str, str]) -> bool:
    import face_recognition

    encs = []
    for path in paths:
        img = face_recognition.load_image_file(path)
        encs.append(face_recognition.face_encodings(img, face_recognition.face_locations(img))[:1])
    return all(encs)


def main() -> None:
    mode = sys.argv[1]
    from importlib.metadata import version

    import dlib

    info = {"system": f"face_recognition {version('face_recognition')} defaults",
            "dlib": f"{dlib.__version__} (BLAS {'on' if dlib.DLIB_USE_BLAS else 'off'})", "python": sys.executable}
    if mode == "latency":
        runs, paths = int(sys.argv[2]), (sys.argv[3], sys.argv[4])
        pair(paths)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            ok = pair(paths)
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({**info, "median_ms": round(statistics.median(times), 1), "runs": runs, "faces_found": ok}))
    else:
        seconds, procs, paths = float(sys.argv[2]), int(sys.argv[3]), (sys.argv[4], sys.argv[5])
        done = 0
        with ProcessPoolExecutor(procs) as pool:
            list(pool.map(pair, [paths] * procs))
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                done += sum(pool.map(pair, [paths] * procs))
            elapsed = time.perf_counter() - t0
        print(json.dumps({**info, "processes": procs, "seconds": round(elapsed, 1), "pairs": done,
                          "pairs_per_s": round(done / elapsed, 3)}))


if __name__ == "__main__":
    main()
