"""Generated test images through the matcher, in process."""

from __future__ import annotations

from typing import Any

import numpy as np

from facematch.checks.suite import FaceContext
from facematch.matcher import ImageAnalysis, Matcher, MatchResult
from facematch.types import ImageKind


def analyze(matcher: Matcher, rgb: np.ndarray, role: str, kind: str | ImageKind) -> ImageAnalysis:
    return matcher.analyze_image(rgb, ImageKind(kind), role)


def match(matcher: Matcher, img1: np.ndarray, img2: np.ndarray, kind1: str | ImageKind) -> MatchResult:
    return matcher.compare(analyze(matcher, img1, "img1", kind1), analyze(matcher, img2, "img2", ImageKind.PORTRAIT))


def face_context(bundle: Any, rgb: np.ndarray, embedder: str | None = None, *, taps: bool = False) -> FaceContext:
    """The checks' view of the portrait ``rgb``'s first face as the matcher builds it (detection, dlib's points,
    the network's chip and embedding; with ``taps`` also its inner tensors), claimed to come from the network
    ``embedder`` (default: the bundle's own)."""
    from facematch.models.alignment import alignment_points

    best = bundle.detector.detect(rgb)[0]
    points = bundle.landmarker(rgb, best.box)
    chip = bundle.embedder.align(rgb, alignment_points(bundle.embedder.points, points, best.mesh.points))
    embedding, tapped = bundle.embedder.embed_tapped(chip) if taps else (bundle.embedder.embed(chip), None)
    return FaceContext(rgb, "img2", ImageKind.PORTRAIT, [best], best, points, None, None, embedding,
                       embedder or bundle.embedder.name, tapped)

