"""The explicit model registry: builds every model once, warms it up, and
hands out one bundle per worker thread (the detectors are not thread-safe;
the embedding and landmark models are shared)."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from facematch.models import weights
from facematch.models.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFace
from facematch.models.detector import FaceDetector
from facematch.models.facemesh import FaceMesh
from facematch.models.dlib_models import Landmarks5
from facematch.models.dlib_onnx import OnnxEmbedder


@dataclass
class ModelBundle:
    detector: FaceDetector
    landmarks: Landmarks5
    embedder: OnnxEmbedder

    @classmethod
    def load(cls, *, verify: bool = False, mirror: bool = True, embedder: OnnxEmbedder | None = None,
             landmarks: Landmarks5 | None = None) -> "ModelBundle":
        """Every model, warmed up. ``embedder`` and ``landmarks`` (both
        thread-safe: ONNX Runtime sessions, and dlib's shape predictor by its
        documentation) may be shared between bundles; built when not given."""
        locate = (lambda w: w.verified_path()) if verify else (lambda w: w.path())
        bundle = cls(
            detector=FaceDetector(
                BlazeFace(locate(weights.BLAZEFACE_SHORT), SHORT_RANGE),
                BlazeFace(locate(weights.BLAZEFACE_FULL), FULL_RANGE),
                FaceMesh(locate(weights.FACE_MESH)),
            ),
            landmarks=landmarks or Landmarks5(locate(weights.DLIB_LANDMARKS_5)),
            embedder=embedder or OnnxEmbedder(locate(weights.DLIB_RESNET), mirror=mirror),
        )
        bundle.warm_up()
        return bundle

    def warm_up(self) -> None:
        blank = np.full((160, 160, 3), 127, dtype=np.uint8)
        self.detector.detect(blank)
        self.embedder.embed_chip(np.full((150, 150, 3), 127, dtype=np.uint8))


class ModelPool:
    """A fixed set of bundles; ``with pool.bundle() as b:`` borrows one."""

    def __init__(self, bundles: list[ModelBundle]) -> None:
        self._free: queue.Queue[ModelBundle] = queue.Queue()
        for b in bundles:
            self._free.put(b)
        self.size = len(bundles)

    @classmethod
    def load(cls, size: int, *, verify: bool = False, mirror: bool = True) -> "ModelPool":
        """``size`` bundles sharing one embedding session and one landmark
        model (11 MiB each); the detectors are per bundle (not thread-safe)."""
        first = ModelBundle.load(verify=verify, mirror=mirror)
        return cls([first] + [ModelBundle.load(verify=verify, embedder=first.embedder, landmarks=first.landmarks)
                              for _ in range(size - 1)])

    @contextlib.contextmanager
    def bundle(self) -> Iterator[ModelBundle]:
        b = self._free.get()
        try:
            yield b
        finally:
            self._free.put(b)
