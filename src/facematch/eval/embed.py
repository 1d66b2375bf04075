"""Embed every image of a pair list once, on all cores, through the same
``Matcher`` the API uses (decode with the configured limits, detect, align,
embed; no checks), or through the peer."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from facematch.errors import FaceMatchError
from facematch.matcher import Matcher
from facematch.settings import Settings
from facematch.types import ImageKind

_MATCHER: Matcher | None = None
_KIND = ImageKind.PORTRAIT


def _init(settings: Settings, kind: str) -> None:
    global _MATCHER, _KIND
    from facematch.matcher import build_matcher

    _KIND = ImageKind(kind)
    _MATCHER = build_matcher(settings, pool_size=1, parallel=False, check_calibration=False)


def _embed_one(path: str) -> np.ndarray | None:
    """The embedding of the subject's face, or None (failure to acquire)."""
    assert _MATCHER is not None, "worker not initialised"
    try:
        return _MATCHER.embed(Path(path).read_bytes(), _KIND)
    except (FaceMatchError, OSError):
        return None


def _init_peer(settings: Settings, kind: str) -> None:
    pass


def embed_images(paths: list[str], *, peer: bool = False, kind: str = "portrait", workers: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 settings: Settings | None = None) -> dict[str, np.ndarray | None]:
    """``{path: embedding or None}``; one process per core (``workers``), each
    with its own matcher built from ``settings`` (default: the environment's)."""
    from facematch.eval.peer import peer_embed_one

    workers = workers or os.cpu_count() or 1
    fn: Callable[[str], np.ndarray | None] = peer_embed_one if peer else _embed_one
    init = _init_peer if peer else _init
    out: dict[str, np.ndarray | None] = {}
    with ProcessPoolExecutor(workers, initializer=init, initargs=(settings or Settings(), kind)) as pool:
        for path, emb in zip(paths, pool.map(fn, paths, chunksize=8), strict=True):
            out[path] = emb
            if progress is not None:
                progress(1)
    return out
