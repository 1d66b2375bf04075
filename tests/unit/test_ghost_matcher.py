"""``Matcher._ghosts`` on fake models: which other faces of a card photo are compared with the portrait, and
how many at most (a photo crowded with faces costs a bounded number of embeddings)."""

from __future__ import annotations

import numpy as np

from facematch.matcher import MAX_GHOSTS, SURE_PRESENCE, build_matcher
from facematch.models.blazeface import Detection
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.models.facemesh import Mesh
from facematch.settings import Settings
from facematch.types import ImageKind
from tests.support.fakes import FakeEmbedder, FakeLandmarker

SUBJECT = (100.0, 200.0, 300.0, 400.0)  # a 200-px face on the left of the card


def _face(box: tuple[float, float, float, float], score: float = 0.9, presence: float = 0.99) -> Detection:
    return Detection(box, score, np.zeros((6, 2), np.float32), Mesh(np.zeros((468, 3)), presence, np.zeros((2, 3))))


class CrowdedCard:
    """The subject, then ``faces`` (largest first), whatever the image."""

    def __init__(self, faces: list[Detection]) -> None:
        self.faces = faces

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return [_face(SUBJECT), *self.faces]

    def detect_in(self, rgb: np.ndarray, region: tuple[int, int, int, int], window: int,
                  known: list[tuple[float, float, float, float]]) -> list[Detection]:
        return []


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def embed(self, chip: np.ndarray) -> np.ndarray:
        self.calls += 1
        return super().embed(chip)


def ghosts(faces: list[Detection]) -> tuple[list[tuple[float, float, float, float]], int]:
    embedder = CountingEmbedder()
    matcher = build_matcher(Settings(), pool=ModelPool([ModelBundle(CrowdedCard(faces), FakeLandmarker(), embedder)]),
                            parallel=False)
    rgb = np.random.default_rng(0).integers(0, 255, (700, 1100, 3), dtype=np.uint8)
    analysis = matcher.analyze_image(rgb, ImageKind.CARD, "img1")
    return [g.box for g in analysis.ghosts], embedder.calls - 1  # less the portrait's own embedding


def test_only_faces_placed_as_a_ghost_and_sure_are_compared():
    placed = (800.0, 300.0, 890.0, 390.0)  # 0.45 of the face, 3.4 face widths to the right
    faces = [_face((400.0, 0.0, 600.0, 200.0)),  # as large as the portrait: another card or a person
             _face(placed, presence=SURE_PRESENCE / 2),  # the face mesh unsure
             _face(placed, score=0.6),  # BlazeFace unsure
             _face(placed)]
    assert ghosts(faces) == ([placed], 1)


def test_a_crowd_of_ghost_placed_faces_costs_at_most_max_ghosts_embeddings():
    faces = [_face((700.0 + 20 * k, 250.0 + 10 * k, 790.0 + 20 * k, 340.0 + 10 * k)) for k in range(12)]
    boxes, embedded = ghosts(faces)
    assert len(boxes) == embedded == MAX_GHOSTS
