"""Embed every image of a pair list once, on all cores, through the same
pipeline the API uses (decode, detect, align, embed), or through the peer."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from facematch.errors import FaceMatchError

_BUNDLE = None
_KIND = "card"


def _init(kind: str) -> None:
    global _BUNDLE, _KIND
    from facematch.models.bundle import ModelBundle

    _KIND = kind
    _BUNDLE = ModelBundle.load()


def _embed_one(path: str) -> np.ndarray | None:
    """The embedding of the largest face, or None (failure to acquire)."""
    from facematch.imaging.decode import decode_image
    from facematch.pipeline import analyze

    try:
        rgb = decode_image(Path(path).read_bytes(), max_bytes=1 << 28, max_pixels=1 << 27)
    except (FaceMatchError, OSError):
        return None
    face = analyze(_BUNDLE, rgb, "img", _KIND).face
    return None if face is None else face.embedding


def _init_peer(_: str) -> None:
    pass


def embed_images(paths: list[str], *, peer: bool = False, kind: str = "portrait", workers: int | None = None,
                 progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray | None]:
    """``{path: embedding or None}``; one process per core, each with its own models."""
    from facematch.eval.peer import peer_embed_one

    workers = workers or os.cpu_count() or 1
    fn, init = (peer_embed_one, _init_peer) if peer else (_embed_one, _init)
    out: dict[str, np.ndarray | None] = {}
    with ProcessPoolExecutor(workers, initializer=init, initargs=(kind,)) as pool:
        for path, emb in zip(paths, pool.map(fn, paths, chunksize=8)):
            out[path] = emb
            if progress is not None:
                progress(1)
    return out
