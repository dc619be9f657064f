#!/usr/bin/env bash
# The linters CI runs before the tests: ruff (lint + format check) and mypy. Expects the venv from setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
