"""Runs every check on one analysed image. ``Matcher.analyze`` calls
``run_checks`` once per image with a ``FaceContext``; add a check by adding
its call here.

Which checks run where (docs/checks.md has methods, limits and measured error
rates):

* card photo (``type1=card``): no document (1) and recapture (10: the
  spectral peak with a screen's sub-pixel colour; the attack model too when ``attack_model_on_cards``,
  either flags), with or without a face; photocopy (2) when there is a document; face too small (11) when a
  face was found, and tampering (3: the portrait's sharpness against the print's; a ghost portrait of
  another person) when besides there is a document that is neither a photocopy nor a recapture. A ghost
  portrait matched with the portrait is the document's own print, not a second face (6).
* portrait (img2, and img1 when ``type1=portrait``): recapture (10: the
  attack model, or the spectral peak without one), with or without a face;
  with one, face too small (11) and too close to the margin (12); unless
  recaptured (then colour and sharpness are the screen's), mask (9),
  sunglasses (7), hat (8) and - on faces large enough to judge, i.e. not
  too small - blur or noise (10).
* chip portrait (``type1=chip``, the CCCD chip's DG2 image): it is neither a
  photographed card nor a camera photo, so no card-presence, photocopy,
  tampering, recapture or margin check; several faces (6) and face too small
  (11, with the portrait's limit: ISO/IEC 19794-5 asks 60 px or more between
  the eyes, so a chip portrait below 40 px is not what the chip should hold).
* every image with a face: several faces (6).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from facematch.checks import Finding
from facematch.checks.card import CardLimits, card_presence, facing, photocopy, quarter_turns, upright
from facematch.checks.fraud import FraudLimits, GhostPortrait, ghost_mismatch, presentation_attack, recapture, tampering
from facematch.checks.geometry import GeometryLimits, face_near_margin, face_too_small, several_faces
from facematch.checks.occlusion import FaceView, OcclusionLimits, occlusions
from facematch.checks.quality import QualityLimits, blur_or_noise
from facematch.models.blazeface import Detection
from facematch.models.detector import confirmed
from facematch.models.facemesh import Mesh
from facematch.types import Box, ImageKind, InvalidCode


@dataclass(frozen=True)
class CheckLimits:
    geometry: GeometryLimits = field(default_factory=GeometryLimits)
    card: CardLimits = field(default_factory=CardLimits)
    fraud: FraudLimits = field(default_factory=FraudLimits)
    occlusion: OcclusionLimits = field(default_factory=OcclusionLimits)
    quality: QualityLimits = field(default_factory=QualityLimits)

    def with_overrides(self, overrides: dict[str, float]) -> CheckLimits:
        """A copy with ``{"group.field": value}`` replaced (``FACEMATCH_CHECK_LIMITS``);
        an unknown key is a configuration error."""
        groups = {name: getattr(self, name) for name in ("geometry", "card", "fraud", "occlusion", "quality")}
        for key, value in overrides.items():
            group, _, name = key.partition(".")
            current = groups.get(group)
            if current is None or name not in {f.name for f in fields(current)}:
                raise ValueError(f"unknown check limit {key!r}")
            kind = type(getattr(current, name))
            groups[group] = replace(current, **{name: kind(value)})
        return replace(self, **groups)


@dataclass
class FaceContext:
    """Everything a check may look at for one image."""

    rgb: np.ndarray  # the decoded image, RGB uint8
    role: str  # "img1" or "img2"
    kind: ImageKind
    detections: list[Detection]  # every verified face, largest first
    face: Detection | None  # the chosen face (largest); its .mesh holds the 468-point face mesh
    landmarks5: np.ndarray | None  # dlib's 5 points of the chosen face
    chip: np.ndarray | None  # dlib's 150-px chip of the face (the quality limits were fitted on it)
    #: The presentation-attack model's score (``models.protocols.AttackDetector``); None without one.
    attack_score: float | None = None
    #: The embedding network's own embedding of the face (before any adaptation) and the network's name
    #: (``Embedder.name``): the mask model reads it (``occlusion.model_scores``).
    embedding: np.ndarray | None = None
    embedder: str | None = None
    #: Inner tensors of the network from the same run (``TappedEmbedder``): the sunglasses, mouth and hat-top
    #: models read one.
    taps: dict[str, np.ndarray] | None = None
    #: On a card photo: the faces placed as the card's smaller second print of its portrait, each with its
    #: match against the portrait (``Matcher`` finds and embeds them: ``fraud.ghost_placed``).
    ghosts: list[GhostPortrait] = field(default_factory=list)

    @property
    def is_card(self) -> bool:
        return self.kind is ImageKind.CARD


def run_checks(ctx: FaceContext, limits: CheckLimits) -> list[Finding]:
    if ctx.kind is ImageKind.CHIP:
        return _chip_checks(ctx, limits)
    findings: list[Finding] = []
    box = ctx.face.box if ctx.face is not None else None
    no_card: list[Finding] = []
    # The card checks look beside the portrait as a card is printed: a card photographed turned a quarter
    # (its portrait lying on its side) is first turned upright, by the face mesh's eye line.
    card_rgb, card_box = ctx.rgb, box
    if ctx.is_card:
        mesh = ctx.face.mesh if ctx.face is not None and isinstance(ctx.face.mesh, Mesh) else None
        card_rgb, card_box = upright(ctx.rgb, box, quarter_turns(None if mesh is None else mesh.points))
        card_rgb, card_box = facing(card_rgb, card_box, limits.card)
        no_card = card_presence(card_rgb, card_box, ctx.role, limits.card)
        findings += no_card
        if not no_card:  # a copy of, or a portrait pasted on, a document that is not there means nothing
            findings += photocopy(card_rgb, card_box, ctx.role, limits.card)
    # The spectral peak on cards (beside the model: either flags, the two miss different synthetic
    # attacks, docs/presentation-attacks.md) and on portraits without a model; the model where it scored.
    spectral = ctx.is_card or ctx.attack_score is None
    recaptured = recapture(ctx.rgb, box, ctx.role, limits.fraud, card=ctx.is_card) if spectral else []
    g = limits.geometry
    too_small = face_too_small(ctx.landmarks5, ctx.role, ctx.is_card, g) if ctx.landmarks5 is not None else []
    # A portrait face below the size limit (11) is not judged by the model, as blur and noise are not:
    # its few pixels hold no screen or print texture to measure, and 11 already says why it cannot be used.
    if ctx.is_card or not too_small:
        recaptured += presentation_attack(ctx.attack_score, ctx.role, limits.fraud)
    findings += recaptured
    if ctx.face is None or ctx.landmarks5 is None:
        return findings
    # A card's ghost portrait of its own holder is part of the document, not a second face.
    own_print = frozenset(g.box for g in ctx.ghosts if g.matching >= limits.fraud.min_ghost_matching)
    findings += several_faces(_faces(ctx.detections, g, own_print), ctx.role, g)
    findings += too_small
    if ctx.is_card:
        # Halftone and toner read as sharpness: no tampering check on a copy or a recapture.
        if not (no_card or recaptured or any(f.code is InvalidCode.PHOTOCOPY for f in findings)):
            findings += tampering(card_rgb, card_box or ctx.face.box, ctx.role, limits.fraud)
            findings += ghost_mismatch(ctx.ghosts, ctx.role, limits.fraud)
        return findings
    findings += face_near_margin(ctx.face.box, ctx.rgb.shape, ctx.role, g)
    if recaptured:  # colours and sharpness would be the screen's or the print's, not the person's
        return findings
    if isinstance(ctx.face.mesh, Mesh):
        o = limits.occlusion
        view = FaceView.from_points(ctx.rgb, ctx.face.mesh.points, o.view_scale)
        findings += occlusions(view, ctx.face.mesh.points, ctx.rgb.shape, ctx.role, o, ctx.embedding, ctx.embedder,
                               ctx.taps)
    if ctx.chip is not None and not too_small:  # a small face's chip is upsampled, hence soft: 11 says why
        findings += blur_or_noise(ctx.chip, ctx.role, limits.quality)
    return findings


def _faces(detections: list[Detection], g: GeometryLimits, own_print: frozenset[Box] = frozenset()
           ) -> list[tuple[Box, float]]:
    """(box, score) of the subject, then of the other faces that may count as a second face: not a print of
    the holder on the card (``own_print``) and confirmed by the face mesh where it ran."""
    others = [d for d in detections[1:] if d.box not in own_print and confirmed(d, g.other_face_min_presence)]
    return [(d.box, d.score) for d in detections[:1] + others]


def _chip_checks(ctx: FaceContext, limits: CheckLimits) -> list[Finding]:
    if ctx.face is None or ctx.landmarks5 is None:
        return []
    g = limits.geometry
    return (several_faces(_faces(ctx.detections, g), ctx.role, g)
            + face_too_small(ctx.landmarks5, ctx.role, False, g))
