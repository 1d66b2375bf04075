"""Realistic benchmark inputs, generated (never images from ../shared): a
~1600x1200 phone photo of a synthetic ID card and a ~1280x960 selfie, both of
the scikit-image astronaut (public domain), as JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def card_and_selfie(seed: int = 7) -> tuple[bytes, bytes]:
    from skimage import data

    from tools.synth import cards

    head = data.astronaut()[0:300, 113:338]
    rng = np.random.default_rng(seed)
    card, _ = cards.render_card(head, rng)
    photo = cards.photograph(card, rng, out_size=(1600, 1200))
    selfie = cards.render_portrait_selfie(data.astronaut(), rng, out_size=(1280, 960))
    return jpeg(photo), jpeg(selfie)
