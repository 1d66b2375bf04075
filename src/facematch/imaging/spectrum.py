"""Periodic patterns in an image's spectrum: what a recapture leaves.

A screen's pixel grid aliased by the camera's, or a print's halftone screen,
shows as isolated peaks in the Fourier spectrum far above the smooth spectrum
of natural content. Used by the card-side recapture check
(``checks.fraud.recapture``) and by the presentation-attack model's
``moire`` feature (``models.pad``). On card photos the peak must also carry
a screen's sub-pixel colour structure (``colour_peak_prominence``): a card's
own print (guilloche, line art) and the surface it lies on are periodic too.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from facematch.types import Box


def _spectrum_mask(n: int) -> np.ndarray:
    """Frequencies that may hold a recapture peak: away from DC (the low
    eighth), from the two axes (image borders and straight edges) and from
    the 8x8 JPEG block grid's harmonics."""
    f = np.fft.fftshift(np.fft.fftfreq(n)) * n
    u, v = np.meshgrid(f, f)
    r = np.hypot(u, v)
    grid = n // 8

    def on_grid(a: np.ndarray) -> np.ndarray:
        m = np.mod(np.abs(a), grid)
        return np.asarray(np.minimum(m, grid - m) <= 1)

    return np.asarray((r >= n / 16) & (r < n / 2) & (np.abs(u) > 2) & (np.abs(v) > 2) & ~on_grid(u) & ~on_grid(v))


@functools.lru_cache(maxsize=16)
def _mask_and_window(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``_spectrum_mask`` and the 2-D Hann window of side ``n`` (computed once a size;
    ``lru_cache`` is thread-safe)."""
    return _spectrum_mask(n), np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)


def peak_prominence(grey: np.ndarray, background: int = 11) -> float:
    """Largest log-magnitude of the (Hann-windowed) spectrum above its local
    mean, over ``_spectrum_mask``'s frequencies."""
    mask, window = _mask_and_window(grey.shape[0])
    g = grey.astype(np.float32)
    dft = cv2.dft((g - g.mean()) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    return _above_local(np.fft.fftshift(cv2.magnitude(dft[:, :, 0], dft[:, :, 1])), 1e-3, mask, background)


def _above_local(magnitude: np.ndarray, floor: float, mask: np.ndarray, background: int) -> float:
    """Largest log-magnitude (``magnitude`` centred by ``fftshift``, plus ``floor``) above the mean of its
    ``background``-wide neighbourhood, over ``mask``'s frequencies."""
    log = cv2.log(magnitude + floor)
    local = cv2.blur(log, (background, background), borderType=cv2.BORDER_REFLECT)
    return float((log - local)[mask].max())


def colour_peak_prominence(rgb: np.ndarray, background: int = 11) -> float:
    """``peak_prominence`` of the colour modulation that the three channels do not share: at each
    frequency, the smallest singular value of the channels' (Hann-windowed) Fourier coefficients
    taken as three points of the complex plane (real and imaginary parts: a 3x2 matrix), i.e.
    sqrt((sum |X_c|^2 - |sum X_c^2|) / 2).

    It is zero where the channels move in phase, whatever their amplitudes: a pattern printed in
    one ink, painted in one colour, or grey (a guilloche, a patterned table, a greyscale copy's
    halftone). A screen's red, green and blue sub-pixels sit a third of a pixel apart, so its grid
    modulates the three channels out of phase (colour moire), and this spectrum peaks there. A floor
    of 1 % of the grey spectrum's mean magnitude keeps a grey image's rounding noise from reading
    as structure."""
    n = rgb.shape[0]
    mask, window = _mask_and_window(n)
    coeffs = []
    for c in range(3):
        g = rgb[:, :, c].astype(np.float32)
        dft = cv2.dft((g - g.mean()) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
        coeffs.append(dft[:, :, 0] + 1j * dft[:, :, 1])
    x = np.stack(coeffs)
    energy = (np.abs(x) ** 2).sum(axis=0) - np.abs((x ** 2).sum(axis=0))
    spread = np.fft.fftshift(np.sqrt(np.maximum(energy, 0.0) / 2)).astype(np.float32)
    grey = np.abs(x.mean(axis=0))  # the channels' mean: the grey level's spectrum, for the floor
    floor = max(1e-3, 0.01 * float(np.fft.fftshift(grey)[mask].mean()))
    return _above_local(spread, floor, mask, background)


def face_square(rgb: np.ndarray, box: Box | None, size: int) -> np.ndarray | None:
    """A ``size`` square of ``rgb`` centred on the face box (the image centre without one), shifted inside
    the image; smaller images give their largest centred square with a side a multiple of 32, None below
    64. A view: no pixel is copied."""
    h, w = rgb.shape[:2]
    n = min(size, h // 32 * 32, w // 32 * 32)
    if n < 64:
        return None
    cx, cy = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) if box is not None else (w / 2, h / 2)
    x0 = int(np.clip(round(cx - n / 2), 0, w - n))
    y0 = int(np.clip(round(cy - n / 2), 0, h - n))
    return rgb[y0:y0 + n, x0:x0 + n]


def face_patch(rgb: np.ndarray, box: Box | None, size: int) -> np.ndarray | None:
    """The grey level of ``face_square``."""
    square = face_square(rgb, box, size)
    return None if square is None else cv2.cvtColor(np.ascontiguousarray(square), cv2.COLOR_RGB2GRAY)
