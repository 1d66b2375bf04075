"""facematch: a self-hostable face-matching service for eKYC (v2 face_matching contract)."""

import os as _os

from facematch.memory import tune_malloc as _tune_malloc

# ONNX Runtime >= 1.29 sends usage telemetry to Microsoft from Linux too, and
# writes a session file in $TMPDIR at import. A biometric service makes no
# outbound connections and leaves no files: opt out before anything imports
# it (set ORT_DISABLE_TELEMETRY=0 yourself to allow it).
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
# Before the libraries' threads and big allocations: see facematch.memory.
_tune_malloc()

__version__ = "0.1.0"
