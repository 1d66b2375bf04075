"""The detector's verification gates (``FaceDetector._refine``) on stub
models: which BlazeFace close-up score and face-mesh presence keep a
detection, and which mesh the kept detection carries. No weights needed."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.models.blazeface import Detection
from facematch.models.detector import FaceDetector
from facematch.models.facemesh import ROI_SCALE, Mesh

BOX = (100.0, 100.0, 200.0, 200.0)


def detection(box=BOX, score: float = 0.9) -> Detection:
    x1, y1, x2, y2 = box
    keypoints = np.float32([[x1 + 30, y1 + 40], [x2 - 30, y1 + 40], [150, 150], [150, 175], [x1, 140], [x2, 140]])
    return Detection(box, score, keypoints)


class StubBlazeFace:
    """Finds one face, where the candidate was, at a fixed close-up score."""

    def __init__(self, score: float) -> None:
        self.score = score

    def detect(self, rgb: np.ndarray, min_score: float = 0.5) -> list[Detection]:
        if self.score < min_score:
            return []
        h, w = rgb.shape[:2]
        half = w / 2.2 / 2  # the close-up is 2.2 times the candidate's side
        return [detection((w / 2 - half, h / 2 - half, w / 2 + half, h / 2 + half), self.score)]


class StubMesh:
    """Face presence by region scale: ``standard`` on MediaPipe's 1.5, ``wide`` on any other."""

    def __init__(self, standard: float, wide: float = 0.0) -> None:
        self.standard, self.wide = standard, wide

    def __call__(self, rgb: np.ndarray, det: Detection, scale: float = ROI_SCALE) -> Mesh:
        presence = self.standard if scale == ROI_SCALE else self.wide
        return Mesh(np.zeros((468, 3), np.float32), presence, np.full((2, 3), scale, np.float32))


def refine(score: float, standard: float, wide: float = 0.0) -> Detection | None:
    detector = FaceDetector(StubBlazeFace(score), StubBlazeFace(score), StubMesh(standard, wide))
    return detector._refine(np.zeros((400, 400, 3), np.uint8), detection())


@pytest.mark.parametrize("score, standard", [(0.8, 0.0), (0.6, 0.6), (0.5, 1.0)])
def test_the_first_gate_keeps_the_standard_mesh(score, standard):
    kept = refine(score, standard, wide=1.0)
    assert kept is not None and kept.score == score
    assert kept.mesh.face_score == standard and kept.mesh.roi[0, 0] == ROI_SCALE


def test_a_faint_mesh_is_enough_when_blazeface_passes():
    # A mask leaves the mesh at 0.14-0.4; textures that BlazeFace scores 0.5-0.7 leave it below 0.01.
    assert refine(0.6, 0.2) is not None
    assert refine(0.6, 0.005) is None


def test_a_wider_region_lets_the_mesh_see_a_masked_face():
    kept = refine(0.6, 0.005, wide=0.9)
    assert kept is not None and kept.mesh.face_score == 0.9 and kept.mesh.roi[0, 0] == 2.0
    assert refine(0.6, 0.005, wide=0.3) is None


def test_a_weak_close_up_score_needs_a_confident_mesh():
    assert refine(0.45, 0.9) is not None
    assert refine(0.45, 0.3) is None  # the faint gate is for scores of min_score and above
    assert refine(0.45, 0.005, wide=1.0) is None  # nor does the wide region rescue a weak score
    assert refine(0.35, 1.0) is None  # below weak_score nothing is found on the close-up


def test_added_faces_never_reach_the_second_face_score():
    # Several faces (6) counts faces scoring sure_score (0.7) or more; every
    # looser gate applies only below it, so it adds no second face.
    for score, standard, wide in [(0.69, 0.1, 0.0), (0.69, 0.0, 0.9), (0.49, 0.9, 0.0)]:
        kept = refine(score, standard, wide)
        assert kept is not None and kept.score < 0.7
