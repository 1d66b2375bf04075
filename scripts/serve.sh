#!/usr/bin/env bash
# Install (first run only) and start the service on the embedded default:
# SQLite in ./data, a demo key printed at first start. Extra arguments go to
# `facematch serve` (e.g. --host 0.0.0.0 --port 8000 --data-dir /var/lib/facematch).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/facematch serve "$@"
