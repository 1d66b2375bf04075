"""A description of the machine a benchmark ran on, for its JSON output."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version


def describe() -> dict:
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
    for name in ("facematch", "dlib", "dlib-bin", "ai-edge-litert", "opencv-python-headless", "numpy", "face_recognition"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "python": platform.python_version(),
            "platform": platform.platform(), "packages": packages}
