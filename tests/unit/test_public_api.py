"""The package's public names are pinned, and importing the package or its
client changes nothing process-wide."""

from __future__ import annotations

import json
import subprocess
import sys

import facematch
from facematch import errors, matcher, types


def test_public_names_are_pinned():
    assert facematch.__all__ == ["__version__"]
    assert sorted(matcher.__all__) == ["Face", "ImageAnalysis", "ImageLimits", "MatchResult", "Matcher",
                                       "build_matcher", "face_crop", "load_adaptation", "load_calibration"]
    assert sorted(types.__all__) == ["Box", "ErrorCode", "ImageKind", "InvalidCode", "LANDMARK_NAMES"]
    assert sorted(errors.__all__) == sorted([
        "FaceMatchError", "InputError", "NoContentError", "BodyTooLargeError", "UrlUnavailableError",
        "FormatTypeError", "NoFaceError", "AccessError", "AuthError", "QuotaExceededError", "RateLimitedError",
        "ServiceUnavailableError", "InternalError"])
    for module in (facematch, matcher, types, errors):
        assert all(hasattr(module, name) for name in module.__all__)


def test_every_error_has_a_stable_code():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert isinstance(cls.code, types.ErrorCode) and cls.code.message


PROBE = """
import json, os, sys
before = dict(os.environ)
import {module}
after = dict(os.environ)
print(json.dumps({{"env": [k for k in set(before) ^ set(after)] + [k for k in before if before[k] != after.get(k)],
                  "runtimes": sorted(m for m in ("onnxruntime", "ai_edge_litert", "dlib", "cv2") if m in sys.modules)}}))
"""


def test_importing_the_client_changes_nothing_process_wide():
    for module in ("facematch", "facematch.client"):
        out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"})
        doc = json.loads(out.stdout)
        assert doc == {"env": [], "runtimes": []}, (module, doc)
