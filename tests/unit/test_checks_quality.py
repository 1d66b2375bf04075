"""Blur and noise on a face chip made from the astronaut (public domain)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facematch.checks.quality import QualityLimits, blur_or_noise, noise_sigma, sharpness

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


def test_noisy_chip_is_reported(chip):
    noisy = np.clip(chip + np.random.default_rng(0).normal(0, 20, chip.shape), 0, 255).astype(np.uint8)
    found = blur_or_noise(noisy, "img2", LIM)
    assert [(f.code, f.check) for f in found] == [(10, "noise")]
    assert found[0].value > LIM.max_noise


def test_sharpness_ignores_contrast(chip):
    flat = (chip.astype(np.float32) * 0.3 + 90).astype(np.uint8)
    assert abs(sharpness(flat) - sharpness(chip)) < 0.05
