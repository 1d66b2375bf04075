"""The matcher: two decoded images in, a ``MatchResult`` out.

Pure Python over a ``ModelBundle``; the HTTP service, the CLI and the
evaluation harness all call ``analyze``/``match`` and hold no matching logic.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from facematch.checks import Finding, policy
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from facematch.errors import NoFaceError
from facematch.models.bundle import ModelBundle
from facematch.models.dlib_models import shape_points
from facematch.scoring import Calibration, decision

CARD = "card"
PORTRAIT = "portrait"


@dataclass
class Face:
    box: tuple[float, float, float, float]  # (x1, y1, x2, y2) pixels of the original image
    score: float  # detector confidence in [0, 1]
    landmarks: np.ndarray  # (5, 2) dlib order, see models.dlib_models.LANDMARK_NAMES
    embedding: np.ndarray  # (128,)
    crop_jpeg: bytes  # the face crop, JPEG

    def crop_base64(self) -> str:
        return base64.b64encode(self.crop_jpeg).decode("ascii")


@dataclass
class ImageAnalysis:
    role: str  # "img1" or "img2"
    kind: str  # CARD or PORTRAIT
    face: Face | None  # the largest face
    face_count: int
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class MatchResult:
    distance: float
    matching: float  # calibrated percent
    match: int  # 1 / 0 / -1
    image1: ImageAnalysis
    image2: ImageAnalysis
    calibration_version: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return self.image1.findings + self.image2.findings

    @property
    def invalid_code(self) -> int:
        return policy.pick(self.findings)


@dataclass(frozen=True)
class MatcherConfig:
    checks: CheckLimits = CheckLimits()
    crop_max_side: int = 320
    crop_jpeg_quality: int = 90


class _Timer:
    def __init__(self, sink: dict[str, float], prefix: str = "") -> None:
        self.sink, self.prefix = sink, prefix

    def __call__(self, name: str):
        return _Stage(self.sink, self.prefix + name)


class _Stage:
    def __init__(self, sink, name):
        self.sink, self.name = sink, name

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.sink[self.name] = self.sink.get(self.name, 0.0) + (time.perf_counter() - self.t0) * 1000.0


def analyze(bundle: ModelBundle, rgb: np.ndarray, role: str, kind: str, config: MatcherConfig = MatcherConfig()) -> ImageAnalysis:
    """Detect, align and embed the largest face of one image, and run the checks."""
    timings: dict[str, float] = {}
    stage = _Timer(timings)
    with stage("detect"):
        detections = bundle.detector.detect(rgb)
    result = ImageAnalysis(role, kind, None, len(detections), timings=timings)
    if not detections:
        with stage("checks"):
            result.findings += run_checks(FaceContext(rgb, role, kind, [], None, None, None), config.checks)
        return result
    best = detections[0]
    with stage("landmarks"):
        shape = bundle.landmarks(rgb, best.box)
        points = shape_points(shape)
    with stage("align"):
        chip = bundle.embedder.chip(rgb, shape)
    with stage("embed"):
        embedding = bundle.embedder.embed_chip(chip)
    with stage("encode_crop"):
        crop = encode_crop(rgb, best.box, config)
    result.face = Face(best.box, best.score, points, embedding, crop)
    with stage("checks"):
        result.findings += run_checks(FaceContext(rgb, role, kind, detections, best, points, chip), config.checks)
    return result


def encode_crop(rgb: np.ndarray, box: tuple[float, float, float, float], config: MatcherConfig) -> bytes:
    """The face box grown by 20 % on each side, clipped to the image, at most
    ``crop_max_side`` pixels on its long side, as JPEG."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    gx, gy = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
    x1, y1 = max(0, int(x1 - gx)), max(0, int(y1 - gy))
    x2, y2 = min(w, int(np.ceil(x2 + gx))), min(h, int(np.ceil(y2 + gy)))
    crop = rgb[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    side = max(crop.shape[:2])
    if side > config.crop_max_side:
        f = config.crop_max_side / side
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, config.crop_jpeg_quality])
    return buf.tobytes()


def compare(a: ImageAnalysis, b: ImageAnalysis, calibration: Calibration, timings: dict[str, float] | None = None) -> MatchResult:
    """Score two analysed images. Raises ``NoFaceError`` (errorCode 3) when
    either has no face, carrying the other image's analysis as ``partial``."""
    for side in (a, b):
        if side.face is None:
            code = 4 if side.kind == CARD else 5
            raise NoFaceError(f"no_face_{side.role}", invalid_code=code, partial=(a, b))
    distance = float(np.linalg.norm(a.face.embedding - b.face.embedding))
    matching = calibration.percent(distance)
    total = dict(timings or {})
    for side in (a, b):
        for k, v in side.timings.items():
            total[f"{side.role}.{k}"] = v
    return MatchResult(distance, matching, decision(matching), a, b, calibration.version, total)


def match(bundle: ModelBundle, img1: np.ndarray, img2: np.ndarray, type1: str, calibration: Calibration,
          config: MatcherConfig = MatcherConfig()) -> MatchResult:
    """Match ``img1`` (a card, or a portrait when ``type1 == "portrait"``) with the portrait ``img2``."""
    a = analyze(bundle, img1, "img1", CARD if type1 == CARD else PORTRAIT, config)
    b = analyze(bundle, img2, "img2", PORTRAIT, config)
    return compare(a, b, calibration)
