"""Signs of fraud: a photo of a screen or of a print (10), a portrait that is
the card's own photograph shown again (10), a tampered card portrait (3).

``presentation_attack`` turns the attack detector's score
(``facematch.models.pad.RecaptureDetector``, called by the matcher) into
finding 10 ``presentation_attack`` on portraits and card photos;
``recapture``, the spectral peak alone, runs on card photos too (either
flags) and on portraits when no attack model is configured.

Recapture leaves periodic patterns that a camera photo of a real face or card
does not: a screen's pixel grid aliases into moire, a print's halftone dots
form a regular screen. Both show as isolated peaks in the Fourier spectrum,
far above the smooth spectrum of natural content. Tampering is looked for as
a portrait whose sharpness disagrees with the print around it.

``same_photo`` compares the two faces of a request: a live portrait whose
face is the very photograph printed on the card (the card held up to the
selfie camera, shown on a screen, or its photo sent again) carries the same
pixels, up to the second camera's blur and framing, where another photo of
the same person does not (docs/presentation-attacks.md, "The card's own
photo as the selfie").

``ghost_mismatch`` compares a card's portrait with the card's second,
smaller print of the same face (the "ghost" portrait of ICAO 9303 documents
and many ID cards): a portrait replaced without its ghost shows two people on
one document (docs/checks.md section 3, "The ghost portrait").
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facematch.checks import Finding
from facematch.checks.geometry import eye_centres
from facematch.imaging.spectrum import colour_peak_prominence, face_square, peak_prominence
from facematch.types import Box, InvalidCode


@dataclass(frozen=True)
class FraudLimits:
    #: Presentation attack: the attack detector's score (0-1, ``models/pad.py``)
    #: above this is finding 10 ``presentation_attack``
    #: (``FACEMATCH_CHECK_LIMITS='{"fraud.max_attack_score": 0.9}'`` flags fewer
    #: photos, lower values more). Picked by ``tools/fit_pad.py`` on the
    #: data the model was fitted on, East-Asian webcam bona fide included (at
    #: most 5 % of CASIA's fit half flagged, as stored, saved as JPEG and a stop
    #: over or under); rates at it and at other limits: docs/presentation-attacks.md.
    max_attack_score: float = 0.9421
    #: Side of the square patch analysed at the image's own resolution
    #: (resampling would destroy the patterns looked for), centred on the face.
    patch: int = 256
    #: A spectral peak this many natural-log units above the local spectrum
    #: (``peak_background`` bins wide) is a recapture pattern: e^2.2 = 9x.
    #: Camera photos stay below 2.1 (tuning set: synthetic card photos <= 2.05,
    #: selfies <= 1.91, Caltech faces <= 1.53, LFW <= 1.59); screens and prints
    #: reach 2-5.
    max_peak: float = 2.2
    peak_background: int = 11
    #: On card photos the peak is a screen's only if the colour modulation the three channels do not
    #: share (``colour_peak_prominence``: a screen's R, G and B sub-pixels, a third of a pixel apart)
    #: peaks too, by the same measure: 9x its neighbourhood. A card's own print (guilloche, fine line
    #: art) and the patterned surface it lies on modulate the channels in phase and read 0-2.1 there
    #: (every bona fide document photo and scan of the dev data, docs/checks.md section 10); rendered
    #: screen recaptures 2.9-5.3. Set to the grey peak's limit, not fitted.
    max_colour_peak: float = 2.2
    #: Tampering: the portrait's sharpness (``sharpness``) divided by that of
    #: the printed text beside it. A portrait pasted in with its own
    #: resampling and sharpening history is sharper than a printed one.
    max_sharpness_ratio: float = 1.3
    #: ... measured with the image scaled (area-averaged) so the face is at most this wide: the largest
    #: face of the synthetic card photos the ratio's limit was chosen on (85-135 px). A sigma-1 re-blur
    #: probes pixel-scale detail; on a 600 px face of a 12 MP phone photo that is skin and hair texture
    #: and sensor noise, while the card's large print has edges spread over several pixels, so a genuine
    #: portrait read "sharper" than its print (docs/checks.md section 3).
    tamper_face_width: int = 135
    #: Same photo: the portrait's face (img2) and the document's (img1: a card photo or a chip portrait)
    #: whose aligned crops correlate above this (``photo_similarity``, -1-1) are one photograph shown
    #: twice: finding 10 ``same_photo``. Rule, on synthetic data only (``benchmarks/same_photo.py``): the
    #: 2nd percentile of the card's photograph shown again (re-shot, on a screen, printed, sent as it is,
    #: mirrored), floored to 0.01. Above 1: off.
    max_photo_similarity: float = 0.93
    #: Ghost portrait: a second face on a card photo is taken for the document's own smaller print of its
    #: portrait when it is this many to this many times the portrait face's width (a secondary image is a
    #: third to a half of the main one on the documents that print one: ICAO 9303 passports, many ID cards)
    ghost_min_relative_width: float = 0.2
    ghost_max_relative_width: float = 0.75
    #: ... and its centre lies within this many portrait-face widths of the portrait face's, along the
    #: portrait's eye line and across it: the part of an ID-1 card a second print can take. The card is
    #: 85.6 x 54 mm; the detector's box on a 20 x 30 mm portrait (the CCCD's) is 10-15 mm wide, so two
    #: faces on it are at most about 7 face widths apart along it (a few mm of margin and half of each face
    #: off the 85.6 mm) and, the portrait's face sitting near the card's middle height, about 3 across. A
    #: face on a newspaper or a screen beside the card lies outside that more often than not (docs/checks.md
    #: section 3).
    ghost_max_along: float = 7.5
    ghost_max_across: float = 3.0
    #: ... and its eye line is within this many degrees of the portrait's (printed on the same card).
    ghost_max_roll_difference: float = 20.0
    #: Where the photo's own detection found no ghost, look for one on square windows this many portrait-face
    #: widths wide over the part of the card it can take (``Matcher._ghosts``): a ghost a third to a half
    #: of the face's width then takes 1/12-1/8 of a window, where BlazeFace's full-range model finds it; on
    #: the whole photo of a card it takes 1/30 or less and is mostly missed. Costs a median of about 60 ms a
    #: card photo on 2 cores (docs/checks.md section 3). 0, the default: off, since the CCCD and the CMND print
    #: no ghost portrait (Circulars 06/2021/TT-BCA and 16/2024/TT-BCA list the cards' fronts: one portrait); 4
    #: where passports or foreign ID cards are taken.
    ghost_search_window: float = 0.0
    #: A ghost portrait the service matches with the card's portrait below this calibrated percent (the
    #: answer's ``matching``) is another person's face: finding 3 ``ghost_mismatch``. The service's own
    #: review boundary (``scoring.REVIEW_FROM``): below it, it calls two faces different people. Not fitted.
    min_ghost_matching: float = 65.0


def presentation_attack(score: float | None, image: str, limits: FraudLimits) -> list[Finding]:
    """Finding 10 ``presentation_attack`` when the attack detector's ``score``
    is above ``limits.max_attack_score``; nothing without a detector
    (``score`` None) or below the limit."""
    if score is None or not score > limits.max_attack_score:
        return []
    return [Finding(InvalidCode.FRAUD, "presentation_attack", image, value=float(score), limit=limits.max_attack_score)]


def recapture(rgb: np.ndarray, box: Box | None, image: str, limits: FraudLimits, *,
              card: bool = False) -> list[Finding]:
    """A photo of a screen or of a print: moire or halftone peaks in the
    spectrum of a ``patch``-pixel square around the face, on the grey level,
    at native resolution. The value reported is the highest peak's
    prominence (``peak_prominence``).

    On a card photo (``card``) a grey peak is not enough: a card is print,
    and its guilloche and fine line art, like a patterned table under it, are
    periodic in their own right. There the square must also show a screen's
    sub-pixel colour structure, channels modulated out of phase
    (``colour_peak_prominence`` above ``max_colour_peak``); a print of the
    card (in phase, one ink at a time) is then not this check's: a greyscale
    copy is code 2's."""
    square = face_square(rgb, box, limits.patch)
    if square is None:
        return []
    peak = peak_prominence(cv2.cvtColor(np.ascontiguousarray(square), cv2.COLOR_RGB2GRAY), limits.peak_background)
    if not peak > limits.max_peak:
        return []
    if card and not colour_peak_prominence(square, limits.peak_background) > limits.max_colour_peak:
        return []
    return [Finding(InvalidCode.FRAUD, "recapture", image, value=peak, limit=limits.max_peak)]


#: ``photo_similarity`` compares the aligned crops at this side (pixels), whatever the network's crop size.
SIMILARITY_SIDE = 64
#: Its band, as Gaussian sigmas in pixels of a 112-px crop: finer than the face's shape, which every
#: photo of the person shares, coarser than the detail a second camera's blur and resampling remove.
SIMILARITY_BAND = (1.0, 6.0)


def _structure(grey: np.ndarray) -> np.ndarray:
    side = SIMILARITY_SIDE
    g = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    k = side / 112.0
    fine = cv2.GaussianBlur(g, (0, 0), SIMILARITY_BAND[0] * k)
    return np.asarray(fine - cv2.GaussianBlur(g, (0, 0), SIMILARITY_BAND[1] * k), dtype=np.float32)


def _ellipse() -> np.ndarray:
    side = SIMILARITY_SIDE
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    inside = ((xx - 0.5) / 0.446) ** 2 + ((yy - 0.536) / 0.5) ** 2 <= 1.0
    return np.asarray(inside, dtype=np.uint8)


_MASK = _ellipse()


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a[_MASK > 0], b[_MASK > 0]
    x, y = x - x.mean(), y - y.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / norm if norm > 1e-6 else 0.0


def _aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The correlation of ``b`` with ``a`` over the face's ellipse after an affine refinement (ECC) of
    ``b`` onto ``a``; the unrefined one when ECC fails or moves ``b`` by more than a small affine."""
    plain = _correlation(a, b)
    warp: np.ndarray = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    try:
        _, found = cv2.findTransformECC(a, b, warp, cv2.MOTION_AFFINE, criteria, _MASK, 1)
        warp = np.asarray(found, dtype=np.float32)
    except cv2.error:  # no convergence: nothing alike to align
        return plain
    scale = np.sqrt(abs(np.linalg.det(warp[:, :2])))
    if not (0.8 < scale < 1.25 and np.abs(warp[:, 2]).max() < 0.15 * SIMILARITY_SIDE):
        return plain
    side = SIMILARITY_SIDE
    moved = cv2.warpAffine(b, warp, (side, side), flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    return max(plain, _correlation(a, moved))


def photo_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How far two aligned face crops (greyscale, the network's alignment) are one photograph: the
    correlation of their band-passed grey levels (``SIMILARITY_BAND``) over the face's ellipse, ``b``
    refined onto ``a`` by a small affine and also tried mirrored (a front camera may store its picture
    mirrored). Another photo of the same person differs in pose, expression, light and hair at this
    scale (medians 0.4-0.5, at most 0.905 for two press photos of one event over 433 genuine pairs);
    the same printed portrait captured twice keeps it (0.94-1.0 over 19 real pairs). Two photos of one
    sitting can read as high as a copy (docs/presentation-attacks.md)."""
    sa, sb = _structure(a), _structure(b)
    return max(_aligned_correlation(sa, sb), _aligned_correlation(sa, np.ascontiguousarray(sb[:, ::-1])))


def same_photo(document: np.ndarray, portrait: np.ndarray, image: str, limits: FraudLimits) -> list[Finding]:
    """Finding 10 ``same_photo`` on the portrait when its face is the document's photograph shown again
    (``photo_similarity`` above ``limits.max_photo_similarity``)."""
    value = photo_similarity(document, portrait)
    if value > limits.max_photo_similarity:
        return [Finding(InvalidCode.FRAUD, "same_photo", image, value=round(value, 4),
                        limit=limits.max_photo_similarity)]
    return []


@dataclass(frozen=True)
class GhostPortrait:
    """A second, smaller face printed on the same card as the portrait, and how alike the service finds the
    two (``matching``: the calibrated percent of the answer, network and calibration as configured)."""

    box: Box
    matching: float


def ghost_placed(portrait: Box, portrait5: np.ndarray, face: Box, limits: FraudLimits) -> bool:
    """Whether ``face`` sits as a document's secondary print of the ``portrait`` face (dlib's 5 points
    ``portrait5``): its width relative to the portrait face's, and its offset from it along the portrait's
    eye line and across it, in portrait-face widths (the ``ghost_*`` limits)."""
    width = max(portrait[2] - portrait[0], 1e-6)
    relative = (face[2] - face[0]) / width
    if not limits.ghost_min_relative_width <= relative <= limits.ghost_max_relative_width:
        return False
    dx = (face[0] + face[2] - portrait[0] - portrait[2]) / 2 / width
    dy = (face[1] + face[3] - portrait[1] - portrait[3]) / 2 / width
    angle = np.radians(eye_line_angle(portrait5))
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = -dx * np.sin(angle) + dy * np.cos(angle)
    return bool(abs(along) <= limits.ghost_max_along and abs(across) <= limits.ghost_max_across)


def ghost_region(portrait: Box, portrait5: np.ndarray, limits: FraudLimits) -> tuple[int, int, int, int]:
    """The upright box (``x1, y1, x2, y2``, pixels) around the part of the document a ghost portrait of the
    ``portrait`` face can take (``ghost_placed``), the largest ghost included: where the matcher looks for
    one at the region's scale."""
    width = portrait[2] - portrait[0]
    angle = np.radians(eye_line_angle(portrait5))
    along = (limits.ghost_max_along + limits.ghost_max_relative_width) * width
    across = (limits.ghost_max_across + limits.ghost_max_relative_width) * width
    half_w = abs(along * np.cos(angle)) + abs(across * np.sin(angle))
    half_h = abs(along * np.sin(angle)) + abs(across * np.cos(angle))
    cx, cy = (portrait[0] + portrait[2]) / 2, (portrait[1] + portrait[3]) / 2
    return int(cx - half_w), int(cy - half_h), int(np.ceil(cx + half_w)), int(np.ceil(cy + half_h))


def eye_line_angle(landmarks5: np.ndarray) -> float:
    """The eye line's angle in degrees (image axes), from dlib's 5 points."""
    right, left = eye_centres(landmarks5)
    return float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))


def same_roll(a5: np.ndarray, b5: np.ndarray, limits: FraudLimits) -> bool:
    """Whether two faces' eye lines agree within ``ghost_max_roll_difference`` (two prints on one card)."""
    diff = (eye_line_angle(a5) - eye_line_angle(b5) + 180.0) % 360.0 - 180.0
    return abs(diff) <= limits.ghost_max_roll_difference


def ghost_mismatch(ghosts: list[GhostPortrait], image: str, limits: FraudLimits) -> list[Finding]:
    """Finding 3 ``ghost_mismatch`` when a ghost portrait of the card (``GhostPortrait``, found and matched
    by the matcher) is matched with the card's portrait below ``min_ghost_matching``: a portrait replaced,
    its ghost left. The value is the lowest ``matching``. Nothing on a card without a ghost portrait found
    (most cards, a CCCD or CMND among them, print none)."""
    if not ghosts:
        return []
    lowest = min(g.matching for g in ghosts)
    if not lowest < limits.min_ghost_matching:
        return []
    return [Finding(InvalidCode.TAMPERING, "ghost_mismatch", image, value=round(lowest, 2),
                    limit=limits.min_ghost_matching)]


def sharpness(grey: np.ndarray) -> float:
    """Fraction of horizontal gradient energy a Gaussian re-blur (sigma 1)
    removes: higher for sharper content."""
    g = grey.astype(np.float32)
    before = np.abs(np.diff(g, axis=1)).mean()
    after = np.abs(np.diff(cv2.GaussianBlur(g, (0, 0), 1.0), axis=1)).mean()
    return float(1.0 - after / before) if before > 1e-3 else 0.0


def tampering(rgb: np.ndarray, box: Box, image: str, limits: FraudLimits) -> list[Finding]:
    """A swapped portrait: the face (box shrunk by 15 % a side) markedly
    sharper than the card's print to its right (the text column of a CCCD or
    CMND, 0.9 to 2.1 face widths past the face, clear of the portrait). Both
    went through the same camera, so their ratio cancels the photo's own
    blur; a pasted photo keeps its own resampling and sharpening. Both are
    measured at the scale where the face is at most ``tamper_face_width``
    px wide, the scale the limit was chosen at. The value reported is the
    ratio. Weak: see docs/checks.md."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    scale = min(1.0, limits.tamper_face_width / max(bw, 1.0))

    def cut(a: float, b: float, c: float, d: float) -> np.ndarray:
        part = np.ascontiguousarray(rgb[int(max(0, b)):int(min(h, d)), int(max(0, a)):int(min(w, c))])
        if not part.size:
            return part[:, :, 0]
        grey = cv2.cvtColor(part, cv2.COLOR_RGB2GRAY)
        if scale == 1.0:
            return grey
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    face = cut(x1 + 0.15 * bw, y1 + 0.15 * bh, x2 - 0.15 * bw, y2 - 0.15 * bh)
    text = cut(x2 + 0.9 * bw, y1, x2 + 2.1 * bw, y2)
    if face.size < 400 or text.size < 400 or min(text.shape) < 8:
        return []
    reference = sharpness(text)
    if reference < 0.05:  # nothing printed there (the card's edge, a plain area)
        return []
    ratio = sharpness(face) / reference
    if ratio > limits.max_sharpness_ratio:
        return [Finding(InvalidCode.TAMPERING, "tampering", image, value=ratio, limit=limits.max_sharpness_ratio)]
    return []
