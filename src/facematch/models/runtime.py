"""The model runtimes, imported in one place.

ONNX Runtime >= 1.29 sends usage telemetry to Microsoft from Linux too, and
writes a session file in $TMPDIR at import. A biometric service makes no
outbound connections and leaves no files: the opt-out is set before the first
import (set ORT_DISABLE_TELEMETRY=0 yourself to allow it). Only code that
runs a model imports this module, so importing ``facematch`` or its client
changes nothing process-wide.
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Iterator

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

__all__ = ["Interpreter", "Interpreters", "onnx_session", "ort", "session_options"]


def session_options(threads: int = 1, *, arena: bool = False) -> ort.SessionOptions:
    """The options of every ONNX Runtime session: ``threads`` intra-op threads, one inter-op thread, every
    graph optimisation, and no CPU memory arena unless ``arena`` (``FACEMATCH_MODELS__ONNX_MEMORY_ARENA``).
    With the arena, each run that overlaps another gets its own
    block of the session's arena and the arena never gives it back: SFace's session grew by 110 MiB after
    four threads had run it at once, against 30 MiB without (docs/performance.md, "Memory"). Without it each
    run maps and unmaps its buffers (about 10 ms more CPU per face for SFace, its mirror image included)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    return options


def onnx_session(model: bytes | str, threads: int = 1, *, arena: bool = False) -> ort.InferenceSession:
    """The one place ONNX Runtime sessions are built: ``model`` (serialised bytes or a path) on the CPU with
    ``session_options(threads, arena=arena)``."""
    return ort.InferenceSession(model, session_options(threads, arena=arena), providers=["CPUExecutionProvider"])


class Interpreters:
    """``copies`` LiteRT interpreters of one model, lent one per call: an interpreter is not thread-safe,
    but it is busy only while it runs, so threads that spend most of their time elsewhere can share fewer
    copies than there are threads. Each copy holds its tensors and XNNPACK's packed weights: 3-10 MiB for
    BlazeFace's and the face mesh's models. ``interpreter`` (tests): one already made, the only copy."""

    def __init__(self, model_path: str, copies: int = 1, *, num_threads: int = 1,
                 interpreter: Interpreter | None = None) -> None:
        made = [interpreter] if interpreter is not None else [
            Interpreter(model_path=model_path, num_threads=num_threads) for _ in range(max(1, copies))]
        for it in made:
            it.allocate_tensors()
        #: One of them, to read the tensors' details from (the same in every copy).
        self.first = made[0]
        self.copies = len(made)
        self._free: queue.SimpleQueue[Interpreter] = queue.SimpleQueue()
        for it in made:
            self._free.put(it)

    @contextlib.contextmanager
    def lend(self) -> Iterator[Interpreter]:
        it = self._free.get()
        try:
            yield it
        finally:
            self._free.put(it)
