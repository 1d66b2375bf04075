"""Run in the image's build stage, after scripts/install.sh: removes from the
virtual environment what the service never uses at run time.

- model files shipped beside the ones facematch loads (``facematch.models.weights.ALL``):
  dlib's 68-point landmarks (95 MiB) and CNN detector, BlazeFace's sparse variant, the iris model;
- the test suites that wheels ship (``*/tests``, onnx's backend test data), OpenCV's Haar
  cascades, LiteRT's WebGPU accelerator and its plugin tool (the service runs LiteRT on the CPU);
- matplotlib and what only it needs: ``facematch evaluate`` draws its plots with it (imported
  there and nowhere else); evaluation runs from a checkout, not in the serving image;
- pip, setuptools and wheel (build tools; nothing is installed at run time).

The image smoke test (scripts/image.sh smoke) answers a real match with what is left.

Prints what it removed and the bytes freed. Usage: .venv/bin/python deploy/image/prune.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from facematch.models import weights

MODEL_SUFFIXES = {".dat", ".onnx", ".tflite", ".bin", ".pb"}
BUILD_TOOLS = ("pip", "setuptools", "wheel")
EVAL_ONLY = ("matplotlib",)
# Relative to site-packages; globs.
UNUSED = ("onnx/backend/test/data", "cv2/data/*.xml",
          "ai_edge_litert/libLiteRtWebGpuAccelerator.so", "ai_edge_litert/tools/apply_plugin_main")


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def only_needed_by(roots: tuple[str, ...]) -> list[str]:
    """The distributions in roots and those that no distribution outside the set requires."""
    requires: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        deps = set()
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                deps.add(canonicalize_name(req.name))
        requires[canonicalize_name(dist.metadata["Name"])] = deps
    gone = {canonicalize_name(r) for r in roots if canonicalize_name(r) in requires}
    while True:
        more = {d for g in gone for d in requires.get(g, ()) if d in requires and d not in gone
                and all(d not in deps for name, deps in requires.items() if name not in gone)}
        if not more:
            return sorted(gone)
        gone |= more


def main() -> int:
    keep = {w.verified_path().resolve() for w in weights.ALL}
    freed = 0
    for folder in sorted({p.parent for p in keep}):
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix in MODEL_SUFFIXES and f.resolve() not in keep:
                freed += size(f)
                print(f"prune: unused model file {f.name} ({size(f) / 2**20:.1f} MiB)")
                f.unlink()
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    tests = [d for d in site.glob("*/**/tests") if d.is_dir() and (d.parent / "__init__.py").exists()]
    for path in [*tests, *(p for pattern in UNUSED for p in site.glob(pattern))]:
        freed += size(path)
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    print(f"prune: {len(tests)} test suites of installed packages, {', '.join(UNUSED)}")
    before = size(site)
    eval_only = only_needed_by(EVAL_ONLY)
    installed = [t for t in BUILD_TOOLS if (site / t).exists()]
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", *eval_only, *installed], check=True)
    freed += before - size(site)
    print(f"prune: evaluation-only {', '.join(eval_only)} and build tools {', '.join(installed)} removed")
    for cache in site.rglob("__pycache__"):
        # Byte code of the removed tools only; everything else keeps its .pyc
        # (the root file system is read-only at run time, so none could be written).
        if not any(p.suffix == ".py" for p in cache.parent.iterdir()):
            shutil.rmtree(cache)
    # Every weight the service loads is still there and intact.
    for w in weights.ALL:
        w.verified_path()
    print(f"prune: {freed / 2**20:.1f} MiB freed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
