"""The matcher: the raw bytes of two images in, a ``MatchResult`` out.

``Matcher`` decodes (with the configured byte and pixel limits), detects,
aligns, embeds, runs the checks and scores, with the two images of a match on
two threads. ``build_matcher(settings)`` is the one place it is built from
settings (limits, calibration, check limits, models); the HTTP API, the CLI,
``facematch eval`` and the benchmarks call it and hold no matching logic.
Encoding the face crops for the v2 envelope is the contract layer's job
(``facematch.contract``).
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from facematch import artifacts, cancel
from facematch.artifacts.adaptation import Adaptation
from facematch.artifacts.calibration import Calibration
from facematch.checks import Finding, policy
from facematch.checks.card import turn_box, turn_points
from facematch.checks.fraud import GhostPortrait, ghost_placed, ghost_region, same_photo, same_roll
from facematch.checks.geometry import eye_distance
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from facematch.errors import InputError, NoContentError, NoFaceError
from facematch.imaging import dg2
from facematch.imaging.decode import DecodeBudget, decode_image
from facematch.models.alignment import alignment_points, dlib150
from facematch.models.blazeface import Detection
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.models.facemesh import Mesh
from facematch.models.protocols import AttackDetector, TappedEmbedder
from facematch.scoring import decision, default_calibration, distance
from facematch.types import Box, ImageKind, InvalidCode

if TYPE_CHECKING:
    from facematch.passive_auth import ChipCheck
    from facematch.settings import Settings

log = logging.getLogger("facematch.matcher")

__all__ = ["Face", "ImageAnalysis", "ImageLimits", "MatchResult", "Matcher", "build_matcher", "face_crop",
           "load_adaptation", "load_calibration"]


#: The face crop returned to the client: the detector's box grown by this
#: fraction of its size on each side, clipped to the image.
CROP_GROWTH = 0.2
#: A ghost portrait is compared only where the face mesh is sure of a face too (its presence score, the
#: detector's own first gate: ``FaceDetector.min_presence``), besides BlazeFace (``other_face_min_score``).
SURE_PRESENCE = 0.5
#: At most this many ghost portraits are embedded on one card photo (a document prints one; a photo crowded
#: with faces, hostile or not, costs at most this many embeddings).
MAX_GHOSTS = 2


@dataclass(frozen=True)
class Face:
    box: Box  # pixels of the original image
    score: float  # detector confidence in [0, 1]
    landmarks: np.ndarray  # (5, 2), facematch.types.LANDMARK_NAMES order
    embedding: np.ndarray  # unit vector
    crop: np.ndarray  # RGB copy of the image around the face (CROP_GROWTH)
    #: The network's aligned crop in grey: the pair's ``same_photo`` check compares the two.
    aligned: np.ndarray | None = None


@dataclass
class ImageAnalysis:
    role: str  # "img1" or "img2"
    kind: ImageKind
    face: Face | None  # the subject (largest clear face)
    face_count: int
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: The presentation-attack model's score, where it ran (``_attack_score``); not part of the answer.
    attack_score: float | None = None
    #: On a card photo: its ghost portraits compared with the portrait (``Matcher._ghosts``); not part of
    #: the answer.
    ghosts: list[GhostPortrait] = field(default_factory=list)
    #: Quarter turns (anticlockwise, ``np.rot90``) the card photo was analysed under: 0 unless its face was
    #: found sure only with the photo turned (``CARD_TURNS``).
    turned: int = 0


@dataclass
class MatchResult:
    distance: float
    matching: float  # calibrated percent
    match: int  # 1 / 0 / -1
    image1: ImageAnalysis
    image2: ImageAnalysis
    calibration_version: str
    timings: dict[str, float] = field(default_factory=dict)
    #: Findings about the pair rather than one image (a match the calibration cannot vouch for).
    pair_findings: list[Finding] = field(default_factory=list)
    #: The embedding network (``Embedder.name``) behind ``distance``.
    network: str = ""
    #: With ``type1=chip``: the passive authentication of the chip's data (the API sets it).
    chip: ChipCheck | None = None

    @property
    def findings(self) -> list[Finding]:
        return self.image1.findings + self.image2.findings + self.pair_findings

    @property
    def invalid_code(self) -> InvalidCode:
        return policy.pick(self.findings)


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    #: A chip portrait (``type1=chip``) is small: about 480x640 and 10-20 KB.
    max_chip_bytes: int
    max_chip_pixels: int
    #: Memory that decoding may hold at once in this process (``imaging.decode.DecodeBudget``); 0: no bound.
    max_decode_bytes: int = 0


class _Stages:
    """Milliseconds per named stage, added into ``timings``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        cancel.checkpoint()  # work whose request gave up stops here (``cancel``)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


#: Where the subject face of a card photo is missing or not sure (``Matcher._sure``: both detector models
#: sure of it), the turns (quarter turns anticlockwise, ``np.rot90``) the photo is searched again under,
#: first upside down, then a quarter either way; the first whose subject face is sure is taken, else the
#: photo as sent. A card lies on a desk however the phone is held, and EXIF says how the phone was held,
#: not how the card lay: on an upside-down card the detector misses a third of the portraits of the dev
#: data's phone photos, and finds others with a poor box or another face (docs/checks.md, "Cards
#: photographed turned"). Portraits are not turned: a selfie is taken with the face upright to the phone.
CARD_TURNS = (2, 1, 3)
#: A face found on a turned card photo replaces an unsure one found as sent only when its box's side is
#: at least this share of the other's: more than a card's second print of its portrait (0.38-0.46 of it,
#: ``tools.synth.cards``), so neither a ghost nor a smaller texture takes the portrait's place. The same
#: face found both ways measured 0.56-1.14 on the dev photos turned (a loose box on a turned face).
TURNED_MIN_SIZE = 0.5
#: The turns are searched on the card photo halved until its long side is under twice this many pixels; the
#: faces found are mapped back to the photo itself. A 12-megapixel photo turned is a 36 MB copy and a detection
#: over 4,000 px, three times over on a photo without a face; halved, a quarter of that. The turned search was
#: measured on 1600x1200 photos (``benchmarks.card_capture``).
TURN_SEARCH_SIDE = 1600


def no_face_code(kind: ImageKind) -> InvalidCode:
    """The invalidCode of an answer whose image of ``kind`` holds no face found (errorCode 3)."""
    return InvalidCode.NO_FACE_CARD if kind is ImageKind.CARD else InvalidCode.NO_FACE_PORTRAIT


def unturned(box: Box, points: np.ndarray, turns: int, shape: tuple[int, ...]) -> tuple[Box, np.ndarray]:
    """``box`` and ``points`` (N, 2) found on an image turned ``turns`` quarter turns anticlockwise
    (``np.rot90``; ``shape`` the turned image's), in pixels of the image before the turn."""
    if turns % 4 == 0:
        return box, points
    back = (4 - turns) % 4
    return turn_box(box, back, shape), turn_points(np.asarray(points, dtype=np.float32), back, shape)


def face_crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The region around ``box`` grown by ``CROP_GROWTH``, clipped to the image, as a copy."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    gx, gy = CROP_GROWTH * (x2 - x1), CROP_GROWTH * (y2 - y1)
    left, top = max(0, int(x1 - gx)), max(0, int(y1 - gy))
    right, bottom = min(w, int(np.ceil(x2 + gx))), min(h, int(np.ceil(y2 + gy)))
    # A copy, not a view: a view would keep the whole decoded image (36 MB for a 12-megapixel photo) alive
    # as long as the result, and results can wait for the garbage collector (asyncio.wrap_future's
    # callbacks make a reference cycle): under load that held ~0.5 GiB (benchmarks/memory.py).
    return rgb[top:max(bottom, top + 1), left:max(right, left + 1)].copy()


class Matcher:
    """Thread-safe: each call borrows a model bundle from the pool. With
    ``parallel``, ``match`` analyses the second image on a side thread (its
    own bundle) while the calling thread does the first; decoding, detection
    and the embedding release the GIL."""

    def __init__(self, pool: ModelPool, calibration: Calibration, *, limits: ImageLimits,
                 checks: CheckLimits | None = None, parallel: bool = True,
                 adaptation: Adaptation | None = None, min_calibrated_eye_distance: float = 0.0,
                 attack_on_cards: bool = False) -> None:
        self.pool = pool
        self.calibration = calibration
        #: Below this eye distance (pixels) on either face the calibration's FAR was never measured: a
        #: match there is reported as review (``vouched``); 0 turns it off.
        self.min_calibrated_eye_distance = min_calibrated_eye_distance
        #: Whether the attack model also scores card photos (``ModelSettings.attack_model_on_cards``).
        self.attack_on_cards = attack_on_cards
        #: A transform of the embedding fitted to a deployment's population (``facematch adapt``), or None.
        self.adaptation = adaptation
        self.limits = limits
        self._decode_budget = DecodeBudget(limits.max_decode_bytes) if limits.max_decode_bytes > 0 else None
        self.checks = checks or CheckLimits()
        side_threads = pool.size // 2 if parallel else 0
        self._side = ThreadPoolExecutor(side_threads, thread_name_prefix="facematch-side") if side_threads else None
        #: Matches that can run at once without waiting for a bundle.
        self.concurrency = max(1, pool.size - side_threads)

    def close(self) -> None:
        if self._side is not None:
            self._side.shutdown(wait=False, cancel_futures=True)

    def decode(self, raw: bytes, kind: ImageKind, error: type[InputError] = NoContentError) -> np.ndarray:
        """RGB pixels, within the limits for ``kind``. A chip portrait may come
        as the DG2 data group or its face record: its image is taken out first."""
        if kind is not ImageKind.CHIP:
            return decode_image(raw, max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_pixels, error=error,
                                budget=self._decode_budget)
        if len(raw) > self.limits.max_chip_bytes:
            raise error("chip_too_large")
        try:
            image = dg2.extract_portrait(raw)
        except NoContentError as exc:
            raise error(exc.detail) from None
        return decode_image(image, max_bytes=self.limits.max_chip_bytes, max_pixels=self.limits.max_chip_pixels,
                            error=error, budget=self._decode_budget)

    def analyze(self, raw: bytes, kind: ImageKind, role: str = "img1", *, error: type[InputError] = NoContentError,
                checks: bool = True) -> ImageAnalysis:
        """Decode one image (failures raise ``error``: errorCode 1, or 2 for
        images fetched from URLs), then ``analyze_image``."""
        cancel.checkpoint()
        t0 = time.perf_counter()
        rgb = self.decode(raw, kind, error)
        decode_ms = (time.perf_counter() - t0) * 1000.0
        result = self.analyze_image(rgb, kind, role, checks=checks)
        result.timings = {"decode": decode_ms, **result.timings}
        return result

    def analyze_image(self, rgb: np.ndarray, kind: ImageKind, role: str = "img1", *,
                      checks: bool = True) -> ImageAnalysis:
        """Detect, align and embed the subject's face of a decoded RGB image,
        and (with ``checks``) run the warning checks."""
        timings: dict[str, float] = {}
        stage = _Stages(timings)
        with self.pool.bundle() as bundle:
            with stage("detect"):
                detections = bundle.detector.detect(rgb)
                turn = 0
                if kind is ImageKind.CARD and not (detections and self._sure(detections[0])):
                    turn, rgb, detections = self._turned(bundle, rgb, detections)
            result = ImageAnalysis(role, kind, None, len(detections), timings=timings, turned=turn)
            attack = bundle.attack
            if not detections:
                # Without a face only a card photo has anything left to check (is it a document, a screen?):
                # a portrait's checks, the attack model's included, read the face.
                if checks and kind is ImageKind.CARD:
                    with stage("checks"):
                        score = result.attack_score = _attack_score(attack, rgb, None, kind, self.attack_on_cards)
                        result.findings += run_checks(FaceContext(rgb, role, kind, [], None, None, None, score),
                                                      self.checks)
                return result
            best = detections[0]
            with stage("landmarks"):
                points = bundle.landmarker(rgb, best.box)
            with stage("align"):
                mesh = best.mesh.points if isinstance(best.mesh, Mesh) else None
                chip = bundle.embedder.align(rgb, alignment_points(bundle.embedder.points, points, mesh))
                dlib_chip = bundle.embedder.points == "dlib5"
            with stage("embed"):
                taps: dict[str, np.ndarray] | None = None
                if checks and isinstance(bundle.embedder, TappedEmbedder):
                    own, taps = bundle.embedder.embed_tapped(chip)
                else:
                    own = bundle.embedder.embed(chip)
                embedding = own
                if self.adaptation is not None:
                    embedding = self.adaptation.apply(embedding).astype(np.float32)
            network = bundle.embedder.name
            ghosts: list[GhostPortrait] = []
            if checks and kind is ImageKind.CARD:
                with stage("ghost"):
                    ghosts = result.ghosts = self._ghosts(bundle, rgb, detections, points, embedding)
        aligned = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY)
        # Box and points in the image as sent; the crop as the face stands (upright on a turned card).
        box, marks = unturned(best.box, points, turn, rgb.shape)
        result.face = Face(box, best.score, marks, embedding, face_crop(rgb, best.box), aligned)
        if checks:
            with stage("checks"):
                score = result.attack_score = _attack_score(attack, rgb, best.box, kind, self.attack_on_cards)
                # The blur and noise limits were fitted on dlib's 150-px chip: the checks see that chip
                # whatever the network (ArcFace's 112-px crop is tighter and sharper).
                seen = chip if dlib_chip else dlib150(rgb, points)
                # The occlusion models read the network's own embedding, not the adapted one.
                result.findings += run_checks(FaceContext(rgb, role, kind, detections, best, points, seen, score,
                                                          own, network, taps, ghosts), self.checks)
        return result

    def _turned(self, bundle: ModelBundle, rgb: np.ndarray, detections: list[Detection]
                ) -> tuple[int, np.ndarray, list[Detection]]:
        """The first of ``CARD_TURNS`` under which the card photo's subject face is sure (``_sure``) and, where
        a face was found as sent, at least ``TURNED_MIN_SIZE`` of its side (a card's portrait is the largest face
        it prints: a smaller one found turned is a ghost print of it, or a texture): the turn, the photo turned
        and its faces, in its pixels; else ``(0, rgb, detections)``. The turns are searched on the photo halved
        while its long side is at least twice ``TURN_SEARCH_SIDE``."""
        least = TURNED_MIN_SIZE * max(detections[0].width, detections[0].height) if detections else 0.0
        small, f = rgb, 1.0
        while max(small.shape[:2]) >= 2 * TURN_SEARCH_SIDE:  # halved: 2x2 averages, a few ms on 12 megapixels
            small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
            f *= 0.5
        for k in CARD_TURNS:
            cancel.checkpoint()
            found = bundle.detector.detect(np.ascontiguousarray(np.rot90(small, k)))
            if found and self._sure(found[0]) and max(found[0].width, found[0].height) >= least * f:
                if f < 1.0:
                    found = [d.scaled(1.0 / f) for d in found]
                return k, np.ascontiguousarray(np.rot90(rgb, k)), found
        return 0, rgb, detections

    def _sure(self, d: Detection) -> bool:
        """Both detector models sure of a face (BlazeFace's score, the face mesh's presence), as for a ghost
        portrait: a face found on a turned card photo has had three more chances to be a texture."""
        mesh = d.mesh if isinstance(d.mesh, Mesh) else None
        sure = self.checks.geometry.other_face_min_score
        return mesh is not None and mesh.face_score >= SURE_PRESENCE and d.score >= sure

    def _ghosts(self, bundle: ModelBundle, rgb: np.ndarray, detections: list[Detection], points: np.ndarray,
                embedding: np.ndarray) -> list[GhostPortrait]:
        """The faces of a card photo placed as the card's smaller second print of its portrait
        (``fraud.ghost_placed``; both detector models sure of it; the same eye line; at least the card's
        eye-distance limit), the largest ``MAX_GHOSTS``, each embedded as the portrait was and matched with
        it on the service's calibrated scale. Where the photo's detection found none so placed and
        ``ghost_search_window`` is set, looked for again on windows at the scale of a ghost
        (``FaceDetector.detect_in``)."""
        f, g = self.checks.fraud, self.checks.geometry
        portrait = detections[0]
        others = detections[1:]
        if f.ghost_search_window > 0 and not any(ghost_placed(portrait.box, points, d.box, f) for d in others):
            window = round(f.ghost_search_window * (portrait.box[2] - portrait.box[0]))
            others = bundle.detector.detect_in(rgb, ghost_region(portrait.box, points, f), window,
                                               [d.box for d in detections])
        out = []
        for d in others:
            mesh = d.mesh
            if not self._sure(d) or not isinstance(mesh, Mesh) or not ghost_placed(portrait.box, points, d.box, f):
                continue
            marks = bundle.landmarker(rgb, d.box)
            if eye_distance(marks) < g.min_eye_distance_card or not same_roll(points, marks, f):
                continue
            other = bundle.embedder.embed(bundle.embedder.align(rgb, alignment_points(
                bundle.embedder.points, marks, mesh.points)))
            if self.adaptation is not None:
                other = self.adaptation.apply(other).astype(np.float32)
            out.append(GhostPortrait(d.box, self.calibration.percent(distance(embedding, other))))
            if len(out) == MAX_GHOSTS:
                break
        return out

    def embed(self, raw: bytes, kind: ImageKind = ImageKind.PORTRAIT) -> np.ndarray | None:
        """The subject's embedding, or None when no face is found (no checks run)."""
        face = self.analyze(raw, kind, checks=False).face
        return None if face is None else face.embedding

    def compare(self, a: ImageAnalysis, b: ImageAnalysis) -> MatchResult:
        """Score two analysed images. Raises ``NoFaceError`` (errorCode 3) when
        either has no face, carrying both analyses as ``partial``."""
        for side in (a, b):
            if side.face is None:
                code = no_face_code(side.kind)
                raise NoFaceError(f"no_face_{side.role}", invalid_code=code, partial=(a, b))
        assert a.face is not None and b.face is not None
        d = distance(a.face.embedding, b.face.embedding)
        matching = self.calibration.percent(d)
        timings = {f"{side.role}.{k}": v for side in (a, b) for k, v in side.timings.items()}
        verdict, doubts = self.vouched(decision(matching), a, b)
        with _Stages(timings)("pair.same_photo"):
            reused = self.reused_photo(a, b)
        return MatchResult(d, matching, verdict, a, b, self.calibration.version, timings, doubts + reused,
                           network=self.pool.embedder.name)

    def reused_photo(self, document: ImageAnalysis, portrait: ImageAnalysis) -> list[Finding]:
        """Finding 10 ``same_photo`` on the portrait when its face is the document's own photograph shown
        again (``checks.fraud.same_photo``). Only against a card photo or a chip portrait: a document's
        portrait was taken long before the live one, so the same pixels in both mean the card, not the
        person, faced the camera. Two portraits (``type1=portrait``) may come from one sitting."""
        if document.kind is ImageKind.PORTRAIT or document.face is None or portrait.face is None:
            return []
        if document.face.aligned is None or portrait.face.aligned is None:
            return []
        return same_photo(document.face.aligned, portrait.face.aligned, portrait.role, self.checks.fraud)

    def vouched(self, verdict: int, a: ImageAnalysis, b: ImageAnalysis) -> tuple[int, list[Finding]]:
        """``verdict`` unless it is a match (1) on a face smaller than the
        calibration was measured on (``min_calibrated_eye_distance``, eye
        distance in pixels: docs/accuracy.md, "Face size and blur"): there
        its false-accept rate is not known, so the pair goes to review (0)
        with finding 11 ``face_too_small_for_calibration`` on that image."""
        limit = self.min_calibrated_eye_distance
        if verdict != 1 or limit <= 0:
            return verdict, []
        doubts = []
        for side in (a, b):
            eyes = eye_distance(side.face.landmarks) if side.face is not None else limit
            if eyes < limit:
                doubts.append(Finding(InvalidCode.FACE_TOO_SMALL, "face_too_small_for_calibration", side.role,
                                      value=round(eyes, 1), limit=limit))
        return (0, doubts) if doubts else (verdict, [])

    def match(self, raw1: bytes, raw2: bytes, kind1: ImageKind = ImageKind.CARD, *,
              error: type[InputError] = NoContentError) -> MatchResult:
        """Match img1 (a card, portrait or chip portrait, as ``kind1`` says)
        with the portrait img2. When both images fail, img1's error is the answer."""
        if self._side is None:
            a = self.analyze(raw1, kind1, "img1", error=error)
            b = self.analyze(raw2, ImageKind.PORTRAIT, "img2", error=error)
            return self.compare(a, b)
        # The side thread runs in this context, so that it stops too when the request gives up (``cancel``).
        second = self._side.submit(contextvars.copy_context().run, self.analyze, raw2, ImageKind.PORTRAIT, "img2",
                                   error=error)
        try:
            a = self.analyze(raw1, kind1, "img1", error=error)
        except BaseException:
            if not second.cancel():
                wait([second])  # its bundle and thread are back before this request ends
            raise
        return self.compare(a, second.result())


def _attack_score(detector: AttackDetector | None, rgb: np.ndarray, box: Box | None, kind: ImageKind,
                  on_cards: bool) -> float | None:
    """The presentation-attack score, where the configured model applies: portraits, and card photos (the
    card's printed portrait is what the box points at) when ``on_cards``. Not on a chip portrait: read from
    the chip, never photographed."""
    if detector is None or kind is ImageKind.CHIP or (kind is ImageKind.CARD and not on_cards):
        return None
    return detector.score(rgb, box, kind)


def load_calibration(settings: Settings) -> Calibration:
    """The configured calibration: ``match.calibration_file``, else the packaged ``match.calibration``, else
    the packaged one fitted for the configured embedder."""
    if settings.match.calibration_file is not None:
        return artifacts.load(Calibration, path=settings.match.calibration_file)
    version = settings.match.calibration or default_calibration(settings.models.embedder)
    return artifacts.load(Calibration, version=version)


def build_matcher(settings: Settings, *, pool: ModelPool | None = None, pool_size: int | None = None,
                  parallel: bool | None = None, check_calibration: bool = True) -> Matcher:
    """The matcher ``settings`` describe. ``pool`` (tests) replaces the models
    the registry would build; ``pool_size`` bundles otherwise (default: two
    per matching thread, ``workers``, when parallel). ``parallel`` overrides
    ``match.parallel`` (one-image-at-a-time callers: eval, benchmarks).

    A calibration is only true for the network it was fitted on: one that
    names another embedder is refused (``check_calibration``; off for
    ``facematch eval``, which may be fitting the first one)."""
    from facematch.models.registry import build_pool

    parallel = settings.match.parallel if parallel is None else parallel
    calibration = load_calibration(settings)
    if check_calibration and pool is None and settings.models.embedder != calibration.embedder:
        raise ValueError(f"calibration {calibration.version} was fitted for the embedder {calibration.embedder!r}, "
                         f"not {settings.models.embedder!r}: fit one for it (facematch eval --fit-calibration, "
                         "docs/models.md) and set FACEMATCH_MATCH__CALIBRATION_FILE")
    adaptation = load_adaptation(settings, calibration, check_calibration)
    if pool is None:
        size = pool_size or (2 * settings.workers if parallel else settings.workers)
        pool = build_pool(settings.models, size)
    if adaptation is not None:
        adaptation.check_dims(pool.embedder.dim)
    log.info("artefacts", extra={"fields": artefact_summary(calibration, adaptation)})
    lim = settings.limits
    limits = ImageLimits(lim.max_image_bytes, lim.max_image_pixels, lim.max_chip_bytes, lim.max_chip_pixels,
                         lim.max_decode_bytes)
    checks = CheckLimits().with_overrides(settings.check_limits)
    return Matcher(pool, calibration, limits=limits, checks=checks, parallel=parallel, adaptation=adaptation,
                   min_calibrated_eye_distance=settings.match.min_calibrated_eye_distance,
                   attack_on_cards=settings.models.attack_model_on_cards)


def artefact_summary(calibration: Calibration, adaptation: Adaptation | None) -> dict[str, str]:
    """What is serving, for the start-up log: each fitted artefact's version and sha256 (``artifacts``)."""
    out = {}
    for kind, art in (("calibration", calibration), ("adaptation", adaptation)):
        if art is not None:
            digest = art.source.sha256[:12] if art.source is not None else "unknown"
            out[kind] = f"{art.version} sha256:{digest}"
    return out


def load_adaptation(settings: Settings, calibration: Calibration, check_calibration: bool = True) -> Adaptation | None:
    """The configured adaptation; with ``check_calibration``, it and the calibration must belong together (the
    calibration ``facematch adapt`` wrote records the adaptation's version), since distances change with it."""
    path = settings.match.adaptation_file
    adaptation = artifacts.load(Adaptation, path=path) if path is not None else None
    if check_calibration:
        ref = calibration.provenance.get("adaptation") or {}
        wanted = ref.get("version") if isinstance(ref, dict) else None
        have = adaptation.version if adaptation is not None else None
        if wanted != have:
            raise ValueError(f"calibration {calibration.version} is for adaptation {wanted!r}, but the adaptation "
                             f"configured (FACEMATCH_MATCH__ADAPTATION_FILE) is {have!r}: set both from the same "
                             "`facematch adapt` run")
    return adaptation
