"""Face detection cascade over BlazeFace's two models.

Short-range finds near faces, including LFW's 150x150 crops (a face in all
7,701 LFW images, docs/accuracy.md); full-range finds the small portrait on a
photographed card; padding a tight crop with grey lets short-range find faces
that fill the whole frame (masked, cropped selfies); tiles find faces that
are small in a large frame. Each stage runs only when the ones before it
found nothing; every candidate is then verified on a close-up and by the
face mesh's face-presence score (``_refine``), with looser gates for what a
mask does to both models (``FaceDetector.__init__``).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facematch.models.blazeface import BlazeFace, Detection, _iou
from facematch.models.facemesh import FaceMesh, Mesh

#: A candidate is verified on a square close-up this many times its long side.
CLOSE_UP = 2.2
#: The close-up detection must overlap the candidate by more than this IoU.
CLOSE_UP_IOU = 0.3
#: The padded stage adds this fraction of each side in grey (faces that fill the frame).
PAD_FRACTION = 0.3
#: The tiled stage's tiles: this fraction of the short side, half-overlapping; no tiles below MIN_TILE px.
TILE_FRACTION = 0.6
MIN_TILE = 64
#: Full-range windows along a long image overlap by a quarter of their side.
WINDOW_STEP = 0.75


class FaceDetector:
    def __init__(self, short: BlazeFace, full: BlazeFace, mesh: FaceMesh, *, min_score: float = 0.5,
                 candidate_score: float = 0.5, min_presence: float = 0.5, sure_score: float = 0.7,
                 faint_presence: float = 0.1, weak_score: float = 0.4, wide_roi: float = 2.0) -> None:
        self.short = short
        self.full = full
        self.mesh = mesh
        #: A verified detection is kept when the face mesh's face-presence
        #: probability reaches ``min_presence``, or when BlazeFace itself is
        #: sure (``sure_score``): masks and sunglasses lower the mesh's
        #: presence score, while textures that fool BlazeFace (cups, pizza,
        #: laptops, printed patterns) score below 0.7 on it and near 0 on the mesh.
        #: Not all: a card's printed emblem can reach 0.75 on BlazeFace with the
        #: mesh at 0.001-0.02, so such a detection is kept but is the subject
        #: only when nothing the mesh confirms qualifies (``primary_first``) and
        #: is no second face (``GeometryLimits.other_face_min_presence``).
        self.min_presence = min_presence
        self.sure_score = sure_score
        #: Score a face must reach on its close-up crop to be reported.
        self.min_score = min_score
        #: Score a candidate needs on the whole image (or tile) to be verified:
        #: 0.3 let textures on synthetic cards through verification, so it equals min_score.
        self.candidate_score = candidate_score
        #: Masked faces (docs/checks.md, "What misses") fail that gate: the
        #: mask lowers both scores. A detection that fails it is still kept
        #: when (a) BlazeFace reaches ``min_score`` and the mesh's presence
        #: ``faint_presence``: masked faces leave the mesh at 0.14-0.4, while
        #: on the no-face photos every close-up that BlazeFace scores 0.5-0.7
        #: leaves it at 0.01 or less; (b) the mesh run on a region
        #: ``wide_roi`` times the box's side (MediaPipe's is 1.5) reaches
        #: ``min_presence``: on a masked face BlazeFace's box often covers
        #: little more than the eyes, and the usual region cuts the face;
        #: (c) the close-up, searched again down to ``weak_score`` (a tight
        #: crop's close-up is mostly grey padding, where a masked profile
        #: scores 0.46), yields a box below ``min_score`` on which the mesh
        #: reaches ``min_presence``: a weak BlazeFace score needs a confident
        #: mesh. A detection that passes the first gate is returned exactly
        #: as before. None of the three reaches ``sure_score``, so faces they
        #: add never count as a second face (invalidCode 6).
        self.faint_presence = faint_presence
        self.weak_score = weak_score
        self.wide_roi = wide_roi

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces found, largest first, boxes in pixels of ``rgb``.

        Every candidate is verified on a close-up crop around it (the
        short-range model at its best scale) and by the face mesh
        (``_refine``): false positives on textures (a card's guilloche, an
        emblem) lose their score there, and small faces get a sharper box
        and keypoints.
        """
        for stage in (self._whole, self._padded, self._tiled):
            found = [r for r in (self._refine(rgb, d) for d in stage(rgb)) if r is not None]
            if found:
                return primary_first(merge(found), min_presence=self.faint_presence)
        return []

    def detect_in(self, rgb: np.ndarray, region: tuple[int, int, int, int], window: int,
                  known: list[tuple[float, float, float, float]]) -> list[Detection]:
        """The faces inside ``region`` (``x1, y1, x2, y2`` in pixels of ``rgb``, clipped to it) found on
        square windows of side ``window`` (a quarter overlapping) by the full-range model, largest first: a
        small face that the whole-image stages miss in a large frame (a card's second, smaller print of its
        portrait). Candidates on a ``known`` face's box are left out; the others are verified as
        ``detect``'s are. Boxes in pixels of ``rgb``."""
        h, w = rgb.shape[:2]
        x1, y1 = max(0, region[0]), max(0, region[1])
        x2, y2 = min(w, region[2]), min(h, region[3])
        side = min(window, x2 - x1, y2 - y1)
        if side < MIN_TILE:
            return []
        step = max(1, int(side * WINDOW_STEP))
        found: list[Detection] = []
        for y in _starts(y1, y2, side, step):
            for x in _starts(x1, x2, side, step):
                tile = rgb[y:y + side, x:x + side]
                found += [d.shifted(x, y) for d in self.full.detect(tile, self.candidate_score)]
        new = [d for d in merge(found) if not known or _iou(np.array(d.box), np.array(known)).max() <= CLOSE_UP_IOU]
        verified = [r for r in (self._refine(rgb, d) for d in new) if r is not None]
        return primary_first(merge(verified), min_presence=self.faint_presence) if verified else []

    def _refine(self, rgb: np.ndarray, det: Detection) -> Detection | None:
        """``det`` re-detected on a close-up ``CLOSE_UP`` times its size and verified
        by the mesh (the gates are described in ``__init__``), or None."""
        h, w = rgb.shape[:2]
        side = CLOSE_UP * max(det.width, det.height)
        cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        x1, y1 = x0 + int(round(side)), y0 + int(round(side))
        crop = rgb[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
        if crop.size == 0:
            return None
        crop = cv2.copyMakeBorder(crop, max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w),
                                  cv2.BORDER_CONSTANT, value=(128, 128, 128))
        refined = self._match(det, [d.shifted(x0, y0) for d in self.short.detect(crop, self.min_score)])
        if refined is not None:
            mesh = self.mesh(rgb, refined)
            if mesh.face_score >= self.min_presence or refined.score >= self.sure_score:
                return dataclasses.replace(refined, mesh=mesh)
            if mesh.face_score >= self.faint_presence:
                return dataclasses.replace(refined, mesh=mesh)
            wide = self.mesh(rgb, refined, self.wide_roi)
            if wide.face_score >= self.min_presence:
                return dataclasses.replace(refined, mesh=wide)
        if self.weak_score < self.min_score:
            weak = self._match(det, [d.shifted(x0, y0) for d in self.short.detect(crop, self.weak_score)])
            if weak is not None and weak.score < self.min_score:
                mesh = self.mesh(rgb, weak)
                if mesh.face_score >= self.min_presence:
                    return dataclasses.replace(weak, mesh=mesh)
        return None

    @staticmethod
    def _match(det: Detection, candidates: list[Detection]) -> Detection | None:
        """The close-up detection that overlaps ``det`` most, if any does by IoU > ``CLOSE_UP_IOU``."""
        if not candidates:
            return None
        ious = _iou(np.array(det.box), np.array([c.box for c in candidates]))
        best = int(np.argmax(ious))
        return candidates[best] if ious[best] > CLOSE_UP_IOU else None

    def _whole(self, rgb: np.ndarray) -> list[Detection]:
        # Both ranges: short-range is sharper on near faces, full-range sees
        # faces down to ~1/20 of the frame. The full-range model runs on square
        # windows so that a wide or tall image is not shrunk by letter-boxing.
        found = self.short.detect(rgb, self.candidate_score)
        for x, y, side in square_windows(rgb.shape[1], rgb.shape[0]):
            found += [d.shifted(x, y) for d in self.full.detect(rgb[y:y + side, x:x + side], self.candidate_score)]
        return merge(found)

    def _padded(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        py, px = int(h * PAD_FRACTION), int(w * PAD_FRACTION)
        padded = cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        return [d.shifted(-px, -py) for d in self.short.detect(padded, self.candidate_score)]

    def _tiled(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        side = int(TILE_FRACTION * min(h, w))
        if side < MIN_TILE:
            return []
        step = side // 2
        found: list[Detection] = []
        for y in range(0, max(1, h - side + 1), step):
            for x in range(0, max(1, w - side + 1), step):
                tile = rgb[y:y + side, x:x + side]
                found += [d.shifted(x, y) for d in self.full.detect(tile, self.candidate_score)]
                found += [d.shifted(x, y) for d in self.short.detect(tile, self.candidate_score)]
        return merge(found)


def _starts(lo: int, hi: int, side: int, step: int) -> list[int]:
    """Window origins from ``lo`` every ``step`` so that windows of ``side`` cover ``[lo, hi)``, the last flush
    with ``hi``."""
    starts = list(range(lo, max(lo, hi - side) + 1, step))
    if starts[-1] + side < hi:
        starts.append(hi - side)
    return starts


def presence(det: Detection) -> float | None:
    """The face mesh's face-presence probability on ``det``, where the mesh ran on it."""
    return det.mesh.face_score if isinstance(det.mesh, Mesh) else None


def confirmed(det: Detection, min_presence: float) -> bool:
    """The face mesh agrees that ``det`` is a face (presence at least ``min_presence``), or did not run on it."""
    p = presence(det)
    return p is None or p >= min_presence


def primary_first(dets: list[Detection], relative_score: float = 0.85, min_presence: float = 0.0
                  ) -> list[Detection]:
    """Faces largest first, except that the first (the subject) is the largest
    of those scoring within ``relative_score`` of the best score: a textured
    background that BlazeFace half-believes (a building, a poster) must not
    win over a clear face of about the same size. Detections the face mesh
    does not confirm (``confirmed``: BlazeFace can be sure of a printed emblem
    on which the mesh reads no face) compete only when none is confirmed."""
    by_size = sorted(dets, key=lambda d: d.width * d.height, reverse=True)
    pool = [d for d in by_size if confirmed(d, min_presence)] or by_size
    best = max(d.score for d in pool)
    subject = next(d for d in pool if d.score >= relative_score * best)
    return [subject] + [d for d in by_size if d is not subject]


def square_windows(w: int, h: int, max_aspect: float = 1.34) -> list[tuple[int, int, int]]:
    """``(x, y, side)`` squares covering a ``w`` x ``h`` image; the whole image
    (letter-boxed) when it is close to square."""
    side = min(w, h)
    if max(w, h) / side <= max_aspect:
        return [(0, 0, max(w, h))]
    n = int(np.ceil((max(w, h) - side) / (side * WINDOW_STEP))) + 1
    starts = np.linspace(0, max(w, h) - side, n).round().astype(int)
    return [(int(s), 0, side) if w > h else (0, int(s), side) for s in starts]


def merge(dets: list[Detection], iou: float = 0.3) -> list[Detection]:
    """Drop detections overlapping a better-scored one."""
    dets = sorted(dets, key=lambda d: d.score, reverse=True)
    kept: list[Detection] = []
    for d in dets:
        if kept and (_iou(np.array(d.box), np.array([k.box for k in kept])) > iou).any():
            continue
        kept.append(d)
    return kept
