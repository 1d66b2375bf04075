"""The peer as its users run it: ``face_recognition`` 1.3 with its defaults
(HOG detector upsampled once, 5-point landmarks, one jitter), on the same
pairs. Installed only for benchmarks: ``scripts/install.sh bench``."""

from __future__ import annotations

import numpy as np


def peer_embed_one(path: str) -> np.ndarray | None:
    import face_recognition

    image = face_recognition.load_image_file(path)
    boxes = face_recognition.face_locations(image)
    if not boxes:
        return None
    # face_recognition's examples take the first face found.
    return np.asarray(face_recognition.face_encodings(image, known_face_locations=boxes[:1])[0].astype(np.float32))


def available() -> bool:
    try:
        import face_recognition  # noqa: F401
    except Exception:  # noqa: BLE001 - missing, or missing its models
        return False
    return True


def peer_name() -> str:
    from importlib.metadata import version

    return f"face_recognition {version('face_recognition')} (defaults)"

