"""The matcher as the benchmarks use it, in process: built by
``build_matcher`` from the environment's settings (FACEMATCH_*: models,
limits, calibration, check limits), one model bundle, no side thread."""

from __future__ import annotations

from pathlib import Path

from facematch.matcher import ImageAnalysis, Matcher, build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind

_MATCHER: Matcher | None = None


def matcher() -> Matcher:
    """One per process (benchmarks fan out over processes)."""
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = build_matcher(Settings(), pool_size=1, parallel=False)
    return _MATCHER


def analyze_file(path: str | Path, kind: str | ImageKind, role: str | None = None) -> ImageAnalysis:
    """One image file as the API sees it (decoded with the configured limits)."""
    kind = ImageKind(kind)
    return matcher().analyze(Path(path).read_bytes(), kind, role or ("img1" if kind is ImageKind.CARD else "img2"))
