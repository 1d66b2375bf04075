"""A card photographed upside down or turned a quarter (``Matcher.analyze_image``, ``CARD_TURNS``): where no
face is found, the photo is searched again turned, on fake models that see a face only one way up."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.matcher import CARD_TURNS, SURE_PRESENCE, TURNED_MIN_SIZE, build_matcher, unturned
from facematch.models.blazeface import Detection
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.models.facemesh import Mesh
from facematch.settings import Settings
from facematch.types import ImageKind
from tests.support.fakes import FakeEmbedder, FakeLandmarker

BOX = (20.0, 10.0, 60.0, 60.0)  # where the fake detector finds the face when the photo is upright


class UprightOnly:
    """Finds a face at ``BOX`` when the photo's bright mark lies in its top-left corner, i.e. upright."""

    def __init__(self, score: float = 0.9, presence: float = 0.99) -> None:
        self.score, self.presence = score, presence
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        if rgb[:5, :5].mean() < 200:
            return []
        return [Detection(BOX, self.score, np.zeros((6, 2), np.float32),
                          Mesh(np.zeros((468, 3)), self.presence, np.zeros((2, 3))))]

    def detect_in(self, rgb: np.ndarray, region: tuple[int, int, int, int], window: int,
                  known: list[tuple[float, float, float, float]]) -> list[Detection]:
        return []


def photo(turns: int) -> np.ndarray:
    """A 120x200 photo, upright with its mark top left, then turned ``turns`` quarter turns anticlockwise."""
    rgb = np.random.default_rng(0).integers(0, 150, (120, 200, 3), dtype=np.uint8)
    rgb[:8, :8] = 255
    return np.ascontiguousarray(np.rot90(rgb, turns))


def analyse(detector: UprightOnly, rgb: np.ndarray, kind: ImageKind = ImageKind.CARD):
    pool = ModelPool([ModelBundle(detector, FakeLandmarker(), FakeEmbedder())])
    return build_matcher(Settings(), pool=pool, parallel=False).analyze_image(rgb, kind, "img1", checks=False)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_turned_card_is_searched_turned_back(turns):
    rgb = photo(turns)
    a = analyse(UprightOnly(), rgb)
    assert a.face is not None and a.turned == (4 - turns) % 4 and a.face_count == 1
    # The box is given in the photo as sent: where BOX lies once the upright photo is turned.
    expect, _ = unturned(BOX, np.zeros((0, 2), np.float32), (4 - turns) % 4, photo(0).shape)
    assert a.face.box == pytest.approx(expect)
    x1, y1, x2, y2 = a.face.box
    assert 0 <= x1 < x2 <= rgb.shape[1] and 0 <= y1 < y2 <= rgb.shape[0]
    # The crop is cut from the upright photo: the face as it stands.
    assert a.face.crop.shape[:2] == (round(1.4 * (BOX[3] - BOX[1])), round(1.4 * (BOX[2] - BOX[0])))


def test_upright_card_is_searched_once():
    d = UprightOnly()
    a = analyse(d, photo(0))
    assert a.face is not None and a.turned == 0 and a.face.box == BOX and d.calls == 1


class BetterTurned(UprightOnly):
    """A face either way up, but one both models are sure of only upside down (a poor box, as upright)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        sure = rgb[-5:, -5:].mean() >= 200  # the mark bottom right: the photo upside down
        return [Detection(BOX, 0.9 if sure else 0.6, np.zeros((6, 2), np.float32),
                          Mesh(np.zeros((468, 3)), 0.99, np.zeros((2, 3))))]


def test_an_unsure_face_is_searched_turned_and_replaced_by_a_sure_one():
    d = BetterTurned()
    a = analyse(d, photo(0))
    assert a.turned == 2 and a.face is not None and a.face.score == 0.9 and d.calls == 2
    # Not sure either way: the photo as sent, after every turn was tried.
    d = UprightOnly(score=0.6)
    a = analyse(d, photo(0))
    assert a.turned == 0 and a.face is not None and a.face.score == 0.6 and d.calls == 1 + len(CARD_TURNS)


class SmallerTurned(UprightOnly):
    """An unsure face at ``BOX`` as sent; upside down, a sure face of ``side`` px only."""

    def __init__(self, side: float) -> None:
        super().__init__()
        self.side = side

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        upside_down = rgb[-5:, -5:].mean() >= 200
        box = (100.0, 50.0, 100.0 + self.side, 50.0 + self.side) if upside_down else BOX
        return [Detection(box, 0.9 if upside_down else 0.6, np.zeros((6, 2), np.float32),
                          Mesh(np.zeros((468, 3)), 0.99, np.zeros((2, 3))))]


def test_a_smaller_face_found_turned_does_not_replace_the_portrait():
    """A card's second print of its portrait, or a texture, smaller than the face found as sent, is not taken
    for the portrait however sure the models are of it."""
    side = max(BOX[2] - BOX[0], BOX[3] - BOX[1])  # 50 px
    a = analyse(SmallerTurned(0.45 * side), photo(0))
    assert a.turned == 0 and a.face is not None and a.face.box == BOX
    a = analyse(SmallerTurned(TURNED_MIN_SIZE * side + 1), photo(0))
    assert a.turned == 2


def test_portrait_is_not_turned():
    d = UprightOnly()
    a = analyse(d, photo(2), ImageKind.PORTRAIT)
    assert a.face is None and d.calls == 1


@pytest.mark.parametrize("score, presence", [(0.6, 0.99), (0.9, SURE_PRESENCE / 2)])
def test_a_face_found_only_turned_needs_both_models_sure(score, presence):
    d = UprightOnly(score, presence)
    a = analyse(d, photo(2))
    assert a.face is None and a.turned == 0 and d.calls == 1 + len(CARD_TURNS)


def test_unturned_inverts_rot90():
    img = np.zeros((30, 50), np.uint8)
    img[7, 11] = 1  # the pixel whose corners are (11, 7) and (12, 8)
    for k in range(4):
        turned = np.rot90(img, k)
        y, x = np.argwhere(turned)[0]
        box, points = unturned((x, y, x + 1, y + 1), np.array([[x + 0.5, y + 0.5]], np.float32), k, turned.shape)
        assert box == (11.0, 7.0, 12.0, 8.0) and points.tolist() == [[11.5, 7.5]]


class Relative(UprightOnly):
    """A face at the same place relative to the photo, whatever its size, when the photo is upright; records
    the size of every photo it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.shapes.append(rgb.shape[:2])
        if rgb[:5, :5].mean() < 200:
            return []
        h, w = rgb.shape[:2]
        points = np.column_stack([np.full(468, 0.2 * w), np.full(468, 0.3 * h), np.full(468, 0.01 * w)])
        return [Detection((0.1 * w, 0.1 * h, 0.3 * w, 0.5 * h), 0.9, np.full((6, 2), 0.2 * w, np.float32),
                          Mesh(points, 0.99, np.eye(2, 3)))]


def test_a_large_photo_is_searched_turned_at_a_reduced_size():
    """A 12-megapixel card photo upside down: the turns are searched on the photo halved (a quarter of the
    pixels, each turn), and the face found is mapped back into the photo itself, mesh included."""
    from facematch.matcher import TURN_SEARCH_SIDE

    h, w = 2 * TURN_SEARCH_SIDE - 200, 2 * TURN_SEARCH_SIDE + 32
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:40, :40] = 255
    d = Relative()
    a = analyse(d, np.ascontiguousarray(np.rot90(rgb, 2)))
    assert a.turned == 2 and d.shapes == [(h, w), (h // 2, w // 2)]
    expect, _ = unturned((0.1 * w, 0.1 * h, 0.3 * w, 0.5 * h), np.zeros((0, 2), np.float32), 2, (h, w))
    assert a.face is not None and a.face.box == pytest.approx(expect, abs=1.0)
    mesh = Detection((0, 0, 2, 2), 0.9, np.zeros((6, 2), np.float32), Mesh(np.ones((468, 3)), 0.5, np.eye(2, 3)))
    big = mesh.scaled(2.0).mesh
    assert isinstance(big, Mesh) and np.all(big.points == 2.0) and big.face_score == 0.5
    assert np.allclose(big.roi[:, :2], 0.5 * np.eye(2))  # the image -> model input affine, for the larger image
