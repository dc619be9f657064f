#!/usr/bin/env bash
# Sets up anchor, runs the linters (ruff, mypy), then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lint.sh
exec .venv/bin/python -m pytest -q "$@"
