from __future__ import annotations

import numpy as np

from facematch.checks import Finding
from facematch.checks.geometry import GeometryLimits, face_near_margin, face_too_small, several_faces
from facematch.checks.policy import pick

LIM = GeometryLimits()


def eyes(distance: float) -> np.ndarray:
    return np.array([[100 + distance + 5, 100], [100 + distance - 5, 100], [95, 100], [105, 100], [100 + distance / 2, 130]],
                    dtype=np.float32)


def test_face_too_small_uses_eye_distance():
    assert face_too_small(eyes(39), "img2", False, LIM)[0].code == 11
    assert face_too_small(eyes(41), "img2", False, LIM) == []
    assert face_too_small(eyes(21), "img1", True, LIM) == []
    f = face_too_small(eyes(19), "img1", True, LIM)[0]
    assert f.value == 19 and f.limit == LIM.min_eye_distance_card


def test_margin():
    shape = (1000, 1000, 3)
    assert face_near_margin((100, 100, 300, 300), shape, "img2", LIM) == []
    assert face_near_margin((5, 100, 205, 300), shape, "img2", LIM)[0].code == 12   # 5 px < 5 % of 200
    assert face_near_margin((700, 700, 1010, 990), shape, "img2", LIM)[0].value < 0  # crosses the border


def test_several_faces_ignores_tiny_and_doubtful_faces():
    assert several_faces([((0, 0, 100, 100), 0.9)], "img2", LIM) == []
    assert several_faces([((0, 0, 100, 100), 0.9), ((200, 0, 220, 20), 0.9)], "img2", LIM) == []
    assert several_faces([((0, 0, 100, 100), 0.9), ((200, 0, 280, 80), 0.6)], "img2", LIM) == []
    found = several_faces([((0, 0, 100, 100), 0.9), ((200, 0, 280, 80), 0.8)], "img2", LIM)[0]
    assert found.code == 6 and found.value == 0.8


def test_subject_is_the_largest_confident_face():
    from facematch.models.blazeface import Detection
    from facematch.models.detector import primary_first

    kp = np.zeros((6, 2), dtype=np.float32)
    texture = Detection((0, 0, 401, 401), 0.6, kp)
    face = Detection((500, 0, 900, 400), 0.87, kp)
    small = Detection((0, 500, 100, 600), 0.9, kp)
    assert primary_first([texture, face, small]) == [face, texture, small]


def _mesh(presence: float):
    from facematch.models.facemesh import Mesh

    return Mesh(np.zeros((468, 3), np.float32), presence, np.zeros((2, 3)))


def test_a_detection_the_mesh_does_not_confirm_is_not_the_subject():
    """BlazeFace can be sure of a printed emblem (a CCCD's) larger than a small portrait's face; the face
    mesh reads no face there, and the confirmed face is the subject."""
    from facematch.models.blazeface import Detection
    from facematch.models.detector import primary_first

    kp = np.zeros((6, 2), dtype=np.float32)
    emblem = Detection((0, 0, 110, 110), 0.75, kp, _mesh(0.001))
    face = Detection((200, 300, 244, 344), 0.84, kp, _mesh(1.0))
    assert primary_first([emblem, face], min_presence=0.1) == [face, emblem]
    assert primary_first([emblem, face]) == [emblem, face]  # no gate: the larger, as before
    # Nothing confirmed (a stamped specimen's portrait): the old rule among all of them.
    stamped = Detection((0, 0, 80, 80), 0.78, kp, _mesh(0.02))
    assert primary_first([stamped, emblem], min_presence=0.1)[0] is emblem
    # No mesh ran (another detector): every detection competes.
    bare = Detection((0, 0, 120, 120), 0.8, kp)
    assert primary_first([bare, face], min_presence=0.1)[0] is bare


def test_a_second_detection_the_mesh_does_not_confirm_is_not_a_second_face():
    from facematch.checks.suite import CheckLimits, FaceContext, run_checks
    from facematch.models.blazeface import Detection
    from facematch.types import ImageKind

    kp = np.zeros((6, 2), dtype=np.float32)
    face = Detection((100, 100, 300, 300), 0.9, kp, _mesh(1.0))
    rgb = np.zeros((600, 600, 3), np.uint8)

    def codes(other: Detection) -> set[int]:
        ctx = FaceContext(rgb, "img1", ImageKind.CHIP, [face, other], face, eyes(60), None)
        return {int(f.code) for f in run_checks(ctx, CheckLimits())}

    assert codes(Detection((350, 100, 450, 200), 0.75, kp, _mesh(0.02))) == set()  # an emblem
    assert codes(Detection((350, 100, 450, 200), 0.75, kp, _mesh(0.9))) == {6}  # a person
    assert codes(Detection((350, 100, 450, 200), 0.75, kp, _mesh(0.2))) == {6}  # a masked person (0.14-0.4)
    assert codes(Detection((350, 100, 450, 200), 0.75, kp)) == {6}  # no mesh ran: as before


def test_policy_fraud_before_quality():
    findings = [Finding(12, "m", "img2"), Finding(6, "s", "img2"), Finding(10, "r", "img1")]
    assert pick(findings) == 10
    assert pick([]) == 0


def test_check_limits_overrides_from_settings(monkeypatch):
    import pytest

    from facematch.checks.suite import CheckLimits
    from facematch.settings import Settings

    monkeypatch.setenv("FACEMATCH_CHECK_LIMITS", '{"geometry.min_eye_distance_portrait": 55}')
    limits = CheckLimits().with_overrides(Settings().check_limits)
    assert limits.geometry.min_eye_distance_portrait == 55.0
    assert limits.geometry.min_eye_distance_card == GeometryLimits().min_eye_distance_card
    with pytest.raises(ValueError):
        CheckLimits().with_overrides({"geometry.nope": 1})
