"""Embed every image of a pair list once, on all cores, through the same
``Matcher`` the API uses (decode with the configured limits, detect, align,
embed; no checks), or through the peer."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from facematch.errors import FaceMatchError
from facematch.eval import workers as pool
from facematch.settings import Settings
from facematch.types import ImageKind


def _embed_one(kind: ImageKind, path: str) -> np.ndarray | None:
    """The embedding of the subject's face, or None (failure to acquire)."""
    try:
        return pool.matcher().embed(Path(path).read_bytes(), kind)
    except (FaceMatchError, OSError):
        return None


def embed_images(paths: list[str], *, peer: bool = False, kind: str = "portrait", workers: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 settings: Settings | None = None) -> dict[str, np.ndarray | None]:
    """``{path: embedding or None}``; one process per core (``workers``), each
    with its own matcher built from ``settings`` (default: the environment's)."""
    from facematch.eval.peer import peer_embed_one

    task: Callable[[str], np.ndarray | None] = peer_embed_one if peer else partial(_embed_one, ImageKind(kind))
    found = pool.run(task, paths, settings or Settings(), workers=workers, progress=progress, chunksize=8,
                     matcher_options=None if peer else {"check_calibration": False})
    return dict(zip(paths, found, strict=True))
