"""Embed every image of a pair list once, through the service's own pipeline,
on all cores (one model bundle per process)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from facematch.errors import FaceMatchError
from facematch.imaging.decode import decode_image

_BUNDLE = None


def _init(mirror: bool) -> None:
    global _BUNDLE
    from facematch.models.bundle import ModelBundle

    _BUNDLE = ModelBundle.load(mirror=mirror)


def _embed_one(path: str) -> tuple[str, np.ndarray | None, float]:
    """The embedding of the largest face (None: failure to acquire) and the detector score."""
    from facematch.pipeline import PORTRAIT, analyze

    try:
        rgb = decode_image(Path(path).read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)
    except FaceMatchError:
        return path, None, 0.0
    result = analyze(_BUNDLE, rgb, "img", PORTRAIT)
    if result.face is None:
        return path, None, 0.0
    return path, result.face.embedding, result.face.score


def embed_images(paths: list[str], *, mirror: bool = False, workers: int | None = None, progress=None) -> dict[str, np.ndarray | None]:
    workers = workers or os.cpu_count() or 1
    out: dict[str, np.ndarray | None] = {}
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(mirror,)) as pool:
        for path, emb, _score in pool.map(_embed_one, paths, chunksize=16):
            out[path] = emb
            if progress is not None:
                progress(1)
    return out
