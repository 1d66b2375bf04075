#!/usr/bin/env bash
# The gates: ruff (lint + import order) over the code, tests, benchmarks and tools;
# mypy --strict over the package (configured in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
.venv/bin/ruff check src tests benchmarks tools deploy
.venv/bin/mypy
