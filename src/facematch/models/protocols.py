"""What the matcher needs of each model. Any object with these methods will
do: ``models.registry`` builds the real ones by configured name, and the API
tests pass small fakes.

Geometry (``facematch.types``): boxes ``(x1, y1, x2, y2)`` in pixels of the
image given; landmarks ``(5, 2)`` float32 in dlib's order
(``LANDMARK_NAMES``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from facematch.models.blazeface import Detection
from facematch.types import Box, ImageKind


class Detector(Protocol):
    """Finds faces. Not required to be thread-safe: each bundle has its own."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Every verified face in an RGB uint8 image, the subject first."""
        ...

    def detect_in(self, rgb: np.ndarray, region: tuple[int, int, int, int], window: int,
                  known: list[Box]) -> list[Detection]:
        """The faces inside ``region`` (``x1, y1, x2, y2``) found on square windows of side ``window``,
        none on a ``known`` face's box, boxes in pixels of ``rgb``: the card's ghost portrait search
        (``Matcher._ghosts``)."""
        ...


class Landmarker(Protocol):
    """Five landmarks of one face; shared by every bundle, so thread-safe."""

    def __call__(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """``(5, 2)`` float32 points in dlib's order, pixels of ``rgb``."""
        ...


class Embedder(Protocol):
    """A face-embedding network with its alignment; shared, so thread-safe.

    ``name`` goes into calibration and adaptation artefacts, which are only
    valid for the network that produced them. ``points`` says which five
    points ``align`` takes: ``"dlib5"`` (the landmarker's) or ``"arcface5"``
    (eye centres, nose tip, mouth corners: ``alignment.alignment_points``).
    ``align`` returns the chip the network sees (the blur check looks at it
    when it is dlib's 150-px chip, and at that chip otherwise); ``embed`` a
    unit vector of ``dim`` floats, compared by Euclidean distance.
    """

    @property
    def name(self) -> str: ...

    @property
    def points(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...

    def embed(self, chip: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class TappedEmbedder(Protocol):
    """An ``Embedder`` that also returns inner tensors of the network from the same run (named; the
    sunglasses, mouth and hat-top models read one of SFace's, ``artifacts.sunglasses``, ``artifacts.hat``)."""

    def embed_tapped(self, chip: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]: ...


class AttackDetector(Protocol):
    """Presentation-attack (recapture of a screen or print) score of one image;
    shared, so thread-safe. Higher means more likely an attack; the check
    compares it with its configured limit."""

    @property
    def name(self) -> str: ...

    def score(self, rgb: np.ndarray, box: Box | None, kind: ImageKind) -> float: ...
