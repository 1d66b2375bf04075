"""A folder of images through the service's pipeline on every core: the worker processes of the commands
that read one (``facematch eval``'s embeddings, ``pad-limit``, ``checks``).

Each process builds one ``Matcher`` from the settings when it starts (``build_matcher``, one model bundle, no
side thread: the processes are the parallelism) and keeps it for every task it is given; a task, a module-level
function so that it can be sent to the process, reads it with ``matcher()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from facematch.imaging.decode import IMAGE_SUFFIXES
from facematch.matcher import Matcher, build_matcher
from facematch.settings import Settings

T = TypeVar("T")
R = TypeVar("R")

_MATCHER: Matcher | None = None


def image_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (subfolders included) named as an image the service decodes, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _start(settings: Settings, options: dict[str, Any] | None) -> None:
    global _MATCHER
    if options is None:
        return
    _MATCHER = build_matcher(settings, pool_size=1, parallel=False, **options)


def matcher() -> Matcher:
    """This worker process's matcher."""
    if _MATCHER is None:
        raise RuntimeError("no matcher here: call from a task given to workers.run")
    return _MATCHER


def run(task: Callable[[T], R], items: Sequence[T], settings: Settings, *, workers: int | None = None,
        progress: Callable[[int], None] | None = None, chunksize: int = 4,
        matcher_options: dict[str, Any] | None = None) -> list[R]:
    """``task`` of each item, in ``items``' order, on ``workers`` processes (default: one per core, at most one
    per item). Each builds its matcher with ``matcher_options`` (``build_matcher``'s keywords; None: no matcher,
    for a task that brings its own models); ``progress(1)`` after each item."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(items) or 1))
    out: list[R] = []
    with ProcessPoolExecutor(workers, initializer=_start, initargs=(settings, matcher_options)) as pool:
        for result in pool.map(task, items, chunksize=chunksize):
            out.append(result)
            if progress is not None:
                progress(1)
    return out
