"""Face detection cascade over BlazeFace's two models.

Measured on this machine (see docs/models.md): BlazeFace short-range finds a
face in 800/800 LFW 150x150 crops in ~2 ms each; full-range finds the small
portrait on a photographed card; padding a tight crop with grey lets
short-range find faces that fill the whole frame (masked, cropped selfies);
tiles find faces that are small in a large frame. Each stage runs only when
the ones before it found nothing, so the common case costs one model call.
"""

from __future__ import annotations

import cv2
import numpy as np

from facematch.models.blazeface import BlazeFace, Detection, _iou


class FaceDetector:
    def __init__(self, short: BlazeFace, full: BlazeFace, *, min_score: float = 0.5) -> None:
        self.short = short
        self.full = full
        self.min_score = min_score

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces found, largest first, boxes in pixels of ``rgb``."""
        for stage in (self._whole, self._padded, self._tiled):
            found = stage(rgb)
            if found:
                return sorted(found, key=lambda d: d.width * d.height, reverse=True)
        return []

    def _whole(self, rgb: np.ndarray) -> list[Detection]:
        # Both ranges: short-range is sharper on near faces, full-range sees
        # faces down to ~1/20 of the frame. Merge, preferring the better score.
        return merge(self.short.detect(rgb, self.min_score) + self.full.detect(rgb, self.min_score))

    def _padded(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        py, px = int(h * 0.3), int(w * 0.3)
        padded = cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        return [d.shifted(-px, -py) for d in self.short.detect(padded, self.min_score)]

    def _tiled(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        side = int(0.6 * min(h, w))
        if side < 64:
            return []
        step = side // 2
        found: list[Detection] = []
        for y in range(0, max(1, h - side + 1), step):
            for x in range(0, max(1, w - side + 1), step):
                tile = rgb[y:y + side, x:x + side]
                found += [d.shifted(x, y) for d in self.full.detect(tile, self.min_score)]
                found += [d.shifted(x, y) for d in self.short.detect(tile, self.min_score)]
        return merge(found)


def merge(dets: list[Detection], iou: float = 0.3) -> list[Detection]:
    """Drop detections overlapping a better-scored one."""
    dets = sorted(dets, key=lambda d: d.score, reverse=True)
    kept: list[Detection] = []
    for d in dets:
        if kept and (_iou(np.array(d.box), np.array([k.box for k in kept])) > iou).any():
            continue
        kept.append(d)
    return kept
