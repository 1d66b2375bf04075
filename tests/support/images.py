"""Generated test images through the matcher, in process."""

from __future__ import annotations

import numpy as np

from facematch.matcher import ImageAnalysis, Matcher, MatchResult
from facematch.types import ImageKind


def analyze(matcher: Matcher, rgb: np.ndarray, role: str, kind: str | ImageKind) -> ImageAnalysis:
    return matcher.analyze_image(rgb, ImageKind(kind), role)


def match(matcher: Matcher, img1: np.ndarray, img2: np.ndarray, kind1: str | ImageKind) -> MatchResult:
    return matcher.compare(analyze(matcher, img1, "img1", kind1), analyze(matcher, img2, "img2", ImageKind.PORTRAIT))
