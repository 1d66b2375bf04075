"""Small fakes of the model Protocols (``facematch.models.protocols``): the real
``Matcher`` and API run on them in milliseconds, with no weights.

The fake detector finds one face in the middle of any image that is not a
single flat colour; the embedding is the image's mean colour, so two images
of the same colours match and a red one does not match a blue one."""

from __future__ import annotations

import numpy as np

from facematch.models.blazeface import Detection
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.types import Box


class FakeDetector:
    def detect(self, rgb: np.ndarray) -> list[Detection]:
        if rgb.size == 0 or np.ptp(rgb) == 0:
            return []
        h, w = rgb.shape[:2]
        box = (w * 0.3, h * 0.3, w * 0.7, h * 0.7)
        keypoints = np.array([[w * 0.4, h * 0.4], [w * 0.6, h * 0.4], [w * 0.5, h * 0.5], [w * 0.5, h * 0.6],
                              [w * 0.3, h * 0.45], [w * 0.7, h * 0.45]], dtype=np.float32)
        return [Detection(box, 0.9, keypoints)]

    def detect_in(self, rgb: np.ndarray, region: tuple[int, int, int, int], window: int,
                  known: list[Box]) -> list[Detection]:
        return []  # the one face the fake finds is the subject


class FakeLandmarker:
    def __call__(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        return np.array([[x1 + 0.8 * w, y1 + 0.35 * h], [x1 + 0.6 * w, y1 + 0.35 * h], [x1 + 0.2 * w, y1 + 0.35 * h],
                         [x1 + 0.4 * w, y1 + 0.35 * h], [x1 + 0.5 * w, y1 + 0.65 * h]], dtype=np.float32)


class FakeEmbedder:
    name = "fake-mean-colour"
    dim = 3
    points = "dlib5"

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(rgb)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        v = chip.reshape(-1, 3).mean(axis=0) + 1.0
        return (v / np.linalg.norm(v)).astype(np.float32)


def fake_pool(size: int = 2) -> ModelPool:
    return ModelPool([ModelBundle(FakeDetector(), FakeLandmarker(), FakeEmbedder()) for _ in range(size)])
