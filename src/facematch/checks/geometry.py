"""Checks on where and how large the faces are: several faces (6), face too
small (11), face too close to the margin (12)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facematch.checks import Finding
from facematch.types import InvalidCode


@dataclass(frozen=True)
class GeometryLimits:
    #: A second face counts when its box is at least this fraction of the
    #: largest face's width (smaller ones are background people or printed
    #: pictures far smaller than the subject).
    other_face_min_relative_width: float = 0.35
    #: ... and when the detector is fairly sure of it (BlazeFace score on the
    #: close-up): a half-believed texture is not a second person.
    other_face_min_score: float = 0.7
    #: ... and when the face mesh, where it ran, agrees it is a face (its presence probability): BlazeFace
    #: can be sure of a printed emblem the mesh reads as no face (0.02 and 0.001 on the rendered CCCD's
    #: emblem, ``benchmarks/card_capture.py``). The detector's own gate for faces BlazeFace half-believes
    #: (``FaceDetector.faint_presence``), not fitted: masked faces read 0.14-0.4, textures 0.01 or less.
    other_face_min_presence: float = 0.1
    #: Minimum distance between the eye centres, in pixels. ICAO asks ~90 px
    #: for passport photos; the embedder works on a 150 px chip where the eyes
    #: are ~40 px apart, so below these limits detail is invented by upsampling.
    min_eye_distance_portrait: float = 40.0
    min_eye_distance_card: float = 20.0
    #: A face box closer to a border than this fraction of the face's width
    #: (or crossing it) is too close to the margin.
    min_margin_fraction: float = 0.05


def several_faces(faces: list[tuple[tuple[float, float, float, float], float]], image: str,
                  limits: GeometryLimits) -> list[Finding]:
    """``faces``: (box, detector score) of every face, the subject first."""
    if len(faces) < 2:
        return []
    subject_width = faces[0][0][2] - faces[0][0][0]
    ratios = [(b[2] - b[0]) / subject_width for b, score in faces[1:] if score >= limits.other_face_min_score]
    ratio = max(ratios, default=0.0)
    if ratio < limits.other_face_min_relative_width:
        return []
    return [Finding(InvalidCode.SEVERAL_FACES, "several_faces", image, value=ratio,
                    limit=limits.other_face_min_relative_width)]


def eye_centres(landmarks5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The right and the left eye's centre, from dlib's 5 points (right eye 0-1, left eye 2-3)."""
    return landmarks5[0:2].mean(axis=0), landmarks5[2:4].mean(axis=0)


def eye_distance(landmarks5: np.ndarray) -> float:
    """Distance between the two eye centres, from dlib's 5 points."""
    right, left = eye_centres(landmarks5)
    return float(np.linalg.norm(right - left))


def face_too_small(landmarks5: np.ndarray, image: str, is_card: bool, limits: GeometryLimits) -> list[Finding]:
    limit = limits.min_eye_distance_card if is_card else limits.min_eye_distance_portrait
    value = eye_distance(landmarks5)
    if value >= limit:
        return []
    return [Finding(InvalidCode.FACE_TOO_SMALL, "face_too_small", image, value=value, limit=limit)]


def face_near_margin(box: tuple[float, float, float, float], shape: tuple[int, ...], image: str,
                     limits: GeometryLimits) -> list[Finding]:
    h, w = shape[:2]
    x1, y1, x2, y2 = box
    margin = min(x1, y1, w - x2, h - y2) / max(x2 - x1, 1e-6)
    if margin < limits.min_margin_fraction:
        return [Finding(InvalidCode.FACE_NEAR_MARGIN, "face_near_margin", image, value=margin,
                        limit=limits.min_margin_fraction)]
    return []
