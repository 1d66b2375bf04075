"""Model bundles and the pool that lends them to matching threads.

A bundle is the set of models one thread uses for one image. Every bundle of
a pool holds the same models: ONNX Runtime sessions and dlib's shape predictor
are thread-safe, and the detector lends one of its LiteRT interpreters (which
are not) to each call, with about one copy of each for two threads
(``registry.detector_copies``). Bundles are built by ``models.registry`` from
settings; the pool bounds how many threads analyse an image at once.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from facematch.models.protocols import AttackDetector, Detector, Embedder, Landmarker

#: Side of the blank image the models are warmed up on.
WARM_UP_SIDE = 160


@dataclass
class ModelBundle:
    detector: Detector
    landmarker: Landmarker
    embedder: Embedder
    attack: AttackDetector | None = None

    def warm_up(self) -> None:
        blank = np.full((WARM_UP_SIDE, WARM_UP_SIDE, 3), 127, dtype=np.uint8)
        self.detector.detect(blank)
        points = np.array([[100, 60], [85, 60], [60, 60], [75, 60], [80, 90]], dtype=np.float32)
        self.embedder.embed(self.embedder.align(blank, points))


class ModelPool:
    """A fixed set of bundles; ``with pool.bundle() as b:`` borrows one."""

    def __init__(self, bundles: list[ModelBundle]) -> None:
        if not bundles:
            raise ValueError("a model pool needs at least one bundle")
        self._free: queue.Queue[ModelBundle] = queue.Queue()
        for b in bundles:
            self._free.put(b)
        self.size = len(bundles)
        #: The shared models, for callers that need no detector (``Matcher.embed_face``).
        self.embedder = bundles[0].embedder

    @contextlib.contextmanager
    def bundle(self) -> Iterator[ModelBundle]:
        b = self._free.get()
        try:
            yield b
        finally:
            self._free.put(b)
