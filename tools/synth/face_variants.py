"""A real photo made into the harder cases of the occlusion checks: shrunk
to a small face, turned (one side foreshortened), rolled, cut by the frame
at one eye, greyscale. Used by ``benchmarks/sunglasses_stress.py`` (which
detects the face again on each variant) and ``tools/fit_sunglasses.py``
(which carries the face mesh found on the photo through the same warp, to
fit on many variants without running the detector on each).

``variant(rgb, points, name)`` returns the new image and the mesh ``points``
moved with it (image pixels), or None when the variant does not apply (a
shrink that would enlarge).
"""

from __future__ import annotations

import cv2
import numpy as np

from facematch.checks.occlusion import EYE_A, EYE_B, eye_distance

VARIANTS = ("own", "eyes24", "eyes16", "eyes12", "eyes8", "turned_left", "turned_right", "rolled",
            "cut_left", "cut_right", "grey")
#: Turned: one side of the image keeps its height, the other shrinks to
#: ``1 - 2 * TURN_SHRINK``, and the whole is narrowed to ``TURN_WIDTH``: a
#: plane turned by about 35 degrees.
TURN_WIDTH = 0.75
TURN_SHRINK = 0.15
ROLL_DEGREES = 30.0


def _affine(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = np.asarray(points, np.float64).copy()
    out[:, :2] = out[:, :2] @ m[:, :2].T + m[:, 2]
    return out


def variant(rgb: np.ndarray, points: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``rgb`` made into the variant ``name`` (``VARIANTS``, or ``eyesN`` for any
    N), with the mesh ``points`` (image pixels) carried along."""
    h, w = rgb.shape[:2]
    pts = np.asarray(points, np.float64)
    if name == "own":
        return rgb, pts
    if name == "grey":
        return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2), pts
    if name.startswith("eyes"):
        f = int(name[4:]) / eye_distance(pts)
        if f >= 1:
            return None
        size = (max(1, round(w * f)), max(1, round(h * f)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        return small, _affine(pts, np.array([[size[0] / w, 0, 0], [0, size[1] / h, 0]]))
    if name == "rolled":
        centre = (pts[list(EYE_A), :2].mean(0) + pts[list(EYE_B), :2].mean(0)) / 2
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), ROLL_DEGREES, 1.0)
        return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE), _affine(pts, m)
    if name in ("turned_left", "turned_right"):
        s, k = TURN_WIDTH * w, TURN_SHRINK * h
        src = np.float32([[0, 0], [0, h], [w, 0], [w, h]])
        dst = np.float32([[0, 0], [0, h], [s, k], [s, h - k]])  # the image's right side recedes
        if name == "turned_left":
            dst = np.float32([[0, k], [0, h - k], [s, 0], [s, h]])
        m = cv2.getPerspectiveTransform(src, dst)
        out = pts.copy()
        out[:, :2] = cv2.perspectiveTransform(pts[None, :, :2].astype(np.float64), m)[0]
        return cv2.warpPerspective(rgb, m, (round(s), h), borderMode=cv2.BORDER_REPLICATE), out
    if name in ("cut_left", "cut_right"):
        # The frame cuts the face at the outer corner of the eye on that side.
        left, right = sorted([float(pts[33, 0]), float(pts[263, 0])])
        if name == "cut_left":
            x = max(0, round(left))
            return np.ascontiguousarray(rgb[:, x:]), _affine(pts, np.array([[1.0, 0, -x], [0, 1, 0]]))
        return np.ascontiguousarray(rgb[:, :min(w, round(right) + 1)]), pts
    raise ValueError(f"unknown variant {name!r}")
