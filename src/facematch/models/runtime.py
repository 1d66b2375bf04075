"""The model runtimes, imported in one place.

ONNX Runtime >= 1.29 sends usage telemetry to Microsoft from Linux too, and
writes a session file in $TMPDIR at import. A biometric service makes no
outbound connections and leaves no files: the opt-out is set before the first
import (set ORT_DISABLE_TELEMETRY=0 yourself to allow it). Only code that
runs a model imports this module, so importing ``facematch`` or its client
changes nothing process-wide.
"""

from __future__ import annotations

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

__all__ = ["Interpreter", "onnx_session", "ort"]


def onnx_session(model: bytes | str, threads: int = 1, options: ort.SessionOptions | None = None,
                 ) -> ort.InferenceSession:
    """The one place ONNX Runtime sessions are built: ``model`` (serialised bytes or a path) on the CPU with
    ``threads`` intra-op threads, one inter-op thread and every graph optimisation, unless ``options`` are
    given."""
    if options is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
