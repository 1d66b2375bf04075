"""MediaPipe's face mesh (468 points) with its face-presence score.

Run on the rotated square region around a BlazeFace detection (1.5x the box's
long side, eyes level), as MediaPipe's face landmark graph does. The model's
second output is the probability that the region holds a face; the detector
uses it to reject BlazeFace's false positives on textures, and the occlusion
checks use the points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facematch.models.blazeface import Detection
from facematch.models.runtime import Interpreter, Interpreters

ROI_SCALE = 1.5
INPUT = 192


@dataclass(frozen=True)
class Mesh:
    points: np.ndarray  # (468, 3): x, y in pixels of the original image, z in the same scale (relative depth)
    face_score: float  # probability that the region holds a face
    roi: np.ndarray  # (2, 3) affine: original image -> 192x192 model input

    def scaled(self, scale: float) -> Mesh:
        """The same mesh on the image resized by ``scale`` (depth scales with x and y)."""
        roi = np.asarray(self.roi, dtype=np.float64).copy()
        roi[:, :2] /= scale
        return Mesh(np.asarray(self.points) * scale, self.face_score, roi)


def roi_affine(det: Detection, scale: float = ROI_SCALE, size: int = INPUT) -> np.ndarray:
    """Affine transform from the image to a ``size``-square crop around ``det``
    with the eyes level (MediaPipe's DetectionsToRect + RectTransformation)."""
    x1, y1, x2, y2 = det.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * scale
    (ex0, ey0), (ex1, ey1) = det.keypoints[0], det.keypoints[1]
    angle = -math.atan2(ey0 - ey1, ex1 - ex0)
    angle -= 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
    c, s = math.cos(angle), math.sin(angle)
    half = side / 2

    def corner(u: float, v: float) -> tuple[float, float]:
        return cx + c * u - s * v, cy + s * u + c * v

    src = np.array([corner(-half, -half), corner(half, -half), corner(-half, half)], dtype=np.float32)
    dst = np.array([[0, 0], [size, 0], [0, size]], dtype=np.float32)
    return np.asarray(cv2.getAffineTransform(src, dst))


class FaceMesh:
    """Thread-safe: ``copies`` interpreters, one lent to each call (``runtime.Interpreters``)."""

    def __init__(self, model_path: Path, *, num_threads: int = 1, interpreter: Interpreter | None = None,
                 copies: int = 1) -> None:
        """``interpreter``: a LiteRT interpreter of the model already made (tests); else loaded from ``model_path``."""
        self._interpreters = Interpreters(str(model_path), copies, num_threads=num_threads, interpreter=interpreter)
        first = self._interpreters.first
        self._input = first.get_input_details()[0]["index"]
        outs = sorted(first.get_output_details(), key=lambda d: int(np.prod(d["shape"])), reverse=True)
        self._points, self._flag = outs[0]["index"], outs[1]["index"]

    def __call__(self, rgb: np.ndarray, det: Detection, scale: float = ROI_SCALE) -> Mesh:
        """The mesh on the square region ``scale`` times ``det``'s long side."""
        m = roi_affine(det, scale)
        crop = cv2.warpAffine(rgb, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=(0, 0, 0))
        with self._interpreters.lend() as it:
            it.set_tensor(self._input, (crop.astype(np.float32) / 255.0)[None])
            it.invoke()
            raw = it.get_tensor(self._points).reshape(-1, 3)
            logit = float(it.get_tensor(self._flag).ravel()[-1])
        inv = cv2.invertAffineTransform(m)
        xy = raw[:, :2] @ inv[:, :2].T + inv[:, 2]
        z = raw[:, 2:3] * math.hypot(inv[0, 0], inv[1, 0])
        return Mesh(np.hstack([xy, z]).astype(np.float32), 1.0 / (1.0 + math.exp(-max(min(logit, 80), -80))), m)
