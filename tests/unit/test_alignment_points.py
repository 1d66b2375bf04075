"""The five points each embedder aligns by: ArcFace's from the face mesh, or
estimated from dlib's; the ``arcface5`` chip puts them on the template."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.models import alignment


def _similar(points: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return (points @ (scale * np.array([[c, s], [-s, c]])) + np.array(shift)).astype(np.float32)


def test_dlib_points_at_their_template_position_give_arcface_template():
    got = alignment.dlib5_to_arcface5(alignment.DLIB5_IN_ARCFACE112)
    assert np.allclose(got, alignment.ARCFACE112, atol=1e-3)


def test_the_estimate_follows_the_face_in_the_image():
    dlib5 = _similar(alignment.DLIB5_IN_ARCFACE112, 0.3, 2.5, (140.0, 60.0))
    expected = _similar(alignment.ARCFACE112, 0.3, 2.5, (140.0, 60.0))
    assert np.allclose(alignment.dlib5_to_arcface5(dlib5), expected, atol=1e-2)


def test_mesh_five_takes_eye_centres_nose_tip_and_mouth_corners():
    mesh = np.zeros((468, 3), np.float32)
    mesh[list(alignment.MESH_EYE_IMAGE_LEFT), :2] = (10, 20)
    mesh[list(alignment.MESH_EYE_IMAGE_RIGHT), :2] = (30, 20)
    mesh[alignment.MESH_NOSE_TIP, :2] = (20, 30)
    mesh[alignment.MESH_MOUTH_IMAGE_LEFT, :2] = (12, 40)
    mesh[alignment.MESH_MOUTH_IMAGE_RIGHT, :2] = (28, 40)
    assert alignment.mesh_five(mesh).tolist() == [[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]]


def test_alignment_points_prefers_the_mesh_and_falls_back_to_dlib():
    dlib5 = _similar(alignment.DLIB5_IN_ARCFACE112, 0.0, 2.0, (10.0, 10.0))
    mesh = np.random.default_rng(0).uniform(0, 200, (468, 3)).astype(np.float32)
    assert np.array_equal(alignment.alignment_points("dlib5", dlib5, mesh), dlib5)
    assert np.array_equal(alignment.alignment_points("arcface5", dlib5, mesh), alignment.mesh_five(mesh))
    assert np.allclose(alignment.alignment_points("arcface5", dlib5, None), alignment.dlib5_to_arcface5(dlib5))
    with pytest.raises(ValueError, match="unknown landmark set"):
        alignment.alignment_points("68", dlib5, None)


def test_arcface5_chip_puts_the_points_on_the_template():
    image = np.zeros((400, 400, 3), np.uint8)
    points = _similar(alignment.ARCFACE112, -0.2, 2.0, (120.0, 90.0))
    for x, y in points:
        image[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2] = 255
    chip = alignment.align(image, points, "arcface5", 112)
    assert chip.shape == (112, 112, 3)
    for x, y in alignment.ARCFACE112:
        assert chip[int(round(y)), int(round(x))].max() > 100
    assert alignment.POINTS["arcface5"] == "arcface5" and alignment.POINTS["arcface112"] == "dlib5"
