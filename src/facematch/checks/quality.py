"""Image quality of the face the embedder sees: blur and noise (part of 10).

Each is its own finding (check ``blur`` or ``noise``, with its value and
limit), apart from the presentation-attack finding (``presentation_attack``,
``checks/fraud.py``), so that ``warnings`` tells a blurry or noisy genuine
photo from a replay although all three are invalidCode 10.

Both are measured on the aligned 150x150 chip (``FaceContext.chip``), i.e.
at the scale the matcher works at, in its central 90x90 (the face without the
background corners), on the grey level.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facematch.checks import Finding
from facematch.types import InvalidCode

#: Immerkaer's noise-estimation kernel (Computer Vision and Image Understanding, 1996).
NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


@dataclass(frozen=True)
class QualityLimits:
    #: Blur: the chip loses less than this fraction of its gradient energy
    #: when blurred again with a Gaussian of ``reblur_sigma`` pixels. A sharp
    #: face loses 0.33-0.63 (attributes/clean_face); blurred by 3 % of the face
    #: width it keeps all but 0.06-0.13. The limit is the attack model's
    #: false-alarm budget (blur is invalidCode 10 too): at most 1 % of LFW's fit
    #: half and 5 % of CASIA's fit half as JPEG flagged, rounded down
    #: (``tools/pick_blur_limit.py``, since 2026-12-08; 0.2 before, which
    #: flagged 8 % of LFW's fit half and a fifth of two webcams' live frames).
    min_sharpness: float = 0.158
    reblur_sigma: float = 1.5
    #: Noise: Immerkaer's estimate of the noise's standard deviation in grey
    #: levels, over the flatter half of the face (``noise_sigma``): 0.4-3.1 on
    #: clean_face, 0.4-4.7 after JPEG quality 50; 5.5-9.3 with Gaussian noise of
    #: sigma 20 (the lowest of those, rounded down; docs/checks.md).
    max_noise: float = 5.5


def _centre(chip: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return grey[30:120, 30:120]


def sharpness(chip: np.ndarray, sigma: float = 1.5) -> float:
    """Fraction of the gradient energy a re-blur removes (Crete-Roffet's
    principle): near 0 for an already blurred image, independent of contrast."""
    g = _centre(chip)

    def energy(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=0)).mean())

    e = energy(g)
    return 1.0 - energy(cv2.GaussianBlur(g, (0, 0), sigma)) / e if e > 1e-3 else 0.0


def noise_sigma(chip: np.ndarray) -> float:
    """Immerkaer's fast noise estimate, sqrt(pi/2) / 6 x mean |I * N|, over the flatter half of the pixels
    (Sobel gradient at most its median). Over every pixel, edges, skin texture and a JPEG's ringing and
    block edges read as noise too: a genuine face saved again at JPEG quality 70, as messaging apps and web
    uploads do, passed the limit 4 times in 218 (docs/checks.md, "10 - blur and noise")."""
    g = _centre(chip)
    residual = np.abs(cv2.filter2D(g, -1, NOISE_KERNEL)[1:-1, 1:-1])
    gradient = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))[1:-1, 1:-1]
    flat = residual[gradient <= np.median(gradient)]
    return float(np.sqrt(np.pi / 2) / 6 * flat.mean()) if flat.size else 0.0


def blur(chip: np.ndarray, image: str, limits: QualityLimits) -> list[Finding]:
    """Finding 10 ``blur``: ``sharpness`` below ``min_sharpness``."""
    s = sharpness(chip, limits.reblur_sigma)
    if s < limits.min_sharpness:
        return [Finding(InvalidCode.FRAUD, "blur", image, value=s, limit=limits.min_sharpness)]
    return []


def noise(chip: np.ndarray, image: str, limits: QualityLimits) -> list[Finding]:
    """Finding 10 ``noise``: ``noise_sigma`` above ``max_noise``."""
    n = noise_sigma(chip)
    if n > limits.max_noise:
        return [Finding(InvalidCode.FRAUD, "noise", image, value=n, limit=limits.max_noise)]
    return []


def blur_or_noise(chip: np.ndarray, image: str, limits: QualityLimits) -> list[Finding]:
    """Both quality findings of the face as the embedder sees it, each on its
    own (a face may be blurred and noisy at once)."""
    return blur(chip, image, limits) + noise(chip, image, limits)
