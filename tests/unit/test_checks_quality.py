"""Blur and noise on a face chip made from the astronaut (public domain)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facematch.checks.quality import (
    QualityLimits,
    blur_or_noise,
    noise_sigma,
    sharpness,
)

LIM = QualityLimits()


@pytest.fixture(scope="module")
def chip(astronaut) -> np.ndarray:
    """Roughly what dlib's 150x150 aligned chip of the astronaut looks like."""
    return cv2.resize(astronaut[45:215, 140:310], (150, 150), interpolation=cv2.INTER_AREA)


def test_sharp_clean_chip_passes(chip):
    assert sharpness(chip) >= LIM.min_sharpness
    assert noise_sigma(chip) <= LIM.max_noise
    assert blur_or_noise(chip, "img2", LIM) == []


def test_blurred_chip_is_reported(chip):
    found = blur_or_noise(cv2.GaussianBlur(chip, (0, 0), 3.0), "img2", LIM)
    assert [(f.code, f.check) for f in found] == [(10, "blur")]
    assert found[0].value < LIM.min_sharpness


def test_a_face_as_soft_as_a_webcam_makes_it_is_not_called_blurred(chip):
    """A webcam's lens and demosaicking, or a phone's noise reduction in a dim room, soften a genuine face at
    the chip's scale (a Gaussian of 1.2 chip pixels: sharpness about 0.19); the former limit of 0.2 told
    such customers invalidCode 10. The check's design target, a blur of 3 % of the face's width, still is."""
    soft = cv2.GaussianBlur(chip, (0, 0), 1.2)
    assert sharpness(soft) < 0.2
    assert blur_or_noise(soft, "img2", LIM) == []
    assert [f.check for f in blur_or_noise(cv2.GaussianBlur(chip, (0, 0), 3.0), "img2", LIM)] == ["blur"]


def test_noisy_chip_is_reported(chip):
    noisy = np.clip(chip + np.random.default_rng(0).normal(0, 20, chip.shape), 0, 255).astype(np.uint8)
    found = blur_or_noise(noisy, "img2", LIM)
    assert [(f.code, f.check) for f in found] == [(10, "noise")]
    assert found[0].value > LIM.max_noise


def test_sharpness_ignores_contrast(chip):
    flat = (chip.astype(np.float32) * 0.3 + 90).astype(np.uint8)
    assert abs(sharpness(flat) - sharpness(chip)) < 0.05


def test_blur_and_noise_are_separate_findings_with_their_own_limits(chip):
    from facematch.checks.quality import blur, noise

    blurred = cv2.GaussianBlur(chip, (0, 0), 3.0)
    noisy = np.clip(chip + np.random.default_rng(0).normal(0, 20, chip.shape), 0, 255).astype(np.uint8)
    assert [f.check for f in blur(blurred, "img2", LIM)] == ["blur"] and noise(blurred, "img2", LIM) == []
    assert [f.check for f in noise(noisy, "img2", LIM)] == ["noise"] and blur(noisy, "img2", LIM) == []
    (n,) = noise(noisy, "img2", LIM)
    assert n.limit == LIM.max_noise and n.code == 10


def test_a_blurred_and_noisy_chip_gets_both(chip):
    both = cv2.GaussianBlur(chip, (0, 0), 4.0).astype(np.float32)
    both = np.clip(both + np.random.default_rng(1).normal(0, 25, chip.shape), 0, 255).astype(np.uint8)
    checks = {f.check for f in blur_or_noise(both, "img2", QualityLimits(min_sharpness=0.9))}
    assert checks == {"blur", "noise"}
