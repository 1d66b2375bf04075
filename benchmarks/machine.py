"""The machine a benchmark ran on, and its result file.

``write_result`` is how every benchmark writes its numbers: one JSON file
under ``benchmarks/results/`` that names the commit, the machine and the
command that produced it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def describe() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            mem_gib = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    packages = {}
    for name in ("facematch", "dlib", "dlib-bin", "ai-edge-litert", "opencv-python-headless", "onnxruntime", "numpy",
                 "face_recognition"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "python": platform.python_version(),
            "platform": platform.platform(), "packages": packages}


def commit() -> str:
    """The checked-out commit, with ``+dirty`` when tracked files other than results have uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!benchmarks/results"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def command() -> str:
    """How this run was started, as ``python -m benchmarks.<name> ARGS``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = spec.name if spec is not None else Path(sys.argv[0]).stem
    return " ".join(["python -m", name, *sys.argv[1:]])


def write_result(path: Path, result: dict[str, Any], *, indent: int = 2) -> None:
    """Write ``result`` to ``path`` with ``commit``, ``machine``, ``command`` and ``date`` first (this run's:
    they replace any the result holds under those keys)."""
    head = {"commit": commit(), "machine": describe(), "command": command(), "date": dt.date.today().isoformat()}
    body = {**head, **{k: v for k, v in result.items() if k not in head}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=indent) + "\n")
