"""Face alignment from the five dlib landmarks: the chip an embedding network
was trained on.

Landmarks are ``(5, 2)`` float pixels in dlib's order
(``facematch.types.LANDMARK_NAMES``): outer and inner corner of the eye on the
image's right, outer and inner corner of the eye on the image's left, base of
the nose. Chips are RGB uint8, ``(size, size, 3)``.

* ``"dlib150"``: dlib's own chip (``dlib.get_face_chip``, padding 0.25, 150
  px by default), the one dlib's ResNet was trained on. Built from the points
  alone it equals the chip from the predictor's ``full_object_detection``:
  ``get_face_chip`` only reads the parts (``tests/models/test_onnx_embedder.py``).
* ``"arcface112"``: the five-point template of InsightFace / ArcFace models
  (112 px; other sizes scale it). That template is for eye centres, nose tip
  and mouth corners, which we do not have; ``DLIB5_IN_ARCFACE112`` is where
  OUR five points fall in that frame on average, so the similarity transform
  from our points to it gives, on average, ArcFace's crop (provenance below).
* ``"arcface5"``: the same template, from the five points it was made for
  (eye centres, nose tip, mouth corners; ``ARCFACE5_NAMES``), taken from the
  468-point face mesh that verified the detection (``mesh_five``); where a
  detection has no mesh, from dlib's points through ``DLIB5_IN_ARCFACE112``
  (``dlib5_to_arcface5``). ``alignment_points`` picks the points a method
  takes. SFace is aligned this way: on the East-Asian dev sets it gave a
  higher TAR than dlib's points through the template or YuNet's points
  (docs/accuracy.md, "Alignment for SFace").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]

DLIB_PADDING = 0.25

#: InsightFace's ``arcface_dst`` (``insightface/utils/face_align.py``): eye
#: centre on the image's left, eye centre on the image's right, nose tip, mouth
#: corner on the image's left, on the image's right; pixels of a 112x112 chip.
ARCFACE112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                       [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)

#: dlib's five points (``LANDMARK_NAMES`` order) in ArcFace's 112x112 frame.
#: Fitted by ``tools/fit_alignment_template.py``: on each face (LFW images,
#: read-only, plus the astronaut and transformed copies), ArcFace's five points
#: were taken from the 468-point face mesh (eye-contour centroids, nose tip 1,
#: mouth corners 61 / 291), the least-squares similarity sending them onto
#: ``ARCFACE112`` was applied to dlib's five points, and the per-coordinate
#: median over the faces kept. Fitted on 437 faces (429 LFW people, every
#: 10th, first image; 8 astronaut variants): spread (std) of the mapped points
#: 1.4-2.4 px; on 218 held-out faces (template fitted on the other 219),
#: aligning by our points puts ArcFace's five mesh points 2.4 px (mean; 90th
#: percentile 4.6 px) from where aligning by those points themselves puts
#: them (benchmarks/results/alignment_template.json).
DLIB5_IN_ARCFACE112 = np.array([[80.8342, 52.5015], [66.7970, 52.8376], [31.5857, 52.6473],
                                [45.5090, 52.9507], [56.0323, 79.6176]], dtype=np.float32)


#: The order of ArcFace's five points (``ARCFACE112``), as the image shows them.
ARCFACE5_NAMES = ("eye_centre_image_left", "eye_centre_image_right", "nose_tip", "mouth_corner_image_left",
                  "mouth_corner_image_right")

#: Face-mesh indices: the contour of the eye on the image's left and right, the nose tip, the mouth corners
#: (MediaPipe's canonical face mesh; the same points ``tools/fit_alignment_template.py`` fitted on).
MESH_EYE_IMAGE_LEFT = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
MESH_EYE_IMAGE_RIGHT = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
MESH_NOSE_TIP, MESH_MOUTH_IMAGE_LEFT, MESH_MOUTH_IMAGE_RIGHT = 1, 61, 291


def mesh_five(mesh_points: np.ndarray) -> Points:
    """ArcFace's five points (``ARCFACE5_NAMES``) from the 468-point face mesh, pixels of the image."""
    xy = np.asarray(mesh_points, np.float32)[:, :2]
    return np.array([xy[list(MESH_EYE_IMAGE_LEFT)].mean(0), xy[list(MESH_EYE_IMAGE_RIGHT)].mean(0),
                     xy[MESH_NOSE_TIP], xy[MESH_MOUTH_IMAGE_LEFT], xy[MESH_MOUTH_IMAGE_RIGHT]], np.float32)


def dlib5_to_arcface5(landmarks: Points) -> Points:
    """ArcFace's five points estimated from dlib's five: where ``ARCFACE112`` falls in the image when dlib's
    points are placed on their average position in that frame (``DLIB5_IN_ARCFACE112``)."""
    forward = similarity(np.asarray(landmarks, np.float32), DLIB5_IN_ARCFACE112)
    back = cv2.invertAffineTransform(forward)
    return transform(ARCFACE112, np.asarray(back, np.float64))


def alignment_points(points: str, landmarks5: Points, mesh_points: np.ndarray | None) -> Points:
    """The five points an embedder's alignment takes (its ``points``): dlib's (``"dlib5"``, as given) or
    ArcFace's (``"arcface5"``: from the face mesh when there is one, else estimated from dlib's)."""
    if points == "dlib5":
        return np.asarray(landmarks5, np.float32)
    if points != "arcface5":
        raise ValueError(f"unknown landmark set {points!r}")
    if mesh_points is not None:
        return mesh_five(mesh_points)
    return dlib5_to_arcface5(landmarks5)


def similarity(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """The least-squares similarity (rotation, uniform scale, shift) sending
    ``src`` onto ``dst`` (Umeyama 1991), as a 2x3 matrix."""
    s, d = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = s.mean(axis=0), d.mean(axis=0)
    sc, dc = s - ms, d - md
    # dst ~ [[a, -b], [b, a]] @ src + t: solved in closed form.
    denom = float((sc ** 2).sum())
    if denom <= 0:
        raise ValueError("landmarks are degenerate (all at one point)")
    a = float((sc * dc).sum()) / denom
    b = float((sc[:, 0] * dc[:, 1] - sc[:, 1] * dc[:, 0]).sum()) / denom
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


def transform(points: Points, matrix: npt.NDArray[np.float64]) -> Points:
    """``points`` ``(n, 2)`` under the 2x3 affine ``matrix``."""
    p = np.asarray(points, np.float64)
    return (p @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def _check(rgb: Image, landmarks: Points) -> Points:
    pts = np.asarray(landmarks, dtype=np.float32)
    if pts.shape != (5, 2) or not np.isfinite(pts).all():
        raise ValueError(f"expected (5, 2) finite landmarks, got shape {pts.shape}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {rgb.dtype} {rgb.shape}")
    return pts


def dlib150(rgb: Image, landmarks: Points, size: int = 150) -> Image:
    """dlib's chip (padding 0.25) from the five points, as
    ``dlib.get_face_chip`` cuts it from the predictor's output."""
    import dlib

    pts = _check(rgb, landmarks)
    ipts = [dlib.point(round(float(x)), round(float(y))) for x, y in pts]
    x1, y1 = np.floor(pts.min(axis=0)).astype(int)
    x2, y2 = np.ceil(pts.max(axis=0)).astype(int)
    shape = dlib.full_object_detection(dlib.rectangle(int(x1), int(y1), int(x2), int(y2)), ipts)
    chip: Image = np.asarray(dlib.get_face_chip(np.ascontiguousarray(rgb), shape, size=size, padding=DLIB_PADDING))
    return chip


def arcface_matrix(landmarks: Points, size: int = 112) -> npt.NDArray[np.float64]:
    """The similarity from the image to the ``size`` chip: our points onto
    ``DLIB5_IN_ARCFACE112`` scaled by ``size / 112`` (OpenCV, LMEDS; least
    squares if LMEDS finds nothing)."""
    src = np.asarray(landmarks, np.float32)
    dst = DLIB5_IN_ARCFACE112 * np.float32(size / 112)
    matrix: npt.NDArray[Any] | None = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)[0]
    if matrix is None:  # LMEDS found no consensus
        return similarity(src, dst)
    return np.asarray(matrix, np.float64)


def arcface112(rgb: Image, landmarks: Points, size: int = 112) -> Image:
    """ArcFace's five-point crop, ``size`` pixels square (black outside the image)."""
    pts = _check(rgb, landmarks)
    chip = cv2.warpAffine(np.ascontiguousarray(rgb), arcface_matrix(pts, size), (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return np.asarray(chip, np.uint8)


def arcface5(rgb: Image, points: Points, size: int = 112) -> Image:
    """ArcFace's crop from ArcFace's own five points (``ARCFACE5_NAMES``): the least-squares similarity onto
    ``ARCFACE112`` scaled by ``size / 112``, as OpenCV's ``FaceRecognizerSF.alignCrop`` does for SFace."""
    pts = _check(rgb, points)
    matrix = similarity(pts, ARCFACE112 * np.float32(size / 112))
    chip = cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return np.asarray(chip, np.uint8)


#: Alignment methods by configured name: ``(rgb, landmarks, size) -> chip``.
ALIGNMENTS: dict[str, Callable[[Image, Points, int], Image]] = {"dlib150": dlib150, "arcface112": arcface112,
                                                                "arcface5": arcface5}

#: The chip size each method was defined for.
DEFAULT_SIZES: dict[str, int] = {"dlib150": 150, "arcface112": 112, "arcface5": 112}

#: The five points each method takes (``alignment_points``).
POINTS: dict[str, str] = {"dlib150": "dlib5", "arcface112": "dlib5", "arcface5": "arcface5"}


def align(rgb: Image, landmarks: Points, method: str, size: int) -> Image:
    """The ``size`` x ``size`` RGB chip of the face at ``landmarks`` by ``method``."""
    try:
        fn = ALIGNMENTS[method]
    except KeyError:
        raise ValueError(f"unknown alignment {method!r}; known: {', '.join(sorted(ALIGNMENTS))}") from None
    if size < 16:
        raise ValueError(f"chip size {size} is too small")
    return fn(rgb, landmarks, size)
