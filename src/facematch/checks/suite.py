"""Runs every check on one analysed image. ``pipeline.analyze`` calls
``run_checks`` once per image with a ``FaceContext``; add a check by adding
its call here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facematch.checks import Finding
from facematch.checks.geometry import GeometryLimits, face_near_margin, face_too_small, several_faces
from facematch.models.blazeface import Detection


@dataclass(frozen=True)
class CheckLimits:
    geometry: GeometryLimits = field(default_factory=GeometryLimits)


@dataclass
class FaceContext:
    """Everything a check may look at for one image."""

    rgb: np.ndarray  # the decoded image, RGB uint8
    role: str  # "img1" or "img2"
    kind: str  # "card" or "portrait"
    detections: list[Detection]  # every verified face, largest first
    face: Detection | None  # the chosen face (largest); its .mesh holds the 468-point face mesh
    landmarks5: np.ndarray | None  # dlib's 5 points of the chosen face
    chip: np.ndarray | None  # the aligned 150x150 chip the embedder saw

    @property
    def is_card(self) -> bool:
        return self.kind == "card"


def run_checks(ctx: FaceContext, limits: CheckLimits) -> list[Finding]:
    findings: list[Finding] = []
    g = limits.geometry
    if ctx.face is not None:
        findings += several_faces([(d.box, d.score) for d in ctx.detections], ctx.role, g)
        findings += face_too_small(ctx.landmarks5, ctx.role, ctx.is_card, g)
        if not ctx.is_card:
            findings += face_near_margin(ctx.face.box, ctx.rgb.shape, ctx.role, g)
    return findings
