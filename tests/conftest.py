"""Shared fixtures. Test images are generated or come from scikit-image
(public-domain NASA astronaut portrait, the 'camera' man); never from ../shared."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from PIL import Image


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_selfie(astronaut) -> np.ndarray:
    """The same person: the photo mirrored, rescaled, brighter, on a larger canvas. Matched as the same face;
    against a card printed from the same photo it is that photograph shown again (finding ``same_photo``)."""
    import cv2

    face = cv2.resize(np.ascontiguousarray(astronaut[:, ::-1]), (700, 700))
    face = np.clip(face.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    canvas = np.full((960, 1280, 3), (70, 90, 110), dtype=np.uint8)
    canvas[130:830, 290:990] = face
    return canvas


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(np.repeat(data.camera()[:, :, None], 3, axis=2))


@pytest.fixture(scope="session")
def no_face() -> np.ndarray:
    """A generated scene with no face: gradients and shapes."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:480, 0:640]
    img = np.stack([(x / 640 * 255), (y / 480 * 255), np.full_like(x, 128.0)], axis=2)
    img += rng.normal(0, 8, img.shape)
    img[100:220, 80:300] = (200, 40, 40)
    img[260:420, 380:560] = (30, 160, 60)
    return np.clip(img, 0, 255).astype(np.uint8)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that loads the real weights (through ``model_pool``) is a
    ``models`` test, marked or not: ``-m "not models"`` runs only the fakes."""
    for item in items:
        if "model_pool" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.models)


@pytest.fixture(scope="session")
def model_pool():
    from facematch.models.registry import build_pool
    from facematch.settings import ModelSettings

    return build_pool(ModelSettings(), 2)


@contextlib.contextmanager
def app_clients(*, store, pool, handler, resolver, data_dir, raise_server_exceptions: bool = True):
    """Yields ``make(**settings) -> TestClient`` for apps with an injected key
    store, model pool, httpx transport and DNS resolver; closes them all after."""
    import httpx
    from fastapi.testclient import TestClient

    from facematch.api.app import create_app
    from facematch.settings import Settings

    clients = []

    def make(**settings) -> TestClient:
        app = create_app(Settings(data_dir=data_dir, **settings), store=store, pool=pool,
                         transport=httpx.MockTransport(handler), resolver=resolver)
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for c in clients:
            c.__exit__(None, None, None)
