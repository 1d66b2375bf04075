"""Labels by eye (``benchmarks/labels/*.txt``: ``path value`` a line, ``#``
comments) and a job run over every LFW image: shared by the fitting runs
(``tools.fit_sunglasses``, ``tools.fit_hat``) and the benchmarks that
measure on the same labels.

``lfw_sunglasses.txt``: 1, sunglasses hide the eyes; -1, tinted glasses or
shade the eyes partly show through; every LFW image not listed: none.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

LABELS_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "labels"
LABELS = LABELS_DIR / "lfw_sunglasses.txt"
T = TypeVar("T")


def read_labels(path: Path = LABELS, value: Callable[[str], T] = int) -> dict[str, T]:  # type: ignore[assignment]
    """Image path (relative to its set's folder) -> label value (the rest of the line, read by ``value``)."""
    labels = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, label = line.split(maxsplit=1)
            labels[name] = value(label.strip())
    return labels


def over_lfw(data: Path, job, workers: int, nothing: str) -> list:
    """``job(path)`` for every LFW image, in ``workers`` processes; exits,
    saying ``nothing``, when there is no LFW under ``data``."""
    files = sorted(str(p) for p in (data / "lfw").rglob("*.jpg"))
    if not files:
        print(f"no LFW under {data / 'lfw'}: {nothing}")
        sys.exit(0)
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(job, files, chunksize=32))
