"""tools/synth/face_variants.py: each warp carries the face mesh with the image."""

from __future__ import annotations

import numpy as np
import pytest

from tools.synth.face_variants import VARIANTS, variant


def _marked(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A dark image with a bright 5x5 dot at each of ``points``."""
    rgb = np.zeros((*shape, 3), np.uint8)
    for x, y in np.round(points[:, :2]).astype(int):
        rgb[y - 2:y + 3, x - 2:x + 3] = 255
    return rgb


def _mesh() -> np.ndarray:
    """468 points, the eye corners the variants read placed like a face's (eyes 60 px apart)."""
    pts = np.full((468, 3), [100.0, 110.0, 0.0])
    for i, x in ((33, 55), (133, 85), (362, 115), (263, 145)):
        pts[i, :2] = (x, 100)
    return pts


@pytest.mark.parametrize("name", VARIANTS)
def test_the_mesh_moves_with_the_image(name):
    pts = _mesh()
    probes = np.array([[55.0, 100.0], [145.0, 100.0], [100.0, 140.0]])
    made = variant(_marked(probes, (200, 200)), np.vstack([pts, np.c_[probes, np.zeros(3)]]), name)
    assert made is not None
    img, moved = made
    for x, y in moved[-3:, :2]:
        if 1 <= x < img.shape[1] - 1 and 1 <= y < img.shape[0] - 1:
            patch = img[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2]
            assert patch.max() > 10, (name, x, y)  # a dot shrunk 7.5 times keeps little of its light


def test_shrinking_gives_the_eye_distance_asked_and_never_enlarges():
    rgb = np.zeros((200, 200, 3), np.uint8)
    img, moved = variant(rgb, _mesh(), "eyes12")  # type: ignore[misc]
    eyes = np.hypot(*(moved[[33, 133], :2].mean(0) - moved[[263, 362], :2].mean(0)))
    assert abs(eyes - 12) < 0.5 and img.shape[0] < 200
    assert variant(rgb, _mesh(), "eyes80") is None


def test_grey_has_no_colour_and_the_cut_drops_one_side():
    rgb = np.dstack([np.full((200, 200), c, np.uint8) for c in (200, 120, 40)])
    grey, _ = variant(rgb, _mesh(), "grey")  # type: ignore[misc]
    assert (grey[:, :, 0] == grey[:, :, 2]).all()
    left, _ = variant(rgb, _mesh(), "cut_left")  # type: ignore[misc]
    right, _ = variant(rgb, _mesh(), "cut_right")  # type: ignore[misc]
    assert left.shape[1] == 200 - 55 and right.shape[1] == 146
