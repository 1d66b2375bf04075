#!/usr/bin/env bash
# Install (with test extras), start the services the tests use, run the whole
# test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
eval "$(scripts/services.sh)"
exec .venv/bin/python -m pytest "$@"
